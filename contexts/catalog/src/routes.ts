// The catalog's command routes for the runtime's command handler.
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsPlugin from 'ajv-formats';
import type { ErrorCode } from '@optic-mart/platform';
import { DomainError, type CommandInput, type CommandRoute, type CommandRoutes } from '@optic-mart/runtime';
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

// ajv-formats is CommonJS; its default export arrives wrapped under ESM interop.
const addFormats = addFormatsPlugin as unknown as (ajv: Ajv) => Ajv;

const PET_PREFIX = 'pet-';

/** The stream of a pet: `pet-<id>`. */
export const petStreamId = (id: string): string => PET_PREFIX + id;

const idPattern = new RegExp(idSchema.pattern);

/** The pet id of a pet stream id, or null when it is not one. */
export function petIdOf(streamId: string): PetId | null {
  if (!streamId.startsWith(PET_PREFIX)) return null;
  const id = streamId.slice(PET_PREFIX.length);
  return id.length <= idSchema.maxLength && idPattern.test(id) ? PetId(id) : null;
}

// The gateway validates bodies already; commands also come from sagas and scripts, and an event
// written from a bad one would stay in the store for good.
const ajv = new Ajv({ allErrors: true, strict: true });
addFormats(ajv);
const validators = Object.fromEntries(
  Object.entries(petCommandSchemas).map(([type, schema]) => [type, ajv.compile(schema)]),
) as Record<PetCommandType, ValidateFunction>;

const isPetCommandType = (type: string): type is PetCommandType => Object.hasOwn(petCommandSchemas, type);

function toPetCommand(command: CommandInput): PetCommand {
  const petId = petIdOf(command.aggregateId);
  if (petId === null) {
    throw new DomainError('validation_failed', `${command.aggregateId} is not a pet stream id (pet-<id>)`);
  }
  const { type } = command;
  if (!isPetCommandType(type)) throw new DomainError('bad_request', `${type} is not a pet command`);
  const validate = validators[type];
  if (!validate(command.data)) {
    const problems = (validate.errors ?? []).map(
      (e) => `${e.instancePath || '(body)'} ${e.message ?? e.keyword}`,
    );
    throw new DomainError('validation_failed', `Invalid ${type}: ${problems.join('; ')}.`);
  }
  return { type, data: { ...(command.data as object), petId } } as PetCommand;
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
