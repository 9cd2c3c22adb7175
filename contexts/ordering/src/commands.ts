// The data of the ordering context's commands, as JSON Schemas: the gateway validates request
// bodies with them, and the worker checks commands from other producers with the same ones.
import { idSchema, skuSchema, type JsonSchema } from '@optic-mart/catalog';
import {
  MAX_ORDER_LINES,
  MAX_SUPPLY_QUANTITY,
  orderStatuses,
  type OrderCommandType,
} from './domain/order.js';

export const orderStatusSchema = { type: 'string', enum: orderStatuses } as const;

/** A pet line: one pet (quantity, when given, is 1). */
export const petLineSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['petId'],
  properties: { petId: idSchema, quantity: { type: 'integer', minimum: 1, maximum: 1 } },
} as const;

/** A supply line: a SKU and how many (its price is the product's when the order is placed). */
export const supplyLineSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['sku', 'quantity'],
  properties: { sku: skuSchema, quantity: { type: 'integer', minimum: 1, maximum: MAX_SUPPLY_QUANTITY } },
} as const;

export const orderLineSchema = { oneOf: [petLineSchema, supplyLineSchema] } as const;

export const placeOrderSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['lines'],
  properties: {
    lines: { type: 'array', minItems: 1, maxItems: MAX_ORDER_LINES, items: orderLineSchema },
    shipDate: { type: 'string', format: 'date-time', maxLength: 40 },
  },
} as const;

const emptySchema = { type: 'object', additionalProperties: false, properties: {} } as const;

/** CancelOrder's data: the gateway says whether the caller is staff (seller or admin). */
export const cancelOrderSchema = {
  type: 'object',
  additionalProperties: false,
  properties: { asStaff: { type: 'boolean', default: false } },
} as const;

/** The data schema of each order command, by command type (the order id is the stream's). */
export const orderCommandSchemas = {
  PlaceOrder: placeOrderSchema,
  ApproveOrder: emptySchema,
  DeliverOrder: emptySchema,
  CancelOrder: cancelOrderSchema,
} as const satisfies Record<OrderCommandType, JsonSchema>;

/** A line as a client sends it. */
export type OrderLineBody = { petId: string; quantity?: 1 } | { sku: string; quantity: number };

export interface PlaceOrderBody {
  readonly lines: readonly OrderLineBody[];
  readonly shipDate?: string;
}
