// The identity context's command routes for the runtime's command handler.
import type { NewEvent } from '@optic-mart/eventstore';
import type { ErrorCode } from '@optic-mart/platform';
import {
  commandValidator,
  streamIds,
  type CommandInput,
  type CommandRoute,
  type CommandRoutes,
} from '@optic-mart/runtime';
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

const userStreams = streamIds({
  name: 'a user',
  prefix: 'user-',
  idName: 'username',
  id: usernameSchema,
  brand: Username,
});

/** The stream of a user: `user-<username>`. */
export const userStreamId = userStreams.streamId;

/** Whether a string is a valid username. */
export const isUsername = userStreams.isId;

/** The username of a user stream id, or null when it is not one. */
export const usernameOf = userStreams.idOf;

const userCommands = commandValidator<UserCommandType>(userCommandSchemas, {
  formats: true,
  unknownType: 'a user command',
});

function toUserCommand(command: CommandInput): UserCommand {
  const username = userStreams.requireIdOf(command.aggregateId);
  // A copy (an absent body reads as an empty one): the envelope is not ours to change.
  const { type, data } = userCommands.check<Record<string, unknown>>(command.type, {
    ...(command.data as object),
  });
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
