// The HTTP bodies of the product and review commands, as JSON Schemas (commands.ts has the pets'):
// the gateway validates requests with them and the worker checks commands with the same ones.
// Unknown properties are refused, never dropped.
import type { JsonSchema } from './commands.js';
import { currencies, type ProductCommandType, type ProductInput } from './domain/product.js';
import { MAX_RATING, MAX_REVIEW_TEXT_LENGTH, MIN_RATING, type ReviewCommandType } from './domain/review.js';

/** A SKU: capitals, digits and dashes, 2 to 40 characters; the stream is `product-<sku>`. */
export const skuSchema = {
  type: 'string',
  minLength: 2,
  maxLength: 40,
  pattern: '^[A-Z0-9][A-Z0-9-]{1,39}$',
} as const;

/** A user id as the identity context mints them: a positive integer, as text. */
export const userIdSchema = {
  type: 'string',
  minLength: 1,
  maxLength: 16,
  pattern: '^[1-9][0-9]{0,15}$',
} as const;

/** A billion cents is ten million in the currency: far beyond any supply, and exact in a double. */
export const MAX_PRICE_CENTS = 1_000_000_000;

const labelSchema = { type: 'string', minLength: 1, maxLength: 50, pattern: '\\S' } as const;

const productProperties = {
  name: { type: 'string', minLength: 1, maxLength: 100, pattern: '\\S' },
  description: { type: 'string', maxLength: 2000 },
  priceCents: { type: 'integer', minimum: 0, maximum: MAX_PRICE_CENTS },
  currency: { type: 'string', enum: currencies },
  category: labelSchema,
  tags: { type: 'array', maxItems: 20, items: labelSchema },
} as const;

/** CreateProduct's and UpdateProduct's data: the SKU is the stream's (`product-<sku>`). */
export const productBodySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'priceCents'],
  description:
    'Replaces every field on update (omitted description: empty, category: none, tags: none); an omitted currency is USD on create and unchanged on update.',
  properties: productProperties,
} as const;

/** `POST /api/products`: the product with its SKU, which the seller chooses. */
export const createProductRequestSchema = {
  ...productBodySchema,
  required: ['sku', ...productBodySchema.required],
  properties: { sku: skuSchema, ...productProperties },
} as const;

const emptySchema = { type: 'object', additionalProperties: false, properties: {} } as const;

export const reviewBodySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['rating'],
  properties: {
    rating: { type: 'integer', minimum: MIN_RATING, maximum: MAX_RATING },
    text: { type: 'string', maxLength: MAX_REVIEW_TEXT_LENGTH, default: '' },
  },
} as const;

/** The data schema of each product command, by command type. */
export const productCommandSchemas = {
  CreateProduct: productBodySchema,
  UpdateProduct: productBodySchema,
  DiscontinueProduct: emptySchema,
} as const satisfies Record<ProductCommandType, JsonSchema>;

/** The data schema of each review command, by command type. */
export const reviewCommandSchemas = {
  CreateReview: reviewBodySchema,
  UpdateReview: reviewBodySchema,
  DeleteReview: emptySchema,
} as const satisfies Record<ReviewCommandType, JsonSchema>;

/** The body of CreateProduct and UpdateProduct. */
export type ProductBody = Omit<ProductInput, 'sku'>;
/** The body of CreateReview and UpdateReview. */
export interface ReviewBody {
  readonly rating: number;
  readonly text?: string;
}
