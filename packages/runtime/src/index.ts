// The public surface of @optic-mart/runtime.
export { DomainError, isDomainError } from './decider.js';
export type { Decider, Message } from './decider.js';
export { given } from './given-when-then.js';
export type { Then, When } from './given-when-then.js';
export { createCommandHandler } from './command-handler.js';
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
} from './command-handler.js';
export type { BackoffOptions } from './backoff.js';
export { COMMAND_EVENT_NAMESPACE, eventIdFor, uuidV5 } from './event-ids.js';
