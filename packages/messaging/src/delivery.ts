import { isAppError, type Logger } from '@optic-mart/platform';
import { retryDelayMs } from './backoff.js';
import type { ConsumeOptions } from './ports.js';

/** What a dead letter records about the failure; codes come from the platform error table, plus the two below. */
export interface FailureInfo {
  readonly code: string;
  readonly detail: string;
}

/** The handler kept failing (or crashing its process) until the delivery limit. */
export const MAX_DELIVERIES_CODE = 'max_deliveries_exceeded';

/** Consume options with every default filled in. */
export interface ResolvedConsumeOptions<Message> {
  readonly concurrency: number;
  readonly handler: ConsumeOptions<Message>['handler'];
  readonly maxDeliveries: number;
  readonly backoffMs: number;
}

/** Validates and completes consume options (defaults: 5 deliveries, 200 ms first backoff). */
export function resolveConsumeOptions<Message>(
  options: ConsumeOptions<Message>,
): ResolvedConsumeOptions<Message> {
  const { concurrency, maxDeliveries = 5, backoffMs = 200 } = options;
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new RangeError(`concurrency must be a positive integer, got ${concurrency}`);
  }
  if (!Number.isInteger(maxDeliveries) || maxDeliveries < 1) {
    throw new RangeError(`maxDeliveries must be a positive integer, got ${maxDeliveries}`);
  }
  if (!(backoffMs >= 0)) throw new RangeError(`backoffMs must be >= 0, got ${backoffMs}`);
  return { concurrency, handler: options.handler, maxDeliveries, backoffMs };
}

/** How a transport settles one delivery; each returns once the broker has it (or throws). */
export interface Settlement {
  ack(): Promise<void>;
  retry(delayMs: number): Promise<void>;
  deadLetter(failure: FailureInfo, attempts: number): Promise<void>;
}

/** The outcome of one delivery, for logs and metrics hooks. */
export type DeliveryOutcome = 'acked' | 'retried' | 'dead_lettered' | 'unsettled';

// Long enough for a SQL error with its context, short enough that a dead letter stays a small row.
const MAX_DETAIL_LENGTH = 2000;

/** The code and detail a dead letter keeps: an AppError's own, else `internal` with the message (never a stack). */
export function describeFailure(err: unknown): FailureInfo {
  if (isAppError(err)) return { code: err.code, detail: err.detail };
  const detail = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return { code: 'internal', detail: detail.slice(0, MAX_DETAIL_LENGTH) };
}

/**
 * Whether a redelivery may help: an AppError says so itself; any other error is taken for
 * infrastructure trouble (a dropped connection, a timeout) and retried, within maxDeliveries.
 */
export function mayRetry(err: unknown): boolean {
  return isAppError(err) ? err.retryable : true;
}

/**
 * Runs the handler for one delivery and settles it: ack only after the handler resolved; a
 * retryable failure before the last attempt is redelivered after a backoff; anything else is
 * dead-lettered. A delivery that arrives past the limit (its earlier attempts crashed their
 * process, or lost their lease) is dead-lettered without running the handler again, so a message
 * that kills workers cannot take the whole pool down in a loop.
 *
 * A settlement that fails (the connection dropped) is logged and left: the broker redelivers the
 * message when its ack-wait or lease runs out, so nothing is acked that was not handled.
 */
export async function deliver<Message>(
  message: Message,
  attempt: number,
  options: ResolvedConsumeOptions<Message>,
  settle: Settlement,
  logger: Logger | undefined,
): Promise<DeliveryOutcome> {
  if (attempt > options.maxDeliveries) {
    const failure = {
      code: MAX_DELIVERIES_CODE,
      detail: `delivered ${attempt} times; the earlier deliveries ended without an outcome (a crash or an expired lease)`,
    };
    return settleDead(settle, failure, attempt, logger);
  }
  try {
    await options.handler(message, { attempt });
  } catch (err) {
    const failure = describeFailure(err);
    if (mayRetry(err) && attempt < options.maxDeliveries) {
      const delayMs = retryDelayMs(attempt, options.backoffMs);
      logger?.debug({ attempt, delayMs, code: failure.code }, 'handler failed; redelivering after a backoff');
      try {
        await settle.retry(delayMs);
        return 'retried';
      } catch (settleErr) {
        logger?.warn(
          { err: settleErr, attempt },
          'could not schedule a retry; the lease or ack-wait will redeliver',
        );
        return 'unsettled';
      }
    }
    logger?.warn({ attempt, code: failure.code, detail: failure.detail }, 'handler failed; dead-lettering');
    return settleDead(settle, failure, attempt, logger);
  }
  try {
    await settle.ack();
    return 'acked';
  } catch (err) {
    logger?.warn({ err, attempt }, 'ack failed; the message will be redelivered');
    return 'unsettled';
  }
}

async function settleDead(
  settle: Settlement,
  failure: FailureInfo,
  attempt: number,
  logger: Logger | undefined,
): Promise<DeliveryOutcome> {
  try {
    await settle.deadLetter(failure, attempt);
    return 'dead_lettered';
  } catch (err) {
    // Not acked: the message stays on its queue and comes back, to be dead-lettered then.
    logger?.error({ err, attempt }, 'dead-lettering failed; the message will be redelivered');
    return 'unsettled';
  }
}
