import type { DeliveryOutcome } from './delivery.js';

/** What the transports report after each delivery, for metrics (counters of outcomes, handler latency). */
export interface DeliveryReport {
  /** `commands` or `events`. */
  readonly port: 'commands' | 'events';
  /** The context (commands) or group (events). */
  readonly target: string;
  readonly outcome: DeliveryOutcome;
  readonly attempt: number;
  readonly durationMs: number;
}

/** Optional callbacks a process wires to its metrics registry; they must not throw or block. */
export interface MessagingHooks {
  delivered?(report: DeliveryReport): void;
}
