// The Swagger Petstore contract (contracts/petstore3-openapi.yaml), loaded once: its component
// schemas as the JSON Schemas the /api/v3 routes validate requests with, tightened where the
// document is loose, and a validator of responses against the document itself (for tests).
//
// Tightening (the contract sets no bounds at all): strings and arrays are bounded; int64 ids are
// integers from 0 to Number.MAX_SAFE_INTEGER (JSON numbers are exact only that far; 0 is what
// generated clients send for "no id"); int32 fields stay within int32; a pet's and a label's name
// is 1 to 100 characters; photoUrls are http(s) URLs or the path of a photo stored here; and
// unknown properties are REFUSED (additionalProperties: false), not ignored: a client written
// against this contract never sends any, so one is a typo or a probe, and dropping it silently
// would let `{"staus": "sold"}` succeed and change nothing.
import { readFileSync } from 'node:fs';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsPlugin from 'ajv-formats';
import { parse } from 'yaml';
import { MAX_PET_PHOTOS, nameSchema, photoUrlSchema, type JsonSchema } from '@optic-mart/catalog';

// ajv-formats is CommonJS; its default export arrives wrapped under ESM interop.
const addFormats = addFormatsPlugin as unknown as (ajv: Ajv) => Ajv;

/** The contract as served at /api/v3/openapi.yaml, byte for byte. */
export const petstoreContractText: string = readFileSync(
  new URL('../../../../contracts/petstore3-openapi.yaml', import.meta.url),
  'utf8',
);

/** A schema of the OpenAPI document (JSON Schema plus `xml`, `example`, `$ref` …). */
export interface OpenApiSchema {
  readonly type?: string;
  readonly format?: string;
  readonly enum?: readonly unknown[];
  readonly required?: readonly string[];
  readonly properties?: Readonly<Record<string, OpenApiSchema>>;
  readonly items?: OpenApiSchema;
  readonly additionalProperties?: boolean | OpenApiSchema;
  readonly xml?: { readonly name?: string; readonly wrapped?: boolean };
  readonly $ref?: string;
  readonly [keyword: string]: unknown;
}

interface MediaType {
  readonly schema?: OpenApiSchema;
}
interface ResponseSpec {
  readonly description?: string;
  readonly content?: Readonly<Record<string, MediaType>>;
}
interface OperationSpec {
  readonly operationId: string;
  readonly parameters?: readonly { name: string; in: string; required?: boolean; schema?: OpenApiSchema }[];
  readonly requestBody?: {
    readonly content: Readonly<Record<string, MediaType>>;
    readonly required?: boolean;
  };
  readonly responses: Readonly<Record<string, ResponseSpec>>;
}
interface OpenApiDocument {
  readonly openapi: string;
  readonly paths: Readonly<Record<string, Readonly<Record<string, OperationSpec>>>>;
  readonly components: { readonly schemas: Readonly<Record<string, OpenApiSchema>> };
}

/** The contract, parsed. */
export const petstoreContract = parse(petstoreContractText) as OpenApiDocument;

export const componentNames = ['Pet', 'Category', 'Tag', 'Order', 'User', 'ApiResponse'] as const;
export type ComponentName = (typeof componentNames)[number];

/** One operation of the contract, with the method and the path (relative to /api/v3) it lives at. */
export interface PetstoreOperation extends OperationSpec {
  readonly method: string;
  readonly path: string;
}

/** Every operation of the contract, by operationId. */
export const petstoreOperations: ReadonlyMap<string, PetstoreOperation> = new Map(
  Object.entries(petstoreContract.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]): [string, PetstoreOperation] => [
      op.operationId,
      { ...op, method: method.toUpperCase(), path },
    ]),
  ),
);

/** The operation `operationId`; throws for one the contract does not have (a typo in a route). */
export function petstoreOperation(operationId: string): PetstoreOperation {
  const op = petstoreOperations.get(operationId);
  if (op === undefined) throw new Error(`the Petstore contract has no operation ${operationId}`);
  return op;
}

const REF_PREFIX = '#/components/schemas/';

/** The component a `$ref` names, or the schema itself when it is not a reference. */
export function resolveSchema(schema: OpenApiSchema): OpenApiSchema {
  if (schema.$ref === undefined) return schema;
  const name = schema.$ref.slice(REF_PREFIX.length);
  const target = petstoreContract.components.schemas[name];
  if (!schema.$ref.startsWith(REF_PREFIX) || target === undefined) {
    throw new Error(`unresolvable $ref ${schema.$ref} in the Petstore contract`);
  }
  return target;
}

/** The component name a `$ref` names, if it is one. */
export function refName(schema: OpenApiSchema): string | undefined {
  return schema.$ref?.startsWith(REF_PREFIX) ? schema.$ref.slice(REF_PREFIX.length) : undefined;
}

/** A component schema as the document has it (with its `xml` names), for XML reading and writing. */
export function componentSchema(name: ComponentName): OpenApiSchema {
  return resolveSchema({ $ref: REF_PREFIX + name });
}

// ---- Request schemas: the components, resolved and tightened --------------------------------

const INT32 = { minimum: -(2 ** 31), maximum: 2 ** 31 - 1 } as const;
const MAX_STRING = 1000;
const MAX_ITEMS = 100;

/** Path ids (petId, orderId): positive int64 integers JSON can carry exactly. */
export const petstoreIdParam = { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER } as const;

const labelSchema = (description: string): JsonSchema => ({
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  description,
  properties: {
    id: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
    name: nameSchema,
  },
});

// Where a field needs more than the generic bounds, keyed `Component.property`.
const overlays: Readonly<Record<string, JsonSchema>> = {
  'Pet.id': {
    type: 'integer',
    minimum: 0,
    maximum: Number.MAX_SAFE_INTEGER,
    description: 'addPet: the id to create the pet under (omitted or 0: the server picks one)',
  },
  'Pet.name': nameSchema,
  'Pet.photoUrls': {
    type: 'array',
    maxItems: MAX_PET_PHOTOS,
    items: photoUrlSchema,
    description: 'http(s) URLs, or /api/photos/{id} of a photo uploaded here',
  },
  'Pet.tags': { type: 'array', maxItems: 50, items: labelSchema('a tag') },
  'Pet.category': labelSchema('a category'),
  'Order.petId': { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER },
  'Order.quantity': { type: 'integer', minimum: 1, maximum: 1000 },
  'Order.shipDate': { type: 'string', format: 'date-time', maxLength: 64 },
  'User.username': { type: 'string', minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$' },
  'User.firstName': { type: 'string', maxLength: 100 },
  'User.lastName': { type: 'string', maxLength: 100 },
  'User.email': { type: 'string', format: 'email', maxLength: 254 },
  'User.password': { type: 'string', minLength: 1, maxLength: 128 },
  'User.phone': { type: 'string', maxLength: 32, pattern: '^[0-9+() ./-]*$' },
  'User.userStatus': { type: 'integer', minimum: 0, maximum: INT32.maximum },
};

function tighten(schema: OpenApiSchema, where: string): JsonSchema {
  const name = refName(schema);
  if (name !== undefined) return tightenComponent(name);
  switch (schema.type) {
    case 'object': {
      const properties = Object.entries(schema.properties ?? {});
      return {
        type: 'object',
        additionalProperties: false,
        ...(schema.required ? { required: [...schema.required] } : {}),
        properties: Object.fromEntries(
          properties.map(([key, value]) => [
            key,
            overlays[`${where}.${key}`] ?? tighten(value, `${where}.${key}`),
          ]),
        ),
      };
    }
    case 'array':
      return { type: 'array', maxItems: MAX_ITEMS, items: tighten(schema.items ?? {}, `${where}[]`) };
    case 'integer':
      return schema.format === 'int32'
        ? { type: 'integer', ...INT32 }
        : { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER };
    case 'string':
      return {
        type: 'string',
        maxLength: MAX_STRING,
        ...(schema.enum ? { enum: [...schema.enum] } : {}),
        ...(schema.format === 'date-time' ? { format: 'date-time' } : {}),
      };
    case 'boolean':
      return { type: 'boolean' };
    default:
      throw new Error(`no tightening for ${where} (${String(schema.type)})`);
  }
}

function tightenComponent(name: string): JsonSchema {
  return tighten(resolveSchema({ $ref: REF_PREFIX + name }), name);
}

/**
 * The contract's component schemas as JSON Schemas for Fastify's (Ajv's) request validation:
 * references resolved inline, OpenAPI-only keywords dropped, tightened as this file's header says.
 */
export const petstoreSchemas: Readonly<Record<ComponentName, JsonSchema>> = Object.fromEntries(
  componentNames.map((name) => [name, tightenComponent(name)]),
) as Record<ComponentName, JsonSchema>;

// ---- Response validation against the document, as written ----------------------------------

/** What a response must be, by the contract: its status is listed (or `default`), its body fits. */
export interface ResponseToCheck {
  readonly operationId: string;
  readonly status: number;
  /** The Content-Type header (parameters such as charset are ignored). */
  readonly contentType: string | null;
  /** The body, parsed (JSON, or XML read by the response schema); undefined when empty. */
  readonly body: unknown;
}

/** Problems with a response; empty when it matches the contract. */
export type ResponseValidator = (response: ResponseToCheck) => string[];

/** The schema the contract gives a response, if any: for XML parsing in tests. */
export function responseSchema(operationId: string, status: number, mediaType: string): OpenApiSchema | null {
  const op = petstoreOperation(operationId);
  const spec = op.responses[String(status)] ?? op.responses.default;
  return spec?.content?.[mediaType]?.schema ?? null;
}

/**
 * A validator of responses against the contract document itself (not the tightened schemas):
 * Ajv over the document's own schemas, `$ref`s and all, so a response that fits is one any client
 * generated from the contract can read.
 */
export function createResponseValidator(): ResponseValidator {
  const ajv = new Ajv({ allErrors: true, strict: false, validateFormats: true });
  addFormats(ajv);
  const rewrite = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(rewrite);
    if (typeof value !== 'object' || value === null) return value;
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [
        k,
        k === '$ref' && typeof v === 'string' ? v.replace(REF_PREFIX, 'petstore#/definitions/') : rewrite(v),
      ]),
    );
  };
  ajv.addSchema({ $id: 'petstore', definitions: rewrite(petstoreContract.components.schemas) });
  const compiled = new Map<string, ValidateFunction>();

  return ({ operationId, status, contentType, body }) => {
    const op = petstoreOperations.get(operationId);
    if (op === undefined) return [`the contract has no operation ${operationId}`];
    const spec = op.responses[String(status)] ?? op.responses.default;
    if (spec === undefined) return [`${operationId} does not list status ${status}`];
    // No content listed (errors, deletions): the contract says nothing about the body.
    if (spec.content === undefined) return [];
    const mediaType = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
    const media = spec.content[mediaType];
    if (media === undefined) {
      return [
        `${operationId} ${status}: content type ${mediaType || '(none)'} is not one of ${Object.keys(spec.content).join(', ')}`,
      ];
    }
    if (media.schema === undefined) return [];
    const key = `${operationId} ${status} ${mediaType}`;
    let validate = compiled.get(key);
    if (validate === undefined) {
      validate = ajv.compile(rewrite(media.schema) as object);
      compiled.set(key, validate);
    }
    if (validate(body)) return [];
    return (validate.errors ?? []).map(
      (e) => `${key}: ${e.instancePath || '(body)'} ${e.message ?? e.keyword}`,
    );
  };
}
