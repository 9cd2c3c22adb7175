// The notifications context's command routes, for `createCommandHandler` (the notifier runs them
// in-process: the Message aggregate, appended with its version tags).
import type { NewEvent } from '@optic-mart/eventstore';
import type { CommandRoute, CommandRoutes } from '@optic-mart/runtime';
import {
  messageDecider,
  type MessageCommand,
  type MessageEvent,
  type MessageState,
} from './domain/message.js';

/** The recipient and the bodies are the user's personal data: erasing the user erases them. */
const personalFields = ['to', 'text', 'html'] as const;

function toMessageStreamEvents(events: readonly MessageEvent[]): NewEvent[] {
  return events.map((event) =>
    event.type === 'MessageQueued'
      ? {
          type: event.type,
          data: event.data,
          personalData: { subjectId: event.data.userId, fields: personalFields },
        }
      : { type: event.type, data: event.data },
  );
}

/** The route of every message command: one Message aggregate per `message-<id>` stream. */
export const messageCommandRoute: CommandRoute<MessageCommand, MessageEvent, MessageState> = {
  decider: messageDecider,
  toStreamEvents: toMessageStreamEvents,
  // A message's stream stays short; a snapshot would hold nothing worth it.
  snapshot: false,
};

export const notificationsCommandRoutes: CommandRoutes = {
  QueueMessage: messageCommandRoute,
  StartSend: messageCommandRoute,
  RecordMessageSent: messageCommandRoute,
  RecordSendFailure: messageCommandRoute,
  RecordSendUndetermined: messageCommandRoute,
};
