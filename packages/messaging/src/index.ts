export * from './ports.js';
export { createRedisKeyValueStore, type RedisKeyValueStoreOptions } from './kv/redis-key-value-store.js';
export {
  createPostgresKeyValueStore,
  type PostgresKeyValueStoreOptions,
} from './kv/postgres-key-value-store.js';
export { WorkerRegistry, type WorkerInfo } from './worker-registry.js';
export { CommandStatusStore, replyChannel, type CommandStatus } from './command-status.js';
export { createNatsTransport, type NatsTransport, type NatsTransportOptions } from './nats/index.js';
export {
  createPostgresTransport,
  type PostgresTransport,
  type PostgresTransportOptions,
} from './postgres/index.js';
export type { MessagingHooks, DeliveryReport } from './hooks.js';
export {
  connectMessaging,
  connectMessagingFrom,
  type ConnectMessagingOptions,
  type Messaging,
  type MessagingSettings,
} from './connect.js';
export { CommandDispatcher, type DispatcherOptions, type Outcome } from './dispatcher.js';
