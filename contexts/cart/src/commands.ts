// The data of the cart context's commands, as JSON Schemas: the gateway validates request bodies
// with them, and the worker checks commands from other producers with the same ones.
import { idSchema, skuSchema } from '@optic-mart/catalog';
import {
  MAX_SUPPLY_QUANTITY,
  petLineSchema,
  shippingAddressSchema,
  supplyLineSchema,
} from '@optic-mart/ordering';

/** POST /api/cart/items: `{ sku, quantity }` or `{ petId }`. */
export const addCartItemSchema = { oneOf: [supplyLineSchema, petLineSchema] } as const;

/** PUT /api/cart/items/{key}: the item's new quantity. */
export const changeCartItemSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['quantity'],
  properties: { quantity: { type: 'integer', minimum: 1, maximum: MAX_SUPPLY_QUANTITY } },
} as const;

/** An item's key: its SKU, or `pet-<petId>`. */
export const cartItemKeySchema = {
  type: 'string',
  minLength: 2,
  maxLength: idSchema.maxLength + 4,
  pattern: `^(?:pet-[A-Za-z0-9][A-Za-z0-9_-]*|${skuSchema.pattern.slice(1, -1)})$`,
} as const;

/** RemoveCartItem's data. */
export const removeCartItemSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['key'],
  properties: { key: cartItemKeySchema },
} as const;

/** POST /api/cart/checkout: where the order goes. */
export const checkoutBodySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['shippingAddress'],
  properties: { shippingAddress: shippingAddressSchema },
} as const;

/**
 * CheckOut's command data: the new order's id, where it goes, and the SKUs in the cart as the
 * sender saw it (their products' current prices are read to re-check the cart's).
 */
export const checkOutSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['orderId', 'shippingAddress', 'skus'],
  properties: {
    orderId: idSchema,
    shippingAddress: shippingAddressSchema,
    skus: { type: 'array', maxItems: 100, uniqueItems: true, items: skuSchema },
  },
} as const;

const emptySchema = { type: 'object', additionalProperties: false, properties: {} } as const;

/** The data schema of each cart command as sent on the queue (the user is the stream's). */
export const cartCommandSchemas = {
  AddCartItem: addCartItemSchema,
  ChangeCartItem: {
    ...changeCartItemSchema,
    required: ['key', 'quantity'],
    properties: { ...changeCartItemSchema.properties, key: cartItemKeySchema },
  },
  RemoveCartItem: removeCartItemSchema,
  ClearCart: emptySchema,
  CheckOut: checkOutSchema,
} as const;

/** A body of POST /api/cart/items. */
export type AddCartItemBody = { petId: string; quantity?: 1 } | { sku: string; quantity: number };
