// The notifications context's `messages` read model: every message with its status and history,
// for a user's own list (GET /api/users/me/messages) and the admins. The recipient and the bodies
// are the user's personal data: a rebuild after their erasure reads them as null, so it converges.
import type { DocumentProjection, ProjectedEvent } from '@optic-mart/runtime';
import {
  messageEventTypes,
  type MessageEvent,
  type MessageQueuedData,
  type MessageStatus,
  type MessageTemplate,
  type MessageTransport,
} from '../domain/message.js';

export interface MessageView {
  readonly id: string;
  readonly userId: string;
  readonly orderId: string;
  readonly template: MessageTemplate;
  readonly to: string | null;
  readonly subject: string;
  readonly text: string | null;
  readonly html: string | null;
  readonly status: MessageStatus;
  readonly attempts: number;
  readonly transport: MessageTransport | null;
  readonly providerMessageId: string | null;
  readonly lastError: string | null;
  readonly queuedAt: string;
  readonly sentAt: string | null;
  readonly updatedAt: string;
  readonly version: number;
}

const messageIdOf = (event: ProjectedEvent): string | null => {
  const id = (event.data as { messageId?: unknown } | null)?.messageId;
  return typeof id === 'string' && id.length > 0 ? id : null;
};

function apply(doc: MessageView | null, event: ProjectedEvent): MessageView | null {
  const at = event.recordedAt.toISOString();
  const e = { type: event.type, data: event.data } as MessageEvent;
  switch (e.type) {
    case 'MessageQueued': {
      const d: MessageQueuedData = e.data;
      return {
        id: d.messageId,
        userId: d.userId,
        orderId: d.orderId,
        template: d.template,
        to: d.to ?? null,
        subject: d.subject,
        text: d.text ?? null,
        html: d.html ?? null,
        status: 'queued',
        attempts: 0,
        transport: null,
        providerMessageId: null,
        lastError: null,
        queuedAt: at,
        sentAt: null,
        updatedAt: at,
        version: event.version,
      };
    }
    case 'MessageSent':
      return (
        doc && {
          ...doc,
          status: 'sent',
          attempts: e.data.attempt,
          transport: e.data.transport,
          providerMessageId: e.data.providerMessageId,
          sentAt: at,
          updatedAt: at,
          version: event.version,
        }
      );
    case 'MessageSendFailed':
      return (
        doc && {
          ...doc,
          attempts: e.data.attempt,
          lastError: e.data.error,
          updatedAt: at,
          version: event.version,
        }
      );
    case 'MessageSendStarted':
      // An attempt under way: nothing a reader sees changes until its outcome is recorded.
      return doc && { ...doc, updatedAt: at, version: event.version };
    case 'MessageAbandoned':
      // Its error says why: the last failure's, or that the last attempt's outcome is unknown.
      return (
        doc && {
          ...doc,
          status: 'abandoned',
          attempts: e.data.attempts,
          lastError: e.data.error,
          updatedAt: at,
          version: event.version,
        }
      );
    default:
      return doc;
  }
}

/** `read.messages`: filterable by user, order and status, sortable by when queued. */
export const messagesProjection: DocumentProjection<MessageView> = {
  name: 'messages',
  version: 1,
  category: 'message',
  events: messageEventTypes,
  documentId: messageIdOf,
  apply,
  columns: {
    user_id: { type: 'text', value: (m) => m.userId, index: 'btree' },
    order_id: { type: 'text', value: (m) => m.orderId, index: 'btree' },
    status: { type: 'text', value: (m) => m.status, index: 'btree' },
    queued_at: { type: 'timestamptz', value: (m) => m.queuedAt, index: 'btree' },
  },
  counters: { status: (m) => m.status },
  topics: (id, before, after) => {
    const userId = after?.userId ?? before?.userId;
    return userId ? [`users/${userId}/messages`] : [];
  },
};
