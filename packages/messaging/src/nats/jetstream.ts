import {
  AckPolicy,
  DeliverPolicy,
  ErrorCode,
  NatsError,
  RetentionPolicy,
  StorageType,
  nanos,
  type ConsumerConfig,
  type JetStreamManager,
  type StreamConfig,
} from 'nats';

// JetStream API error codes (nats-server's errors.json).
const STREAM_NOT_FOUND = 10059;
const CONSUMER_NOT_FOUND = 10014;
const NO_MESSAGE_FOUND = 10037;

function apiErrorCode(err: unknown): number | undefined {
  return err instanceof NatsError ? err.api_error?.err_code : undefined;
}

/** A publish no stream listens to (JetStream answers with "no responders"). */
export const isNoResponders = (err: unknown): boolean =>
  err instanceof NatsError && err.code === (ErrorCode.NoResponders as string);
export const isStreamNotFound = (err: unknown): boolean => apiErrorCode(err) === STREAM_NOT_FOUND;
export const isConsumerNotFound = (err: unknown): boolean => apiErrorCode(err) === CONSUMER_NOT_FOUND;
export const isNoMessage = (err: unknown): boolean => apiErrorCode(err) === NO_MESSAGE_FOUND;

/** The settings of a stream this transport owns. */
export interface StreamSpec {
  readonly name: string;
  readonly subjects: string[];
  readonly retention: 'workqueue' | 'limits';
  readonly duplicateWindowMs: number;
  /** Limits streams only: messages older than this are dropped; 0 keeps them. */
  readonly maxAgeMs?: number;
}

/**
 * Creates the stream unless it exists. An existing stream is used as it is (an operator may have
 * tuned its storage or replicas), so starting a process never rewrites production settings.
 */
export async function ensureStream(jsm: JetStreamManager, spec: StreamSpec): Promise<void> {
  try {
    await jsm.streams.info(spec.name);
    return;
  } catch (err) {
    if (!isStreamNotFound(err)) throw err;
  }
  const config: Partial<StreamConfig> = {
    name: spec.name,
    subjects: spec.subjects,
    retention: spec.retention === 'workqueue' ? RetentionPolicy.Workqueue : RetentionPolicy.Limits,
    storage: StorageType.File,
    duplicate_window: nanos(spec.duplicateWindowMs),
    ...(spec.maxAgeMs ? { max_age: nanos(spec.maxAgeMs) } : {}),
  };
  try {
    await jsm.streams.add(config);
  } catch (err) {
    // Another process created it between our look and our add: fine, it is the same stream.
    await jsm.streams.info(spec.name).catch(() => {
      throw err;
    });
  }
}

/** The settings of a durable pull consumer this transport owns. */
export interface ConsumerSpec {
  readonly stream: string;
  readonly durable: string;
  readonly ackWaitMs: number;
  /** -1 for no limit. For a bus group this is its concurrency: what keeps publish order across members. */
  readonly maxAckPending: number;
  /** `new` for bus groups: a group receives what is published after it was first created. */
  readonly deliverPolicy: 'all' | 'new';
  readonly filterSubject?: string;
}

/**
 * Creates the durable consumer, or brings the settings a process may change (ack-wait, max ack
 * pending) in line on an existing one. The start position is only set at creation: a group that
 * exists resumes where it stopped.
 *
 * `max_deliver` is left unlimited on purpose: the consumer itself dead-letters at the limit
 * (see delivery.ts). A server-side limit would instead leave the message stuck, unacked and
 * invisible, in a work-queue stream.
 */
export async function ensureConsumer(jsm: JetStreamManager, spec: ConsumerSpec): Promise<void> {
  const wanted = { ack_wait: nanos(spec.ackWaitMs), max_ack_pending: spec.maxAckPending };
  try {
    const info = await jsm.consumers.info(spec.stream, spec.durable);
    if (info.config.ack_wait !== wanted.ack_wait || info.config.max_ack_pending !== wanted.max_ack_pending) {
      await jsm.consumers.update(spec.stream, spec.durable, wanted);
    }
    return;
  } catch (err) {
    if (!isConsumerNotFound(err)) throw err;
  }
  const config: Partial<ConsumerConfig> = {
    durable_name: spec.durable,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: spec.deliverPolicy === 'new' ? DeliverPolicy.New : DeliverPolicy.All,
    max_deliver: -1,
    ...wanted,
    ...(spec.filterSubject ? { filter_subject: spec.filterSubject } : {}),
  };
  try {
    await jsm.consumers.add(spec.stream, config);
  } catch (err) {
    // Two members of a group starting together: the other one created it; ours would be the same.
    await jsm.consumers.info(spec.stream, spec.durable).catch(() => {
      throw err;
    });
  }
}
