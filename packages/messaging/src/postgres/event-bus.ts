import { randomUUID } from 'node:crypto';
import { deliver, resolveConsumeOptions, type ResolvedConsumeOptions } from '../delivery.js';
import type { BusEvent, Consumer, DeadLetters, EventBus, SubscribeOptions } from '../ports.js';
import { ClaimLoop } from './claim-loop.js';
import { keepLease, LeaseLostError, type PostgresContext } from './context.js';
import { PostgresDeadLetters } from './dead-letters.js';
import { BUS_CHANNEL } from './listener.js';

interface Claimed {
  readonly seq: string;
  /** Null when the event was pruned (past retention) before the group got to it. */
  readonly payload: BusEvent | null;
  readonly attempts: number;
  readonly lease: string;
}

/** Delivery rows a claim adds past the cursor at a time: fewer claims that have to read bus_events. */
const FILL = 100;

// A group created now starts after the newest event: it receives what is published from now on.
// Later subscribes keep the cursor (the group resumes) and update the type filter.
const CREATE_GROUP = `
  INSERT INTO messaging.bus_groups (name, cursor, types)
  VALUES ($1, (SELECT coalesce(max(seq), 0) FROM messaging.bus_events), $2)
  ON CONFLICT (name) DO UPDATE SET types = EXCLUDED.types`;

const NEXT_DUE = `
  SELECT extract(epoch FROM min(available_at) - now()) * 1000 AS ms
    FROM (SELECT available_at FROM messaging.bus_deliveries
           WHERE group_name = $1 ORDER BY seq LIMIT $2) w
   WHERE available_at > now()`;

const RENEW = `
  UPDATE messaging.bus_deliveries SET available_at = now() + $4 * interval '1 millisecond'
   WHERE group_name = $1 AND seq = $2 AND lease = $3`;

const ACK = 'DELETE FROM messaging.bus_deliveries WHERE group_name = $1 AND seq = $2 AND lease = $3';

// The NOTIFY tells the group's other members that the head of their window moved.
const RETRY = `
  WITH r AS (
    UPDATE messaging.bus_deliveries SET lease = NULL, available_at = now() + $4 * interval '1 millisecond'
     WHERE group_name = $1 AND seq = $2 AND lease = $3 RETURNING group_name)
  SELECT pg_notify('${BUS_CHANNEL}', group_name) FROM r`;

const DEAD_LETTER = `
  WITH d AS (
    DELETE FROM messaging.bus_deliveries WHERE group_name = $1 AND seq = $2 AND lease = $3
    RETURNING group_name)
  INSERT INTO messaging.dead_letters (id, kind, target, payload, error_code, error_detail, attempts)
  SELECT $4, 'event', group_name, $5, $6, $7, $8 FROM d`;

// A replay joins the group's deliveries under a fresh seq (after everything taken so far) and
// carries its payload, which the retention may have pruned from bus_events meanwhile.
const REPLAY = `
  WITH d AS (
    DELETE FROM messaging.dead_letters WHERE id = $1 AND kind = 'event' AND target = $2
    RETURNING target, payload),
  ins AS (
    INSERT INTO messaging.bus_deliveries (group_name, seq, payload)
    SELECT target, nextval(pg_get_serial_sequence('messaging.bus_events', 'seq')), payload FROM d
    RETURNING group_name)
  SELECT (SELECT count(*) FROM d)::int AS found,
         (SELECT count(*) FROM (SELECT pg_notify('${BUS_CHANNEL}', group_name) FROM ins) n)::int AS notified`;

/**
 * The domain-events bus on PostgreSQL: an append-only `bus_events` table, and per group a cursor
 * plus a delivery row for each event taken past it and not yet acked.
 */
export class PostgresEventBus implements EventBus {
  readonly #ctx: PostgresContext;
  readonly #loops = new Set<{ loop: ClaimLoop<Claimed>; group: string }>();

  constructor(ctx: PostgresContext) {
    this.#ctx = ctx;
  }

  /**
   * Appends the batch in order; an id already on the bus is dropped.
   *
   * The gap problem (DESIGN.md §5): a reader that moves its cursor to the highest `seq` it sees
   * would skip a lower `seq` whose transaction commits later. Here every publish takes one
   * transaction-level advisory lock, held until its commit, before drawing any `seq`: publishes
   * commit one after the other in `seq` order, so once a reader sees `seq` N, everything below N
   * is committed (or rolled back for good). This serialises publishers — one fsync per batch —
   * which the bus can afford: its publisher is the single relay, sending batches in order. (The
   * event store, with many concurrent appenders, pays for a sequencer instead.)
   */
  async publish(events: readonly BusEvent[]): Promise<void> {
    if (events.length === 0) return;
    const { rows } = await this.#ctx.pool.query<{ inserted: number }>(
      'SELECT messaging.bus_publish($1::jsonb) AS inserted',
      [JSON.stringify(events)],
    );
    const inserted = rows[0]?.inserted ?? 0;
    if (inserted < events.length) {
      this.#ctx.logger?.debug({ dropped: events.length - inserted }, 'duplicate events dropped');
    }
  }

  async subscribe(group: string, options: SubscribeOptions): Promise<Consumer> {
    const consume = resolveConsumeOptions(options);
    const { pool, listener, settings } = this.#ctx;
    const logger = this.#ctx.logger?.child({ group });
    await pool.query(CREATE_GROUP, [group, options.types ? [...options.types] : null]);
    const window = consume.concurrency;
    const loop: ClaimLoop<Claimed> = new ClaimLoop<Claimed>({
      concurrency: consume.concurrency,
      claim: async (limit) => {
        const lease = randomUUID();
        const { rows } = await pool.query<Omit<Claimed, 'lease'>>(
          'SELECT seq, payload, attempts FROM messaging.bus_claim($1, $2, $3, $4, $5, $6)',
          [group, window, limit, settings.leaseMs, lease, FILL],
        );
        return rows.map((r) => ({ ...r, lease }));
      },
      nextDueMs: async () => {
        const { rows } = await pool.query<{ ms: string | null }>(NEXT_DUE, [group, window]);
        const ms = rows[0]?.ms;
        return ms === null || ms === undefined ? null : Number(ms);
      },
      handle: (item) => this.#handle(loop, group, item, consume),
      safetyCheckMs: settings.safetyCheckMs,
      logger,
    });
    const onBus = (target: string): void => {
      if (target === '' || target === group) loop.wake();
    };
    const onReconnect = (): void => loop.wake();
    listener.on('bus', onBus);
    listener.on('reconnected', onReconnect);
    loop.start();
    const entry = { loop, group };
    this.#loops.add(entry);
    return {
      stop: async () => {
        listener.off('bus', onBus);
        listener.off('reconnected', onReconnect);
        await this.#stop(entry);
      },
    };
  }

  async #stop(entry: { loop: ClaimLoop<Claimed>; group: string }): Promise<void> {
    await entry.loop.stop();
    this.#loops.delete(entry);
    // The group's other members may have been waiting behind this one's window: wake them now
    // rather than at their next safety check.
    await this.#ctx.pool
      .query('SELECT pg_notify($1, $2)', [BUS_CHANNEL, entry.group])
      .catch((err: unknown) => this.#ctx.logger?.debug({ err }, 'could not notify the group'));
  }

  async #handle(
    loop: ClaimLoop<Claimed>,
    group: string,
    item: Claimed,
    consume: ResolvedConsumeOptions<BusEvent>,
  ): Promise<void> {
    const { pool, settings, hooks } = this.#ctx;
    const logger = this.#ctx.logger?.child({ group, eventId: item.payload?.id });
    const key = [group, item.seq, item.lease];
    const alive = (): void => {
      if (loop.abandoned) throw new Error('consumer abandoned');
    };
    const settled = (rowCount: number | null): void => {
      if (!rowCount) throw new LeaseLostError(`event #${item.seq} for group ${group}`);
    };
    if (item.payload === null) {
      logger?.warn({ seq: item.seq }, 'event pruned (past retention) before the group handled it; skipping');
      await pool.query(ACK, key);
      return;
    }
    const release = keepLease(
      settings.leaseMs,
      async () => {
        if (loop.abandoned) return;
        const { rowCount } = await pool.query(RENEW, [...key, settings.leaseMs]);
        if (!rowCount) logger?.warn('lease lost while the handler was still running');
      },
      logger,
    );
    const started = performance.now();
    try {
      const outcome = await deliver(
        item.payload,
        item.attempts,
        consume,
        {
          ack: async () => {
            alive();
            settled((await pool.query(ACK, key)).rowCount);
          },
          retry: async (delayMs) => {
            alive();
            settled((await pool.query(RETRY, [...key, delayMs])).rowCount);
          },
          deadLetter: async (failure, attempts) => {
            alive();
            const values = [...key, randomUUID(), item.payload, failure.code, failure.detail, attempts];
            settled((await pool.query(DEAD_LETTER, values)).rowCount);
          },
        },
        logger,
      );
      hooks?.delivered?.({
        port: 'events',
        target: group,
        outcome,
        attempt: item.attempts,
        durationMs: performance.now() - started,
      });
    } finally {
      release();
    }
  }

  deadLetters(group: string): DeadLetters<BusEvent> {
    return new PostgresDeadLetters<BusEvent>(this.#ctx.pool, 'event', group, REPLAY);
  }

  /** Stops every subscription started here, after their in-flight events settled. */
  async close(): Promise<void> {
    await Promise.all([...this.#loops].map((e) => this.#stop(e)));
  }

  /** Drops every subscription without settling anything (a simulated crash). */
  abandon(): void {
    for (const { loop } of this.#loops) loop.abandon();
    this.#loops.clear();
  }
}
