// The identity context's command routes for the runtime's command handler.
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsPlugin from 'ajv-formats';
import type { NewEvent } from '@optic-mart/eventstore';
import type { ErrorCode } from '@optic-mart/platform';
import { DomainError, type CommandInput, type CommandRoute, type CommandRoutes } from '@optic-mart/runtime';
import { userCommandSchemas, usernameSchema } from './commands.js';
import {
  Username,
  personalFields,
  userDecider,
  userErrorCodes,
  type UserCommand,
  type UserCommandType,
  type UserEvent,
  type UserState,
} from './domain/user.js';

// Every code the decider throws must be a line of the platform's error table (checked here,
// outside the domain, which may not import the platform).
const _userErrorCodes: readonly ErrorCode[] = userErrorCodes;

// ajv-formats is CommonJS; its default export arrives wrapped under ESM interop.
const addFormats = addFormatsPlugin as unknown as (ajv: Ajv) => Ajv;

const USER_PREFIX = 'user-';

/** The stream of a user: `user-<username>`. */
export const userStreamId = (username: string): string => USER_PREFIX + username;

const usernamePattern = new RegExp(usernameSchema.pattern);

/** Whether a string is a valid username. */
export const isUsername = (value: string): boolean =>
  value.length >= usernameSchema.minLength &&
  value.length <= usernameSchema.maxLength &&
  usernamePattern.test(value);

/** The username of a user stream id, or null when it is not one. */
export function usernameOf(streamId: string): Username | null {
  if (!streamId.startsWith(USER_PREFIX)) return null;
  const name = streamId.slice(USER_PREFIX.length);
  return isUsername(name) ? Username(name) : null;
}

// The gateway validates its bodies already; commands also come from scripts and the bootstrap,
// and an event written from a bad one would stay in the store for good.
const ajv = new Ajv({ allErrors: true, strict: true });
addFormats(ajv);
const validators = Object.fromEntries(
  Object.entries(userCommandSchemas).map(([type, schema]) => [type, ajv.compile(schema)]),
) as Record<UserCommandType, ValidateFunction>;

const isUserCommandType = (type: string): type is UserCommandType => Object.hasOwn(userCommandSchemas, type);

function toUserCommand(command: CommandInput): UserCommand {
  const username = usernameOf(command.aggregateId);
  if (username === null) {
    throw new DomainError(
      'validation_failed',
      `${command.aggregateId} is not a user stream id (user-<username>)`,
    );
  }
  const { type } = command;
  if (!isUserCommandType(type)) throw new DomainError('bad_request', `${type} is not a user command`);
  const validate = validators[type];
  // A copy: Ajv fills in defaults, and the envelope is not ours to change.
  const data = { ...(command.data as object) } as Record<string, unknown>;
  if (!validate(data)) {
    const problems = (validate.errors ?? []).map(
      (e) => `${e.instancePath || '(body)'} ${e.message ?? e.keyword}`,
    );
    throw new DomainError('validation_failed', `Invalid ${type}: ${problems.join('; ')}.`);
  }
  if (type === 'UpdateUser') {
    const { username: requestedUsername, ...rest } = data;
    const update = { ...rest, username, ...(typeof requestedUsername === 'string' && { requestedUsername }) };
    return { type, data: update };
  }
  return { type, data: { ...data, username } } as UserCommand;
}

/**
 * Personal data (names, email, phone, the password hash) is stored encrypted under the user's id
 * as its subject: erasing that subject when the user is deleted makes it unreadable everywhere.
 */
function toUserStreamEvents(events: readonly UserEvent[]): NewEvent[] {
  return events.map((event) => {
    const data = event.data as unknown as Readonly<Record<string, unknown>>;
    const fields = personalFields.filter((f) => Object.hasOwn(data, f));
    return {
      type: event.type,
      data: event.data,
      ...(fields.length > 0 && { personalData: { subjectId: event.data.userId, fields } }),
    };
  });
}

/** The route of every user command: one User aggregate per `user-<username>` stream. */
export const userCommandRoute: CommandRoute<UserCommand, UserEvent, UserState> = {
  decider: userDecider,
  toCommand: toUserCommand,
  toStreamEvents: toUserStreamEvents,
  // No snapshots: they would hold personal data in clear, and a user's stream stays short.
  snapshot: false,
};

/** The identity context's routes by command type, for `createCommandHandler`. */
export const identityCommandRoutes: CommandRoutes = Object.fromEntries(
  Object.keys(userCommandSchemas).map((type) => [type, userCommandRoute]),
);
