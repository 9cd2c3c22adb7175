// The stream role: pushes read-model notices to browsers as server-sent events (behind the
// gateway's /api/stream). Replicas share nothing but the notices channel and table.
import {
  createPostgresKeyValueStore,
  createRedisKeyValueStore,
  type KeyValueStore,
} from '@optic-mart/messaging';
import { createLogger, createMetricsRegistry, runRoleIfMain, type Env } from '@optic-mart/platform';
import { loadStreamConfig, type StreamConfig } from './config.js';
import { buildStreamApp } from './stream-app.js';

/** The fan-out channel's store: Redis pub/sub when configured, else PostgreSQL LISTEN/NOTIFY. */
export function connectKeyValueStore(config: StreamConfig): Promise<KeyValueStore> {
  const keyPrefix = `${config.MESSAGING_PREFIX}:`; // as connectMessaging does, so publishers reach us
  return config.REDIS_URL
    ? createRedisKeyValueStore({ url: config.REDIS_URL, keyPrefix, name: 'optic-stream' })
    : createPostgresKeyValueStore({ connectionString: config.DATABASE_URL, keyPrefix, poolSize: 2 });
}

/** Starts a stream service; the supervisor calls this directly in single-process mode. */
export async function start(env?: Env): Promise<{ url: string; stop(): Promise<void> }> {
  const config = loadStreamConfig(env);
  const logger = createLogger({ name: 'stream', level: config.LOG_LEVEL });
  const metrics = createMetricsRegistry({ service: 'stream' });
  const kv = await connectKeyValueStore(config);
  const { app } = await buildStreamApp({ config, kv, logger, metrics });
  const url = await app.listen({ host: config.STREAM_HOST, port: config.STREAM_PORT });
  logger.info({ url, fanOut: config.REDIS_URL ? 'redis' : 'postgres' }, 'stream listening');
  return {
    url,
    async stop() {
      await app.close();
      await kv.close();
      logger.info('stream stopped');
    },
  };
}

await runRoleIfMain(import.meta.url, 'stream', start);
