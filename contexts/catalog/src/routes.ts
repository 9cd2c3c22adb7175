// The catalog's command routes for the runtime's command handler.
import type { ErrorCode } from '@optic-mart/platform';
import {
  commandValidator,
  streamIds,
  type CommandInput,
  type CommandRoute,
  type CommandRoutes,
} from '@optic-mart/runtime';
import { idSchema, petCommandSchemas } from './commands.js';
import { productCommandRoutes } from './product-routes.js';
import { PetId } from './domain/ids.js';
import {
  petDecider,
  petErrorCodes,
  type PetCommand,
  type PetCommandType,
  type PetEvent,
  type PetState,
} from './domain/pet.js';

// Every code the decider throws must be a line of the platform's error table (checked here,
// outside the domain, which may not import the platform).
const _petErrorCodes: readonly ErrorCode[] = petErrorCodes;

const petStreams = streamIds({ name: 'a pet', prefix: 'pet-', idName: 'id', id: idSchema, brand: PetId });

/** The stream of a pet: `pet-<id>`. */
export const petStreamId = petStreams.streamId;

/** The pet id of a pet stream id, or null when it is not one. */
export const petIdOf = petStreams.idOf;

const petCommands = commandValidator<PetCommandType>(petCommandSchemas, {
  formats: true,
  unknownType: 'a pet command',
});

function toPetCommand(command: CommandInput): PetCommand {
  const petId = petStreams.requireIdOf(command.aggregateId);
  const { type, data } = petCommands.check<object>(command.type, command.data);
  return { type, data: { ...data, petId } } as PetCommand;
}

/** The route of every pet command: one Pet aggregate per `pet-<id>` stream. */
export const petCommandRoute: CommandRoute<PetCommand, PetEvent, PetState> = {
  decider: petDecider,
  toCommand: toPetCommand,
  // Bump schemaVersion when PetState's shape changes, so older snapshots are ignored.
  snapshot: { type: 'pet', schemaVersion: 1 },
};

/** The catalog's routes by command type, for `createCommandHandler`. */
export const catalogCommandRoutes: CommandRoutes = {
  ...Object.fromEntries(Object.keys(petCommandSchemas).map((type) => [type, petCommandRoute])),
  // Supplies and their reviews (product-routes.ts).
  ...productCommandRoutes,
};
