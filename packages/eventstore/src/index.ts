// The public surface of @optic-mart/eventstore.
export {
  EventStore,
  MAX_EVENTS_PER_APPEND,
  MAX_STREAMS_PER_APPEND,
  MAX_STREAM_ID_LENGTH,
  readHeadPosition,
} from './event-store.js';
export type { EventStoreOptions } from './event-store.js';
export { subscribe } from './subscription.js';
export type { SubscribeOptions, Subscription } from './subscription.js';
export { migrate } from './migrate.js';
export { UpcasterRegistry } from './upcasters.js';
export type { Upcaster } from './upcasters.js';
export type {
  AppendOptions,
  AppendResult,
  EventMetadata,
  ExpectedVersion,
  LogFilter,
  NewEvent,
  PersonalData,
  ReadAllOptions,
  ReadAllResult,
  ReadStreamOptions,
  RecordedEvent,
  Snapshot,
  StreamAppend,
  StreamMetadata,
} from './types.js';
