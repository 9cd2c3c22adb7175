import type pg from 'pg';
import { AppError } from '@optic-mart/platform';
import type { DeadLetter, DeadLetters } from '../ports.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/iu;

interface DeadLetterRow {
  id: string;
  payload: unknown;
  error_code: string;
  error_detail: string;
  attempts: number;
  dead_at: Date;
}

/**
 * Lists and replays the dead letters of one context or group. `replaySql` takes ($1 id, $2 target),
 * deletes the letter and re-enqueues it in the same statement — so a replay is never lost nor
 * doubled — and returns `found`.
 */
export class PostgresDeadLetters<Message> implements DeadLetters<Message> {
  readonly #pool: pg.Pool;
  readonly #kind: 'command' | 'event';
  readonly #target: string;
  readonly #replaySql: string;

  constructor(pool: pg.Pool, kind: 'command' | 'event', target: string, replaySql: string) {
    this.#pool = pool;
    this.#kind = kind;
    this.#target = target;
    this.#replaySql = replaySql;
  }

  async list(options: { limit?: number } = {}): Promise<DeadLetter<Message>[]> {
    const { rows } = await this.#pool.query<DeadLetterRow>(
      `SELECT id, payload, error_code, error_detail, attempts, dead_at
         FROM messaging.dead_letters WHERE kind = $1 AND target = $2
        ORDER BY dead_at, id LIMIT $3`,
      [this.#kind, this.#target, options.limit ?? 100],
    );
    return rows.map((r) => ({
      id: r.id,
      message: r.payload as Message,
      error: { code: r.error_code, detail: r.error_detail },
      attempts: r.attempts,
      deadAt: r.dead_at.toISOString(),
    }));
  }

  async replay(id: string): Promise<void> {
    const found = UUID.test(id)
      ? (await this.#pool.query<{ found: number }>(this.#replaySql, [id, this.#target])).rows[0]?.found
      : 0;
    if (!found) throw new AppError('not_found', `No dead letter ${id} for ${this.#target}.`);
  }
}
