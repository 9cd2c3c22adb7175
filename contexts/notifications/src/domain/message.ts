// The Message aggregate (notifications): one per `message-<id>` stream. A message is queued once
// (its id comes from the event that triggered it and the template), then either sent once or,
// after a bounded number of failed attempts, abandoned. Sent and abandoned are final.
// Each attempt is recorded as started before the message is handed to a transport, so that an
// attempt cut short (the sender crashed or lost its leadership) is seen as such afterwards: its
// outcome is then recorded from what the transport can tell (sent, or failed), or, when the
// transport cannot tell (SMTP), the message is abandoned as undetermined rather than sent twice.
import { DomainError, type Decider } from '@optic-mart/runtime';

export const messageTemplates = [
  'order_placed',
  'order_paid',
  'order_shipped',
  'order_delivered',
  'order_cancelled',
] as const;
export type MessageTemplate = (typeof messageTemplates)[number];

export const messageStatuses = ['queued', 'sent', 'abandoned'] as const;
export type MessageStatus = (typeof messageStatuses)[number];

/** How a message left: SMTP, or the local mailbox (a PostgreSQL table) when none is configured. */
export type MessageTransport = 'smtp' | 'mailbox';

export interface MessageQueuedData {
  readonly messageId: string;
  /** The recipient's address (personal data of `userId`). */
  readonly to: string;
  readonly subject: string;
  readonly text: string;
  readonly html: string | null;
  readonly template: MessageTemplate;
  readonly orderId: string;
  readonly userId: string;
  /** The id of the event that asked for this message. */
  readonly triggeredBy: string;
}

export interface RecordMessageSentData {
  readonly messageId: string;
  readonly transport: MessageTransport;
  readonly providerMessageId: string;
}

export interface StartSendData {
  readonly messageId: string;
  /** The attempt about to be made: the next one (1 for the first). */
  readonly attempt: number;
}

export interface RecordSendUndeterminedData {
  readonly messageId: string;
  /** The started attempt whose outcome nobody can tell. */
  readonly attempt: number;
  /** Why (for people reading the message's history). */
  readonly reason: string;
}

export interface RecordSendFailureData {
  readonly messageId: string;
  /** Which attempt failed (1 for the first). */
  readonly attempt: number;
  readonly error: string;
  /** Attempts allowed in all: the failure of the last one abandons the message. */
  readonly maxAttempts: number;
}

export type MessageCommand =
  | { readonly type: 'QueueMessage'; readonly data: MessageQueuedData }
  | { readonly type: 'StartSend'; readonly data: StartSendData }
  | { readonly type: 'RecordMessageSent'; readonly data: RecordMessageSentData }
  | { readonly type: 'RecordSendFailure'; readonly data: RecordSendFailureData }
  | { readonly type: 'RecordSendUndetermined'; readonly data: RecordSendUndeterminedData };

export type MessageEvent =
  | { readonly type: 'MessageQueued'; readonly data: MessageQueuedData }
  | { readonly type: 'MessageSendStarted'; readonly data: StartSendData }
  | {
      readonly type: 'MessageSent';
      readonly data: RecordMessageSentData & { readonly attempt: number };
    }
  | {
      readonly type: 'MessageSendFailed';
      readonly data: { readonly messageId: string; readonly attempt: number; readonly error: string };
    }
  | {
      readonly type: 'MessageAbandoned';
      readonly data: {
        readonly messageId: string;
        readonly attempts: number;
        readonly error: string;
        /** Set when the last attempt may have reached the recipient: nobody can tell, so no retry. */
        readonly undetermined?: true;
      };
    };

export type MessageEventType = MessageEvent['type'];
export const messageEventTypes = [
  'MessageQueued',
  'MessageSendStarted',
  'MessageSent',
  'MessageSendFailed',
  'MessageAbandoned',
] as const satisfies readonly MessageEventType[];

export interface Message {
  readonly kind: 'message';
  readonly id: string;
  readonly userId: string;
  readonly orderId: string;
  readonly template: MessageTemplate;
  readonly status: MessageStatus;
  /** Send attempts made so far whose outcome is recorded (failed ones, plus the successful one). */
  readonly attempts: number;
  /** The attempt started and not yet recorded sent or failed (null when none is). */
  readonly sending: number | null;
}

export type MessageState = { readonly kind: 'none' } | Message;

/** Every code the message decider throws; each is a line of the platform's error table. */
export const messageErrorCodes = ['message_not_found', 'invalid_status_transition'] as const;
export type MessageErrorCode = (typeof messageErrorCodes)[number];

const fail = (code: MessageErrorCode, detail: string, extra?: Record<string, unknown>) =>
  new DomainError(code, detail, extra);

function existing(state: MessageState, messageId: string): Message {
  if (state.kind !== 'message') throw fail('message_not_found', `message ${messageId} does not exist`);
  return state;
}

export function decide(command: MessageCommand, state: MessageState): MessageEvent[] {
  switch (command.type) {
    case 'QueueMessage':
      // Queued once, however often the triggering event is seen.
      return state.kind === 'none' ? [{ type: 'MessageQueued', data: command.data }] : [];
    case 'StartSend': {
      const message = existing(state, command.data.messageId);
      const { attempt } = command.data;
      if (message.status !== 'queued') {
        throw fail('invalid_status_transition', `message ${message.id} was ${message.status}`, {
          from: message.status,
          to: 'sending',
        });
      }
      // One attempt at a time: a started one must be settled first (it may have been delivered).
      if (message.sending !== null || attempt !== message.attempts + 1) {
        throw fail(
          'invalid_status_transition',
          message.sending !== null
            ? `attempt ${message.sending} of message ${message.id} has started and has no outcome yet`
            : `attempt ${attempt} of message ${message.id} is not the next one (${message.attempts + 1})`,
          { from: 'queued', to: 'sending', attempt, sending: message.sending },
        );
      }
      return [{ type: 'MessageSendStarted', data: command.data }];
    }
    case 'RecordMessageSent': {
      const message = existing(state, command.data.messageId);
      if (message.status === 'sent') return [];
      if (message.status === 'abandoned') {
        throw fail('invalid_status_transition', `message ${message.id} was abandoned`, {
          from: 'abandoned',
          to: 'sent',
        });
      }
      // The started attempt is the one that sent it (streams from before attempts were started: the next).
      const attempt = message.sending ?? message.attempts + 1;
      return [{ type: 'MessageSent', data: { ...command.data, attempt } }];
    }
    case 'RecordSendFailure': {
      const message = existing(state, command.data.messageId);
      const { messageId, attempt, error, maxAttempts } = command.data;
      // Final, or this attempt's failure is recorded already: nothing more to say.
      if (message.status !== 'queued' || attempt !== message.attempts + 1) return [];
      const failed: MessageEvent = { type: 'MessageSendFailed', data: { messageId, attempt, error } };
      if (attempt < maxAttempts) return [failed];
      return [failed, { type: 'MessageAbandoned', data: { messageId, attempts: attempt, error } }];
    }
    case 'RecordSendUndetermined': {
      const message = existing(state, command.data.messageId);
      const { messageId, attempt, reason } = command.data;
      // Settled already (by whoever saw it first), or not the attempt in doubt: nothing to record.
      if (message.status !== 'queued' || message.sending !== attempt) return [];
      return [
        {
          type: 'MessageAbandoned',
          data: { messageId, attempts: attempt, error: reason, undetermined: true },
        },
      ];
    }
    default: {
      const unknown: never = command;
      throw new Error(`unknown command ${JSON.stringify(unknown)}`);
    }
  }
}

export function evolve(state: MessageState, event: MessageEvent): MessageState {
  switch (event.type) {
    case 'MessageQueued': {
      const { messageId, userId, orderId, template } = event.data;
      return {
        kind: 'message',
        id: messageId,
        userId,
        orderId,
        template,
        status: 'queued',
        attempts: 0,
        sending: null,
      };
    }
    case 'MessageSendStarted':
      return state.kind === 'message' ? { ...state, sending: event.data.attempt } : state;
    case 'MessageSent':
      return state.kind === 'message'
        ? { ...state, status: 'sent', attempts: event.data.attempt, sending: null }
        : state;
    case 'MessageSendFailed':
      return state.kind === 'message' ? { ...state, attempts: event.data.attempt, sending: null } : state;
    case 'MessageAbandoned':
      return state.kind === 'message'
        ? { ...state, status: 'abandoned', attempts: event.data.attempts, sending: null }
        : state;
    default: {
      // An event type this build does not know yet (a newer writer): it changes nothing here.
      const _unknown: never = event;
      return state;
    }
  }
}

export const initialState = (): MessageState => ({ kind: 'none' });

export const messageDecider: Decider<MessageCommand, MessageEvent, MessageState> = {
  decide,
  evolve,
  initialState,
};

/** The stream of message `id`. */
export const messageStreamId = (id: string): string => `message-${id}`;
