// The worker role: `apps/worker --context catalog[,…]` takes its contexts' commands from the queue
// when it has room, handles them against the event store, and replies.
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { EventStore } from '@optic-mart/eventstore';
import {
  CommandStatusStore,
  WorkerRegistry,
  connectMessagingFrom,
  type Consumer,
} from '@optic-mart/messaging';
import { createCommandHandler } from '@optic-mart/runtime';
import { createLogger, runRoleIfMain, type Env } from '@optic-mart/platform';
import { loadWorkerConfig, parseContexts } from './config.js';
import { contextRoutes, knownContexts } from './contexts.js';
import { serveContext } from './serve-context.js';

/** Starts a worker; the supervisor calls this directly in single-process mode. */
export async function start(
  env?: Env,
  args: readonly string[] = process.argv.slice(2),
): Promise<{ stop(): Promise<void> }> {
  const config = loadWorkerConfig(env);
  const contexts = parseContexts(args, knownContexts);
  const workerId = randomUUID();
  const logger = createLogger({ name: 'worker', level: config.LOG_LEVEL }).child({ workerId, contexts });
  const store = new EventStore({
    connectionString: config.DATABASE_URL,
    poolSize: config.WORKER_POOL_SIZE,
    logger,
  });
  await store.start();
  const messaging = await connectMessagingFrom(config, logger, { leaseMs: config.WORKER_LEASE_MS });
  const statuses = new CommandStatusStore(messaging.kv);
  const registry = new WorkerRegistry(messaging.kv, { heartbeatMs: config.WORKER_HEARTBEAT_MS });
  const inFlight = { count: 0 };
  const consumers: Consumer[] = [];
  for (const context of contexts) {
    const handle = createCommandHandler({ store, routes: contextRoutes[context]!, logger });
    consumers.push(
      await serveContext({
        context,
        commands: messaging.commands,
        statuses,
        handle,
        concurrency: config.WORKER_CONCURRENCY,
        maxDeliveries: config.WORKER_MAX_DELIVERIES,
        logger,
        inFlight,
      }),
    );
  }
  const deregister = await registry.register(
    { workerId, contexts, pid: process.pid, host: hostname(), startedAt: new Date().toISOString() },
    () => inFlight.count,
  );
  logger.info({ transport: messaging.transport }, 'worker taking commands');
  return {
    async stop() {
      // Deregister first so gateways stop sending here, then finish what is in hand.
      await deregister();
      await Promise.all(consumers.map((c) => c.stop()));
      await messaging.close();
      await store.close();
      logger.info('worker stopped');
    },
  };
}

await runRoleIfMain(import.meta.url, 'worker', start);
