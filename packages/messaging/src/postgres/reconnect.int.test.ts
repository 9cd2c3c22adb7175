// Idle consumers are woken by NOTIFY only (the safety re-check is set far out here): when the
// LISTEN connection dies, the reconnect must wake them, so nothing waits for the safety timer.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '@optic-mart/testkit';
import { command, unique, waitFor } from '../conformance/support.js';
import type { CommandEnvelope } from '../ports.js';
import { createPostgresTransport } from './transport.js';

let db: TestDatabase;

before(async () => {
  db = await createTestDatabase('messaging_pg_reconnect');
});

after(async () => {
  await db.drop();
});

describe('PostgreSQL LISTEN connection loss', () => {
  it('keeps waking idle consumers after the LISTEN connection is killed', async () => {
    const worker = await createPostgresTransport({ connectionString: db.url, safetyCheckMs: 60_000 });
    const sender = await createPostgresTransport({ connectionString: db.url, safetyCheckMs: 60_000 });
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    try {
      const context = unique('listen');
      const got: CommandEnvelope[] = [];
      await worker.commands.consume(context, {
        concurrency: 1,
        handler: async (c) => {
          got.push(c);
        },
      });
      await sender.commands.send(command(context));
      await waitFor('the first command', () => got.length === 1);

      const { rowCount } = await admin.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
          WHERE datname = current_database() AND query LIKE 'LISTEN messaging_%'`,
      );
      assert.equal(rowCount, 2, 'both transports’ LISTEN connections');
      await sender.commands.send(command(context));
      await waitFor('the command sent while LISTEN was down', () => got.length === 2, 10_000);
      await sender.commands.send(command(context));
      await waitFor('a command after the reconnect', () => got.length === 3, 10_000);
    } finally {
      await admin.end();
      await worker.close();
      await sender.close();
    }
  });
});
