// The Message aggregate (notifications): one per `message-<id>` stream. A message is queued once
// (its id comes from the event that triggered it and the template), then either sent once or,
// after a bounded number of failed attempts, abandoned. Sent and abandoned are final.
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
  | { readonly type: 'RecordMessageSent'; readonly data: RecordMessageSentData }
  | { readonly type: 'RecordSendFailure'; readonly data: RecordSendFailureData };

export type MessageEvent =
  | { readonly type: 'MessageQueued'; readonly data: MessageQueuedData }
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
      readonly data: { readonly messageId: string; readonly attempts: number; readonly error: string };
    };

export type MessageEventType = MessageEvent['type'];
export const messageEventTypes = [
  'MessageQueued',
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
  /** Send attempts made so far (failed ones, plus the successful one). */
  readonly attempts: number;
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
    case 'RecordMessageSent': {
      const message = existing(state, command.data.messageId);
      if (message.status === 'sent') return [];
      if (message.status === 'abandoned') {
        throw fail('invalid_status_transition', `message ${message.id} was abandoned`, {
          from: 'abandoned',
          to: 'sent',
        });
      }
      return [{ type: 'MessageSent', data: { ...command.data, attempt: message.attempts + 1 } }];
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
      return { kind: 'message', id: messageId, userId, orderId, template, status: 'queued', attempts: 0 };
    }
    case 'MessageSent':
      return state.kind === 'message' ? { ...state, status: 'sent', attempts: event.data.attempt } : state;
    case 'MessageSendFailed':
      return state.kind === 'message' ? { ...state, attempts: event.data.attempt } : state;
    case 'MessageAbandoned':
      return state.kind === 'message' ? { ...state, status: 'abandoned' } : state;
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
