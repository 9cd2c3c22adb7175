// The data of the ordering context's commands, as JSON Schemas: the gateway validates request
// bodies with them, and the worker checks commands from other producers with the same ones.
import { idSchema, skuSchema, type JsonSchema } from '@optic-mart/catalog';
import {
  MAX_ORDER_LINES,
  MAX_SUPPLY_QUANTITY,
  orderStatuses,
  type OrderCommandType,
} from './domain/order.js';

/** A shipping address: country as ISO 3166 alpha-2 (two capital letters). */
export const shippingAddressSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'line1', 'city', 'postalCode', 'country'],
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 200 },
    line1: { type: 'string', minLength: 1, maxLength: 200 },
    city: { type: 'string', minLength: 1, maxLength: 100 },
    postalCode: { type: 'string', minLength: 1, maxLength: 20, pattern: '^[A-Za-z0-9][A-Za-z0-9 -]*$' },
    country: { type: 'string', minLength: 2, maxLength: 2, pattern: '^[A-Z]{2}$' },
  },
} as const;

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

/** PlaceOrder's command data: the body, and where it comes from (a checkout's is CheckOut's). */
export const placeOrderCommandSchema = {
  ...placeOrderSchema,
  properties: {
    ...placeOrderSchema.properties,
    source: { type: 'string', enum: ['petstore', 'api'], default: 'api' },
  },
} as const;

const emptySchema = { type: 'object', additionalProperties: false, properties: {} } as const;

/** A reason code, e.g. `payment_declined`. */
const reasonSchema = { type: 'string', minLength: 1, maxLength: 100, pattern: '^[a-z][a-z0-9_]*$' } as const;

/**
 * CancelOrder's data: the gateway says whether the caller is staff (seller or admin); the saga
 * sends `{ asStaff: true, reason }`.
 */
export const cancelOrderSchema = {
  type: 'object',
  additionalProperties: false,
  properties: { asStaff: { type: 'boolean', default: false }, reason: reasonSchema },
} as const;

/** MarkOrderPaid's data: the payment that paid it. */
export const markOrderPaidSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['paymentId'],
  properties: { paymentId: { type: 'string', minLength: 1, maxLength: 200 } },
} as const;

/** MarkOrderShipped's data: the shipment's tracking number. */
export const markOrderShippedSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['trackingNumber'],
  properties: { trackingNumber: { type: 'string', minLength: 1, maxLength: 100 } },
} as const;

/** The data schema of each order command, by command type (the order id is the stream's). */
export const orderCommandSchemas = {
  PlaceOrder: placeOrderCommandSchema,
  MarkOrderPaid: markOrderPaidSchema,
  ApproveOrder: emptySchema,
  MarkOrderShipped: markOrderShippedSchema,
  DeliverOrder: emptySchema,
  CancelOrder: cancelOrderSchema,
} as const satisfies Record<OrderCommandType, JsonSchema>;

/** A line as a client sends it. */
export type OrderLineBody = { petId: string; quantity?: 1 } | { sku: string; quantity: number };

export interface PlaceOrderBody {
  readonly lines: readonly OrderLineBody[];
  readonly shipDate?: string;
}
