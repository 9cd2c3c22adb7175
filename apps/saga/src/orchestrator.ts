// The saga orchestrator: a subscription to the global log that starts one fulfillment saga per
// OrderPlaced with source 'checkout' (the saga stream is created with "must not exist": a
// redelivered event starts nothing), and a runner that drives the unfinished sagas.
//
// Several replicas: each runs the subscription (starting a saga is idempotent) and the runner;
// a saga is run only under a PostgreSQL session advisory lock on its order id, taken with
// pg_try_advisory_lock on a connection held for the whole run — so one saga never runs twice at
// once, and when a replica dies its locks go with its connections and the sweep of another
// replica resumes those sagas. The index table saga.instances lists the unfinished ones.
import { setMaxListeners } from 'node:events';
import pg from 'pg';
import { subscribe, type RecordedEvent, type Subscription } from '@optic-mart/eventstore';
import { uuidV5 } from '@optic-mart/runtime';
import { isFinished, type StartFulfillmentData } from './domain/fulfillment.js';
import { FulfillmentProcess, SAGA_COMMAND_NAMESPACE, recordSaga, type ProcessDeps } from './process.js';

export const SAGA_DDL = `
CREATE SCHEMA IF NOT EXISTS saga;
CREATE TABLE IF NOT EXISTS saga.checkpoints (name text PRIMARY KEY, position bigint NOT NULL);
CREATE TABLE IF NOT EXISTS saga.instances (
  order_id text PRIMARY KEY,
  finished boolean NOT NULL DEFAULT false,
  status text NOT NULL DEFAULT 'running',
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS instances_unfinished ON saga.instances (created_at) WHERE NOT finished;
`;

/** Advisory lock class of fulfillment sagas (the first key of the two-int form). */
const LOCK_CLASS = 0x5a6a;
const CHECKPOINT = 'fulfillment';

export interface OrchestratorOptions extends ProcessDeps {
  readonly connectionString: string;
  readonly concurrency: number;
  readonly sweepEveryMs: number;
  readonly maxAttempts: number;
  readonly maxCompensationAttempts: number;
}

export interface Orchestrator {
  /** Sagas running in this process now. */
  running(): readonly string[];
  /** Unfinished sagas, by status (all replicas). */
  counts(): Promise<Record<string, number>>;
  stop(): Promise<void>;
}

interface OrderPlacedData {
  orderId: string;
  userId: string;
  source?: string;
  total?: { amountCents: number; currency: string };
  shippingAddress?: StartFulfillmentData['shippingAddress'];
}

export async function startOrchestrator(options: OrchestratorOptions): Promise<Orchestrator> {
  const { store, logger } = options;
  const pool = new pg.Pool({ connectionString: options.connectionString, max: options.concurrency + 2 });
  pool.on('error', (err) => logger.warn({ err }, 'saga lock pool connection error'));
  await pool.query(SAGA_DDL);
  const process = new FulfillmentProcess(options);
  const controller = new AbortController();
  // Every running saga listens to it.
  setMaxListeners(0, controller.signal);
  const queued = new Set<string>();
  const running = new Map<string, Promise<void>>();

  const pump = () => {
    for (const orderId of queued) {
      if (running.size >= options.concurrency || controller.signal.aborted) return;
      queued.delete(orderId);
      if (running.has(orderId)) continue;
      const run = runOne(orderId).finally(() => {
        running.delete(orderId);
        pump();
      });
      running.set(orderId, run);
    }
  };
  const enqueue = (orderId: string) => {
    if (!running.has(orderId)) queued.add(orderId);
    pump();
  };

  async function runOne(orderId: string): Promise<void> {
    let client: pg.PoolClient | null = null;
    try {
      client = await pool.connect();
      const { rows } = await client.query<{ locked: boolean }>(
        'SELECT pg_try_advisory_lock($1::int, hashtext($2)) AS locked',
        [LOCK_CLASS, orderId],
      );
      if (!rows[0]?.locked) return; // another replica runs it
      try {
        const state = await process.run(orderId, controller.signal);
        if (isFinished(state)) {
          await client.query(
            'UPDATE saga.instances SET finished = true, status = $2, updated_at = now() WHERE order_id = $1',
            [orderId, state.status],
          );
        }
      } finally {
        await client.query('SELECT pg_advisory_unlock($1::int, hashtext($2))', [LOCK_CLASS, orderId]);
      }
    } catch (err) {
      // Left unfinished: the next sweep resumes it.
      logger.warn({ err, orderId }, 'saga run stopped with an error');
    } finally {
      client?.release();
    }
  }

  const start = async (event: RecordedEvent): Promise<string | null> => {
    const data = event.data as OrderPlacedData;
    if (data.source !== 'checkout' || typeof data.orderId !== 'string') return null;
    await recordSaga(
      store,
      data.orderId,
      {
        type: 'StartFulfillment',
        data: {
          orderId: data.orderId,
          userId: data.userId,
          amount: data.total ?? { amountCents: 0, currency: 'USD' },
          shippingAddress: data.shippingAddress ?? null,
          maxAttempts: options.maxAttempts,
          maxCompensationAttempts: options.maxCompensationAttempts,
        },
      },
      // From the OrderPlaced event's id: a second start (another replica) writes the same ids.
      (i) => uuidV5(`${event.id}/fulfillment/${i}`, SAGA_COMMAND_NAMESPACE),
    );
    return data.orderId;
  };

  const { rows } = await pool.query<{ position: string }>(
    'SELECT position FROM saga.checkpoints WHERE name = $1',
    [CHECKPOINT],
  );
  const subscription: Subscription = subscribe(store, {
    after: Number(rows[0]?.position ?? 0),
    category: 'order',
    types: ['OrderPlaced'],
    logger,
    handler: async (events, checkpoint) => {
      const started: string[] = [];
      for (const event of events) {
        const orderId = await start(event);
        if (orderId !== null) started.push(orderId);
      }
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        if (started.length > 0) {
          await client.query(
            'INSERT INTO saga.instances (order_id) SELECT unnest($1::text[]) ON CONFLICT (order_id) DO NOTHING',
            [started],
          );
        }
        await client.query(
          `INSERT INTO saga.checkpoints (name, position) VALUES ($1, $2)
           ON CONFLICT (name) DO UPDATE SET position = GREATEST(saga.checkpoints.position, EXCLUDED.position)`,
          [CHECKPOINT, checkpoint],
        );
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
      for (const orderId of started) enqueue(orderId);
    },
  });

  // Resume the unfinished: at start (a restart picks up every saga it left) and periodically.
  const sweep = async () => {
    try {
      const { rows: open } = await pool.query<{ order_id: string }>(
        'SELECT order_id FROM saga.instances WHERE NOT finished ORDER BY created_at LIMIT 5000',
      );
      for (const { order_id } of open) enqueue(order_id);
    } catch (err) {
      logger.warn({ err }, 'saga sweep failed');
    }
  };
  await sweep();
  const timer = setInterval(() => void sweep(), options.sweepEveryMs);
  timer.unref();

  return {
    running: () => [...running.keys()],
    async counts() {
      const { rows: counted } = await pool.query<{ status: string; n: string }>(
        'SELECT status, count(*) AS n FROM saga.instances GROUP BY status',
      );
      return Object.fromEntries(counted.map((r) => [r.status, Number(r.n)]));
    },
    async stop() {
      clearInterval(timer);
      controller.abort();
      queued.clear();
      await subscription.stop();
      await Promise.allSettled([...running.values()]);
      await pool.end();
    },
  };
}
