export * from './ports.js';
export { createRedisKeyValueStore, type RedisKeyValueStoreOptions } from './kv/redis-key-value-store.js';
export {
  createPostgresKeyValueStore,
  type PostgresKeyValueStoreOptions,
} from './kv/postgres-key-value-store.js';
export { WorkerRegistry, type WorkerInfo } from './worker-registry.js';
export { CommandStatusStore, replyChannel, type CommandStatus } from './command-status.js';
