// The queue and bus conformance suites against a real PostgreSQL (one database for this file).
import { after, before } from 'node:test';
import { createTestDatabase, type TestDatabase } from '@optic-mart/testkit';
import { runCommandQueueConformance, runEventBusConformance } from '../conformance/index.js';
import { createPostgresTransport } from './transport.js';

let db: TestDatabase;
const leaseMs = 1_000;

before(async () => {
  db = await createTestDatabase('messaging_pg');
});

after(async () => {
  await db.drop();
});

// Each call is a separate "process": its own pool and LISTEN connection on the same database.
const factory = () =>
  createPostgresTransport({ connectionString: db.url, leaseMs, safetyCheckMs: 2_000, poolSize: 4 });

runCommandQueueConformance('postgres', factory, { redeliveryMs: leaseMs });
runEventBusConformance('postgres', factory, { redeliveryMs: leaseMs });
