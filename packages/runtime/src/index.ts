// The public surface of @optic-mart/runtime.
export { DomainError, isDomainError } from './decider.js';
export type { Decider, Message } from './decider.js';
export { given } from './given-when-then.js';
export type { Then, When } from './given-when-then.js';
export { aggregateStep, createCommandHandler, isMultiStreamRoute } from './command-handler.js';
export type {
  CommandError,
  CommandHandler,
  CommandHandlerOptions,
  CommandInput,
  CommandResult,
  CommandRoute,
  CommandRoutes,
  CommandStore,
  SnapshotOptions,
  // Multi-stream commands (issue 5: an order and its reservations in one append).
  AggregateLoad,
  AggregateStep,
  AnyCommandRoute,
  LoadedAggregate,
  MultiStreamRoute,
  StreamOutcome,
} from './command-handler.js';
export type { BackoffOptions } from './backoff.js';
// A command's stream id and data, checked alike in every context.
export { commandValidator, streamIds } from './command-input.js';
export type {
  CheckedCommand,
  CommandValidator,
  CommandValidatorOptions,
  IdSchema,
  StreamIds,
  StreamIdsOptions,
} from './command-input.js';
export { COMMAND_EVENT_NAMESPACE, eventIdFor, uuidV5 } from './event-ids.js';
export type {
  ColumnDefinition,
  ColumnType,
  DocumentProjection,
  ProjectedEvent,
} from './projections/projection.js';
export { ReadModels } from './projections/read-models.js';
export type { FilterValue, FindOptions, Page, ReadModelsOptions } from './projections/read-models.js';
export {
  MAX_INLINE_NOTICES,
  NOTICES_CHANNEL,
  NOTICES_DDL,
  NoticeFeed,
  ensureNoticesSchema,
  noticeHeads,
  parseNoticeBatch,
  publishNotices,
  pruneNotices,
  prunedThrough,
  readNotices,
  recordNotices,
} from './projections/notices.js';
export type {
  Notice,
  NoticeBatch,
  NoticeDelivery,
  NoticeFeedOptions,
  NoticeListener,
  ProjectionNotice,
  Queryable,
  ReadNoticesOptions,
} from './projections/notices.js';
export { startProjector } from './projections/projector.js';
export type { BuildStatus, ProjectionStatus, Projector, ProjectorOptions } from './projections/projector.js';
export {
  counterView,
  migrateProjections,
  readModelView,
  type AnyProjection,
  type BuildRow,
} from './projections/schema.js';
