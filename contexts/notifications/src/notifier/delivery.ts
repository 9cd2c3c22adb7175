// Sending one queued message, for the notifier's leader: reload its stream, settle an attempt
// left without an outcome, else record the next attempt as started, hand the message to the
// transport and record what came of it.
//
// Why "started" first: a sender can stop between handing a message over and recording the outcome
// (a crash, a lost leadership). Whoever finds that attempt later must not send blindly again. The
// process that made it remembers what happened and records that. Any other process asks the
// transport: the local mailbox can tell whether it holds the message (recorded sent, or failed and
// retried); SMTP cannot, so the message is abandoned as undetermined — it may have arrived, and it
// must never arrive twice.
import type { EventStore, RecordedEvent } from '@optic-mart/eventstore';
import type { Logger } from '@optic-mart/platform';
import type { CommandResult } from '@optic-mart/runtime';
import {
  messageDecider,
  messageStreamId,
  type MessageCommand,
  type MessageEvent,
  type MessageQueuedData,
  type MessageState,
} from '../domain/message.js';
import { smtpMessageId } from '../message-ids.js';
import type { OutgoingMessage, Transport } from './transports.js';

/** Runs a command on the message's stream (its data names the message). */
export type RunMessageCommand = (
  commandId: string,
  command: MessageCommand,
  causationId: string,
) => Promise<CommandResult>;

export interface DeliveryOptions {
  readonly store: EventStore;
  readonly transport: Transport;
  readonly logger: Logger;
  readonly run: RunMessageCommand;
  readonly from: string;
  /** The Message-ID's domain. */
  readonly domain: string;
  readonly maxAttempts: number;
  /** Wait before retrying after failed attempt `attempt`. */
  readonly retryDelay: (attempt: number) => number;
}

/** What this process knows of an attempt it started and has not recorded the outcome of yet. */
interface OwnAttempt {
  readonly attempt: number;
  /** Whether the message was handed to the transport (before that, it certainly did not leave). */
  handed: boolean;
  result?: { readonly providerMessageId: string } | { readonly error: string };
}

const describe = (err: unknown): string =>
  (err instanceof Error ? err.message : String(err)).slice(0, 500) || 'unknown error';

/** Creates `deliver(messageId, leading)`: one step of a message's delivery; throws to be retried later. */
export function createDelivery(
  options: DeliveryOptions,
): (messageId: string, leading: () => boolean) => Promise<void> {
  const { store, transport, logger, run, from, domain, maxAttempts, retryDelay } = options;
  const own = new Map<string, OwnAttempt>();

  const unpend = async (messageId: string): Promise<void> => {
    own.delete(messageId);
    await store.pool.query('DELETE FROM notifications.pending WHERE message_id = $1', [messageId]);
  };
  const ok = (result: CommandResult): CommandResult & { ok: true } => {
    if (!result.ok) throw new Error(`${result.error.code}: ${result.error.detail}`);
    return result;
  };

  return async function deliver(messageId, leading) {
    const events = await store.readStream(messageStreamId(messageId)).catch(() => [] as RecordedEvent[]);
    const state = events.reduce<MessageState>(
      (s, e) => messageDecider.evolve(s, { type: e.type, data: e.data } as MessageEvent),
      messageDecider.initialState(),
    );
    if (state.kind !== 'message' || state.status !== 'queued') return unpend(messageId);
    const queued = events[0]!.data as MessageQueuedData;
    const causationId = events.at(-1)!.id;
    const outgoing: OutgoingMessage = {
      messageId,
      smtpMessageId: smtpMessageId(messageId, domain),
      from,
      to: queued.to ?? '',
      subject: queued.subject,
      text: queued.text,
      html: queued.html,
      userId: queued.userId,
      orderId: queued.orderId,
      template: queued.template,
    };

    const sent = async (providerMessageId: string): Promise<void> => {
      ok(
        await run(
          `notify:${messageId}:sent`,
          { type: 'RecordMessageSent', data: { messageId, transport: transport.name, providerMessageId } },
          causationId,
        ),
      );
      await unpend(messageId);
    };
    const failed = async (attempt: number, error: string, last: boolean): Promise<void> => {
      ok(
        await run(
          `notify:${messageId}:failed:${attempt}`,
          {
            type: 'RecordSendFailure',
            data: { messageId, attempt, error, maxAttempts: last ? attempt : maxAttempts },
          },
          causationId,
        ),
      );
      if (last || attempt >= maxAttempts) {
        logger.warn({ messageId, attempts: attempt, error }, 'message abandoned');
        await unpend(messageId);
        return;
      }
      own.delete(messageId);
      await store.pool.query(
        `UPDATE notifications.pending SET due_at = now() + make_interval(secs => $2::double precision / 1000)
          WHERE message_id = $1`,
        [messageId, retryDelay(attempt)],
      );
    };

    /** An attempt started and never recorded sent or failed: record what can be known of it. */
    const settle = async (attempt: number): Promise<void> => {
      const mine = own.get(messageId);
      if (mine?.attempt === attempt) {
        if (!mine.handed) return failed(attempt, 'stopped before the message was handed over', false);
        if (mine.result === undefined) return; // Still with the transport, in this process.
        return 'error' in mine.result
          ? failed(attempt, mine.result.error, false)
          : sent(mine.result.providerMessageId);
      }
      const earlier = await transport.earlierAttempt(outgoing);
      if (earlier.outcome === 'delivered') return sent(earlier.providerMessageId);
      if (earlier.outcome === 'not_delivered') {
        return failed(attempt, `attempt ${attempt} was interrupted before the message was delivered`, false);
      }
      const reason =
        `attempt ${attempt} was interrupted before its outcome was recorded and ${earlier.reason}: ` +
        'the message is not sent again, so that it is never sent twice';
      const result = ok(
        await run(
          `notify:${messageId}:undetermined:${attempt}`,
          { type: 'RecordSendUndetermined', data: { messageId, attempt, reason } },
          causationId,
        ),
      );
      // Logged by whoever recorded it, once: the operator may want to tell the recipient.
      if (result.events > 0 && !result.duplicate) {
        logger.warn(
          { messageId, attempt, userId: queued.userId, orderId: queued.orderId, reason },
          'message abandoned: whether it was delivered is unknown',
        );
      }
      await unpend(messageId);
    };

    if (state.sending !== null) return settle(state.sending);
    const attempt = state.attempts + 1;
    // The recipient's personal data was erased after the message was queued: nobody to send to.
    if (!queued.to) return failed(attempt, 'the recipient’s personal data was erased', true);
    if (!leading()) return;

    const mine: OwnAttempt = { attempt, handed: false };
    own.set(messageId, mine);
    const started = await run(
      `notify:${messageId}:start:${attempt}`,
      { type: 'StartSend', data: { messageId, attempt } },
      causationId,
    );
    // Refused (another process moved the message on meanwhile) or started by another process
    // (the same command id): not ours to send; the next round reloads and sees where it stands.
    if (!started.ok || started.duplicate || started.events === 0) {
      own.delete(messageId);
      if (!started.ok) logger.info({ messageId, attempt, code: started.error.code }, started.error.detail);
      return;
    }
    mine.handed = true;
    try {
      mine.result = await transport.send(outgoing);
    } catch (err) {
      logger.warn({ err, messageId, attempt }, 'sending a message failed');
      mine.result = { error: describe(err) };
    }
    return settle(attempt);
  };
}
