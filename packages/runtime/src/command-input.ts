// What every context's command routes do before a decider sees a command: read the aggregate's id
// from the command's stream id (`pet-<id>`, `order-<id>` …) and check the command's data against
// its JSON Schema. Each context did both by hand, with the same messages; they live here once so
// that every context refuses a bad command alike (validation_failed / bad_request DomainErrors,
// never retried). The gateway validates bodies already; commands also come from sagas and
// scripts, and an event written from a bad one would stay in the store for good.
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsPlugin from 'ajv-formats';
import { DomainError } from './decider.js';

// ajv-formats is CommonJS; its default export arrives wrapped under ESM interop.
const addFormats = addFormatsPlugin as unknown as (ajv: Ajv) => Ajv;

/** The parts of an id's JSON Schema a stream id's id is checked against. */
export interface IdSchema {
  readonly pattern: string;
  readonly minLength?: number;
  readonly maxLength?: number;
}

export interface StreamIdsOptions<Id extends string> {
  /** What the stream holds, with its article, as messages name it: `a pet`, `an order` … */
  readonly name: string;
  /** The stream ids' prefix, e.g. `pet-`. */
  readonly prefix: string;
  /** How messages name the id after the prefix: `id`, `sku`, `userId` … */
  readonly idName: string;
  /** The id's schema (its pattern and lengths are checked). */
  readonly id: IdSchema;
  /** Brands a checked id, e.g. `PetId`. Default: the id as it is. */
  readonly brand?: (id: string) => Id;
}

/** A kind of stream, `<prefix><id>`: its stream ids and the ids in them. */
export interface StreamIds<Id extends string> {
  /** The stream of an id (not checked: the id's own schema is the sender's to meet). */
  streamId(this: void, id: string): string;
  /** Whether a string is a valid id (meets the id's schema). */
  isId(this: void, id: string): boolean;
  /** The id of one of these stream ids, or null when it is not one. */
  idOf(this: void, streamId: string): Id | null;
  /** The id of one of these stream ids; a validation_failed DomainError when it is not one. */
  requireIdOf(this: void, streamId: string): Id;
}

/** The stream ids of one kind of stream, e.g. `streamIds({ name: 'a pet', prefix: 'pet-', … })`. */
export function streamIds<Id extends string = string>(options: StreamIdsOptions<Id>): StreamIds<Id> {
  const { name, prefix, idName } = options;
  const brand = options.brand ?? ((id: string) => id as Id);
  const pattern = new RegExp(options.id.pattern);
  const minLength = options.id.minLength ?? 0;
  const maxLength = options.id.maxLength ?? Infinity;
  const isId = (id: string): boolean => id.length >= minLength && id.length <= maxLength && pattern.test(id);
  const idOf = (streamId: string): Id | null => {
    if (!streamId.startsWith(prefix)) return null;
    const id = streamId.slice(prefix.length);
    return isId(id) ? brand(id) : null;
  };
  return {
    streamId: (id) => prefix + id,
    isId,
    idOf,
    requireIdOf(streamId) {
      const id = idOf(streamId);
      if (id === null) {
        throw new DomainError(
          'validation_failed',
          `${streamId} is not ${name} stream id (${prefix}<${idName}>)`,
        );
      }
      return id;
    },
  };
}

export interface CommandValidatorOptions {
  /**
   * Fill in the schemas' defaults. The data is then checked on a copy (the envelope is not ours
   * to change), and the copy is what `check` returns. Default false.
   */
  readonly useDefaults?: boolean;
  /** Know ajv-formats' formats (`email`, `date` …). Default false. */
  readonly formats?: boolean;
  /** How a refusal names a type it does not know: `<type> is not <unknownType>`. Default `a command here`. */
  readonly unknownType?: string;
}

/** A command as `check` reads it: its type and data, the data checked. */
export interface CheckedCommand<Type extends string, Data> {
  readonly type: Type;
  readonly data: Data;
}

/** Checks the data of a context's commands against their schemas. */
export interface CommandValidator<Type extends string> {
  /** Whether a command type is one of these. */
  has(this: void, type: string): type is Type;
  /**
   * The command's type and checked data; a bad_request DomainError for a type it does not know,
   * validation_failed naming every problem (`Invalid <type>: <path> <message>; ….`) for bad data.
   */
  check<Data = unknown>(this: void, type: string, data: unknown): CheckedCommand<Type, Data>;
}

/** Compiles a table of command data schemas by type into one validator. */
export function commandValidator<Type extends string>(
  schemas: Readonly<Record<Type, object>>,
  options: CommandValidatorOptions = {},
): CommandValidator<Type> {
  const useDefaults = options.useDefaults ?? false;
  const ajv = new Ajv({ allErrors: true, strict: true, useDefaults });
  if (options.formats) addFormats(ajv);
  const validators = new Map<string, ValidateFunction>(
    Object.entries<object>(schemas).map(([type, schema]) => [type, ajv.compile(schema)]),
  );
  const unknownType = options.unknownType ?? 'a command here';
  const has = (type: string): type is Type => validators.has(type);
  return {
    has,
    check<Data>(type: string, data: unknown) {
      const validate = validators.get(type);
      if (!validate || !has(type)) throw new DomainError('bad_request', `${type} is not ${unknownType}`);
      const checked = useDefaults ? structuredClone(data) : data;
      if (!validate(checked)) {
        const problems = (validate.errors ?? []).map(
          (e) => `${e.instancePath || '(body)'} ${e.message ?? e.keyword}`,
        );
        throw new DomainError('validation_failed', `Invalid ${type}: ${problems.join('; ')}.`);
      }
      return { type, data: checked as Data };
    },
  };
}
