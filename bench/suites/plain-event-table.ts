import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { BenchEvent } from '../lib/pet-events.js';

/**
 * The baseline for the event store: the physical limit of plain SQL on the same table shape.
 * `plain.events` is created `LIKE eventstore.events INCLUDING ALL` (same columns, defaults, primary
 * key, unique and partial indexes) with a sequence of its own; writes are single autocommit
 * INSERTs, reads a keyset-paged SELECT on the primary key. No version check, no global order.
 */
export class PlainEventTable {
  readonly pool: pg.Pool;

  constructor(connectionString: string, poolSize: number) {
    this.pool = new pg.Pool({ connectionString, max: poolSize });
    this.pool.on('error', () => undefined); // an idle connection closed by DROP DATABASE at the end
  }

  /** Creates the table; the event store's schema must exist already. */
  static async create(connectionString: string): Promise<void> {
    const client = new pg.Client({ connectionString });
    await client.connect();
    try {
      await client.query(`
        CREATE SCHEMA plain;
        CREATE SEQUENCE plain.seq AS bigint;
        CREATE TABLE plain.events (LIKE eventstore.events INCLUDING ALL);
      `);
    } finally {
      await client.end();
    }
  }

  async insertOne(streamId: string, version: number, event: BenchEvent): Promise<void> {
    await this.pool.query(
      `INSERT INTO plain.events (seq, stream_id, version, id, type, data, metadata)
       VALUES (nextval('plain.seq'), $1, $2, $3, $4, $5, $6)`,
      [
        streamId,
        version,
        randomUUID(),
        event.type,
        JSON.stringify(event.data),
        JSON.stringify(event.metadata),
      ],
    );
  }

  /** One multi-row INSERT: the events get versions firstVersion, firstVersion + 1, … */
  async insertBatch(streamId: string, firstVersion: number, events: readonly BenchEvent[]): Promise<void> {
    await this.pool.query(
      `INSERT INTO plain.events (seq, stream_id, version, id, type, data, metadata)
       SELECT nextval('plain.seq'), $1, u.version, u.id, u.type, u.data, u.metadata
       FROM unnest($2::bigint[], $3::uuid[], $4::text[], $5::jsonb[], $6::jsonb[]) AS u(version, id, type, data, metadata)`,
      [
        streamId,
        events.map((_, i) => firstVersion + i),
        events.map(() => randomUUID()),
        events.map((e) => e.type),
        events.map((e) => JSON.stringify(e.data)),
        events.map((e) => JSON.stringify(e.metadata)),
      ],
    );
  }

  /** Up to `limit` rows after seq `after`, in seq order; returns the rows read and the last seq. */
  async readPage(after: number, limit: number): Promise<{ count: number; last: number }> {
    const { rows } = await this.pool.query<{ seq: string }>(
      `SELECT seq, stream_id, version, id, type, schema_version, data, metadata, recorded_at
       FROM plain.events WHERE seq > $1 ORDER BY seq LIMIT $2`,
      [after, limit],
    );
    return { count: rows.length, last: rows.length > 0 ? Number(rows[rows.length - 1]!.seq) : after };
  }

  close(): Promise<void> {
    return this.pool.end();
  }
}
