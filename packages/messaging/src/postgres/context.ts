import type pg from 'pg';
import type { Logger } from '@optic-mart/platform';
import type { MessagingHooks } from '../hooks.js';
import type { QueueListener } from './listener.js';

/** Settings shared by the PostgreSQL command queue and bus. */
export interface PostgresSettings {
  /** How long a claim lasts without renewal: a crashed consumer's messages return after it. */
  readonly leaseMs: number;
  /** The slow re-check for idle consumers, in case a notification was lost. */
  readonly safetyCheckMs: number;
  /** A repeated command id within this time of the first is dropped (JetStream's duplicate window). */
  readonly duplicateWindowMs: number;
  /** How long bus events are kept (events still owed to a group are kept until delivered). */
  readonly eventRetentionMs: number;
  /** How often old acked commands and bus events are pruned. */
  readonly maintenanceMs: number;
}

/** What the PostgreSQL command queue and bus share. */
export interface PostgresContext {
  readonly pool: pg.Pool;
  readonly listener: QueueListener;
  readonly settings: PostgresSettings;
  readonly logger: Logger | undefined;
  readonly hooks: MessagingHooks | undefined;
}

/** Runs `renew` every third of the lease while a handler works, so a slow handler keeps its message. */
export function keepLease(
  leaseMs: number,
  renew: () => Promise<void>,
  logger: Logger | undefined,
): () => void {
  const timer = setInterval(
    () => {
      renew().catch((err: unknown) => logger?.warn({ err }, 'lease renewal failed'));
    },
    Math.max(50, Math.floor(leaseMs / 3)),
  );
  return () => clearInterval(timer);
}

/** Thrown when settling a message whose lease expired and went to another consumer. */
export class LeaseLostError extends Error {
  override name = 'LeaseLostError';
  constructor(what: string) {
    super(`the lease on ${what} had expired; another consumer has it (or will)`);
  }
}
