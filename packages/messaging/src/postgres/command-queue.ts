import { randomUUID } from 'node:crypto';
import { deliver, resolveConsumeOptions, type ResolvedConsumeOptions } from '../delivery.js';
import type { CommandEnvelope, CommandQueue, ConsumeOptions, Consumer, DeadLetters } from '../ports.js';
import { ClaimLoop } from './claim-loop.js';
import { keepLease, LeaseLostError, type PostgresContext } from './context.js';
import { PostgresDeadLetters } from './dead-letters.js';
import { COMMANDS_CHANNEL } from './listener.js';
import { NO_FLUSH_WAIT } from './no-flush-wait.js';

interface Claimed {
  readonly id: string;
  readonly payload: CommandEnvelope;
  readonly attempts: number;
  readonly lease: string;
}

// The enqueue commits (waiting for the disk), and only then are the consumers woken, in a statement
// of its own: a NOTIFY in the inserting transaction would hold PostgreSQL's one notification lock
// (every notifying commit in the database takes it, in commit order) through that disk flush, and
// every other notification (replies, read-model notices) would queue behind it. Woken only for a
// command that was stored, never before its row is visible; a wake lost with a crashed sender is
// made up by the consumers' periodic check.
const SEND = `
  INSERT INTO messaging.commands (context, dedup_key, payload) VALUES ($1, $2, $3)
  ON CONFLICT (dedup_key) DO NOTHING`;
const WAKE = `SELECT pg_notify('${COMMANDS_CHANNEL}', $1)`;

// The claim, its renewals and the acknowledgement do not wait for the disk (the enqueue does, and
// so do the events a command appends): lost in a crash of the server, a claim or an
// acknowledgement only makes the command available again, and a command delivered again is applied
// once all the same (its events' ids derive from its id). Half the flushes of a command.

// SKIP LOCKED: concurrent consumers each take different rows instead of queueing on one. Moving
// available_at to the lease's end is the claim: nobody else sees the row as available until then.
const CLAIM = `
  WITH next AS (
    SELECT id FROM messaging.commands
     WHERE context = $1 AND done_at IS NULL AND available_at <= now()
     ORDER BY id LIMIT $2
       FOR UPDATE SKIP LOCKED)
  UPDATE messaging.commands c
     SET lease = $3, attempts = c.attempts + 1, available_at = now() + $4 * interval '1 millisecond'
    FROM next, ${NO_FLUSH_WAIT} WHERE c.id = next.id
  RETURNING c.id, c.payload, c.attempts`;

const NEXT_DUE = `
  SELECT extract(epoch FROM min(available_at) - now()) * 1000 AS ms FROM messaging.commands
   WHERE context = $1 AND done_at IS NULL AND available_at > now()`;

const RENEW = `
  UPDATE messaging.commands SET available_at = now() + $3 * interval '1 millisecond'
    FROM ${NO_FLUSH_WAIT} WHERE id = $1 AND lease = $2`;

const ACK = `
  UPDATE messaging.commands SET done_at = now(), lease = NULL
    FROM ${NO_FLUSH_WAIT} WHERE id = $1 AND lease = $2`;

const RETRY = `
  WITH r AS (
    UPDATE messaging.commands SET lease = NULL, available_at = now() + $3 * interval '1 millisecond'
     WHERE id = $1 AND lease = $2 RETURNING context)
  SELECT pg_notify('${COMMANDS_CHANNEL}', context) FROM r`;

// Done and dead-lettered in one statement: the command can be in the queue or in the dead
// letters, never in both and never in neither.
const DEAD_LETTER = `
  WITH d AS (
    UPDATE messaging.commands SET done_at = now(), lease = NULL
     WHERE id = $1 AND lease = $2 RETURNING context, payload)
  INSERT INTO messaging.dead_letters (id, kind, target, payload, error_code, error_detail, attempts)
  SELECT $3, 'command', context, payload, $4, $5, $6 FROM d`;

// The replay gets a fresh dedup key derived from the letter: its commandId is still in the
// duplicate window (the failed row), and replaying the same letter twice can only find it once.
const REPLAY = `
  WITH d AS (
    DELETE FROM messaging.dead_letters WHERE id = $1 AND kind = 'command' AND target = $2
    RETURNING id, target, payload),
  ins AS (
    INSERT INTO messaging.commands (context, dedup_key, payload)
    SELECT target, 'replay:' || id, payload FROM d
    ON CONFLICT (dedup_key) DO NOTHING RETURNING context)
  SELECT (SELECT count(*) FROM d)::int AS found,
         (SELECT count(*) FROM (SELECT pg_notify('${COMMANDS_CHANNEL}', context) FROM ins) n)::int AS notified`;

/**
 * The command queue on PostgreSQL: a table of commands that consumers claim with
 * `FOR UPDATE SKIP LOCKED` and a lease, woken by LISTEN/NOTIFY.
 */
export class PostgresCommandQueue implements CommandQueue {
  readonly #ctx: PostgresContext;
  readonly #loops = new Set<ClaimLoop<Claimed>>();

  constructor(ctx: PostgresContext) {
    this.#ctx = ctx;
  }

  /** Committed when it resolves; a commandId seen within the duplicate window is dropped. */
  async send(command: CommandEnvelope): Promise<{ duplicate: boolean }> {
    const { rowCount } = await this.#ctx.pool.query(SEND, [command.context, command.commandId, command]);
    // Stored is accepted: a wake that fails only leaves it to the consumers' periodic check.
    if (rowCount) {
      await this.#ctx.pool
        .query(WAKE, [command.context])
        .catch((err: unknown) => this.#ctx.logger?.warn({ err }, 'could not wake the consumers'));
    }
    if (!rowCount) this.#ctx.logger?.debug({ commandId: command.commandId }, 'duplicate command dropped');
    return { duplicate: !rowCount };
  }

  async depth(context: string): Promise<number> {
    const { rows } = await this.#ctx.pool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM messaging.commands WHERE context = $1 AND done_at IS NULL',
      [context],
    );
    return rows[0]?.n ?? 0;
  }

  async consume(context: string, options: ConsumeOptions<CommandEnvelope>): Promise<Consumer> {
    const consume = resolveConsumeOptions(options);
    const { pool, listener, settings } = this.#ctx;
    const logger = this.#ctx.logger?.child({ context });
    const loop: ClaimLoop<Claimed> = new ClaimLoop<Claimed>({
      concurrency: consume.concurrency,
      claim: async (limit) => {
        const lease = randomUUID();
        const { rows } = await pool.query<Omit<Claimed, 'lease'>>(CLAIM, [
          context,
          limit,
          lease,
          settings.leaseMs,
        ]);
        // RETURNING has no order: restore the queue's.
        return rows.map((r) => ({ ...r, lease })).sort((a, b) => Number(a.id) - Number(b.id));
      },
      nextDueMs: async () => {
        const { rows } = await pool.query<{ ms: string | null }>(NEXT_DUE, [context]);
        const ms = rows[0]?.ms;
        return ms === null || ms === undefined ? null : Number(ms);
      },
      handle: (item) => this.#handle(loop, context, item, consume),
      safetyCheckMs: settings.safetyCheckMs,
      logger,
    });
    const onCommand = (ctx: string): void => {
      if (ctx === context) loop.wake();
    };
    const onReconnect = (): void => loop.wake();
    listener.on('command', onCommand);
    listener.on('reconnected', onReconnect);
    loop.start();
    this.#loops.add(loop);
    return {
      stop: async () => {
        listener.off('command', onCommand);
        listener.off('reconnected', onReconnect);
        await loop.stop();
        this.#loops.delete(loop);
      },
    };
  }

  async #handle(
    loop: ClaimLoop<Claimed>,
    context: string,
    item: Claimed,
    consume: ResolvedConsumeOptions<CommandEnvelope>,
  ): Promise<void> {
    const { pool, settings, hooks } = this.#ctx;
    const logger = this.#ctx.logger?.child({ context, commandId: item.payload.commandId });
    // A crashed process settles nothing: abandoned loops drop every settlement.
    const alive = (): void => {
      if (loop.abandoned) throw new Error('consumer abandoned');
    };
    const settled = (rowCount: number | null): void => {
      if (!rowCount) throw new LeaseLostError(`command ${item.payload.commandId}`);
    };
    const release = keepLease(
      settings.leaseMs,
      async () => {
        if (loop.abandoned) return;
        const { rowCount } = await pool.query(RENEW, [item.id, item.lease, settings.leaseMs]);
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
            settled((await pool.query(ACK, [item.id, item.lease])).rowCount);
          },
          retry: async (delayMs) => {
            alive();
            settled((await pool.query(RETRY, [item.id, item.lease, delayMs])).rowCount);
          },
          deadLetter: async (failure, attempts) => {
            alive();
            const values = [item.id, item.lease, randomUUID(), failure.code, failure.detail, attempts];
            settled((await pool.query(DEAD_LETTER, values)).rowCount);
          },
        },
        logger,
      );
      hooks?.delivered?.({
        port: 'commands',
        target: context,
        outcome,
        attempt: item.attempts,
        durationMs: performance.now() - started,
      });
    } finally {
      release();
    }
  }

  deadLetters(context: string): DeadLetters<CommandEnvelope> {
    return new PostgresDeadLetters<CommandEnvelope>(this.#ctx.pool, 'command', context, REPLAY);
  }

  /** Stops every consumer started here, after their in-flight commands settled. */
  async close(): Promise<void> {
    await Promise.all([...this.#loops].map((l) => l.stop()));
    this.#loops.clear();
  }

  /** Drops every consumer without settling anything (a simulated crash). */
  abandon(): void {
    for (const l of this.#loops) l.abandon();
    this.#loops.clear();
  }
}
