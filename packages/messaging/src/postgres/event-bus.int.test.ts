// PostgreSQL-specific bus behaviour the shared conformance suite cannot provoke: late commits.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { createTestDatabase, sleep, type TestDatabase } from '@optic-mart/testkit';
import { busEvent, waitFor } from '../conformance/support.js';
import type { BusEvent } from '../ports.js';
import { createPostgresTransport, type PostgresTransport } from './transport.js';

let db: TestDatabase;
let transport: PostgresTransport;

before(async () => {
  db = await createTestDatabase('messaging_pg_bus');
  transport = await createPostgresTransport({ connectionString: db.url, leaseMs: 1_000, safetyCheckMs: 500 });
});

after(async () => {
  await transport.close();
  await db.drop();
});

describe('PostgreSQL bus ordering', () => {
  it('never skips an event whose publish commits late (the gap problem)', async () => {
    const got: BusEvent[] = [];
    await transport.events.subscribe('gap', {
      concurrency: 1,
      handler: async (e) => {
        got.push(e);
      },
    });
    const [early, late] = [busEvent('X'), busEvent('X')];
    // A publisher that has drawn its seq but not committed (a slow relay transaction).
    const slow = new pg.Client({ connectionString: db.url });
    await slow.connect();
    try {
      await slow.query('BEGIN');
      await slow.query('SELECT messaging.bus_publish($1::jsonb)', [JSON.stringify([early])]);
      const second = transport.events.publish([late]);
      // The group looks at the log meanwhile (the safety re-check runs every 500 ms).
      await sleep(1_200);
      assert.equal(got.length, 0, 'nothing is delivered past an uncommitted publish');
      await slow.query('COMMIT');
      await second;
    } finally {
      await slow.end();
    }
    await waitFor('both events', () => got.length >= 2);
    await sleep(300);
    assert.deepEqual(
      got.map((e) => e.id),
      [early.id, late.id],
    );
  });
});
