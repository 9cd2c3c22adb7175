// The HTTP bodies of the inventory's commands, as JSON Schemas (the gateway validates with them;
// the worker checks commands from other producers with the same ones).
import { idSchema, type JsonSchema } from '@optic-mart/catalog';
import { MAX_ON_HAND, type StockCommandType } from './domain/stock.js';

/** How many units one restock adds (1 to a million). */
export const MAX_RESTOCK = 1_000_000;

export const restockSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['quantity'],
  properties: { quantity: { type: 'integer', minimum: 1, maximum: MAX_RESTOCK } },
} as const;

const reservationSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['orderId', 'quantity'],
  properties: { orderId: idSchema, quantity: { type: 'integer', minimum: 1, maximum: MAX_ON_HAND } },
} as const;

const orderOfSkuSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['orderId'],
  properties: { orderId: idSchema },
} as const;

/** The data schema of each stock command, by command type (the SKU is the stream's). */
export const stockCommandSchemas = {
  Restock: restockSchema,
  ReserveStock: reservationSchema,
  ReleaseStock: orderOfSkuSchema,
  CommitStock: orderOfSkuSchema,
} as const satisfies Record<StockCommandType, JsonSchema>;
