// The HTTP bodies of the catalog's commands, as JSON Schemas: the gateway validates requests with
// them (and documents them in OpenAPI), and the worker checks commands from other producers with
// the same ones. Unknown properties are refused, never dropped.
import { petStatuses, type PetCommandType, type PetInput } from './domain/pet.js';

/** A JSON Schema as Fastify and Ajv take it. */
export type JsonSchema = Readonly<Record<string, unknown>>;

const MAX_NAME_LENGTH = 100;

/** A display name: 1 to 100 characters, not only whitespace. */
export const nameSchema = {
  type: 'string',
  minLength: 1,
  maxLength: MAX_NAME_LENGTH,
  pattern: '\\S',
} as const;

/** Ids of pets and orders in paths and bodies (the stream id `pet-<id>` must stay short and plain). */
export const idSchema = {
  type: 'string',
  minLength: 1,
  maxLength: 100,
  pattern: '^[A-Za-z0-9][A-Za-z0-9_-]*$',
} as const;

// Petstore's category and tag ids are int64; JSON numbers are exact only up to 2^53 - 1.
const labelIdSchema = { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER } as const;

export const categorySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: { id: labelIdSchema, name: nameSchema },
} as const;

export const tagSchema = categorySchema;

/** The path the gateway serves a stored photo at: `/api/photos/<sha-256 in hex>`. */
export const storedPhotoPathPattern = '^/api/photos/[0-9a-f]{64}$';

/**
 * A photo's URL: an http(s) URL, or the path of a photo stored here (relative, so that it stays
 * right behind any host name or proxy). Nothing else: `javascript:` and friends would end up in
 * an <img src>.
 */
export const photoUrlSchema = {
  type: 'string',
  format: 'uri-reference',
  pattern: '^(?:https?://[^\\s]+|/api/photos/[0-9a-f]{64})$',
  maxLength: 2048,
} as const;

/** The image types a stored photo may have (sniffed from its first bytes, never taken from the client). */
export const photoContentTypes = ['image/png', 'image/jpeg', 'image/gif', 'image/webp'] as const;

/** AddPetPhoto: a photo whose bytes the gateway has stored, content-addressed. */
export const addPetPhotoSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['photoId', 'contentType', 'url'],
  properties: {
    photoId: { type: 'string', pattern: '^[0-9a-f]{64}$' },
    contentType: { type: 'string', enum: photoContentTypes },
    url: { type: 'string', pattern: storedPhotoPathPattern },
  },
} as const;

export const petStatusSchema = { type: 'string', enum: petStatuses } as const;

const petDetailsProperties = {
  name: nameSchema,
  category: categorySchema,
  tags: { type: 'array', maxItems: 50, items: tagSchema },
  photoUrls: { type: 'array', maxItems: 20, items: photoUrlSchema },
} as const;

export const createPetSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: {
    ...petDetailsProperties,
    status: {
      ...petStatusSchema,
      default: 'available',
      description: 'available or sold; a pet becomes pending only when an order reserves it',
    },
  },
} as const;

export const updatePetSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  description: 'Replaces name, category, tags and photoUrls (omitted: none); an omitted status is unchanged.',
  properties: {
    ...petDetailsProperties,
    status: {
      ...petStatusSchema,
      description:
        'only available → sold; pending and its end come from orders (ReservePet, ReleasePet, MarkPetSold)',
    },
  },
} as const;

export const deletePetSchema = { type: 'object', additionalProperties: false, properties: {} } as const;

export const orderRefSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['orderId'],
  properties: { orderId: idSchema },
} as const;

/** The body schema of each pet command, by command type. */
export const petCommandSchemas = {
  CreatePet: createPetSchema,
  UpdatePet: updatePetSchema,
  DeletePet: deletePetSchema,
  AddPetPhoto: addPetPhotoSchema,
  ReservePet: orderRefSchema,
  ReleasePet: orderRefSchema,
  MarkPetSold: orderRefSchema,
} as const satisfies Record<PetCommandType, JsonSchema>;

/** The body of CreatePet and UpdatePet. */
export type PetBody = Omit<PetInput, 'petId'>;
/** The body of ReservePet, ReleasePet and MarkPetSold. */
export interface OrderRefBody {
  readonly orderId: string;
}
