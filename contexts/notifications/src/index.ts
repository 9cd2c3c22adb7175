// The public surface of @optic-mart/notifications.
export {
  initialState as initialMessageState,
  messageDecider,
  messageErrorCodes,
  messageEventTypes,
  messageStatuses,
  messageStreamId,
  messageTemplates,
} from './domain/message.js';
export type {
  Message,
  MessageCommand,
  MessageErrorCode,
  MessageEvent,
  MessageEventType,
  MessageQueuedData,
  MessageState,
  MessageStatus,
  MessageTemplate,
  MessageTransport,
} from './domain/message.js';
export { escapeHtml, formatAmount, oneLine, render } from './domain/templates.js';
export type { Address, Amount, RenderedMessage, TemplateInput } from './domain/templates.js';
export { domainOf, messageIdFor, smtpMessageId } from './message-ids.js';
export { messageCommandRoute, notificationsCommandRoutes } from './routes.js';
export { messagesProjection } from './projections/messages.js';
export type { MessageView } from './projections/messages.js';
// The notifier (run by the saga role: apps/saga/src/main.ts).
export { startNotifier } from './notifier/notifier.js';
export type { Notifier, NotifierOptions } from './notifier/notifier.js';
export { notifierConfigShape, notifierSettings } from './notifier/config.js';
export { ensureNotificationsSchema } from './notifier/schema.js';
export { readMailbox } from './notifier/mailbox.js';
export type { MailboxEntry, MailboxPage } from './notifier/mailbox.js';
export { mailboxTransport, smtpTransport } from './notifier/transports.js';
export type { OutgoingMessage, Transport } from './notifier/transports.js';
