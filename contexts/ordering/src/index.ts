// The public surface of @optic-mart/ordering.
export { OrderId, PetId, Sku, UserId } from './domain/ids.js';
export { add, currencies, money, times, zero } from './domain/money.js';
export type { Currency, Money } from './domain/money.js';
export {
  MAX_ORDER_LINES,
  MAX_SUPPLY_QUANTITY,
  cancellableStatuses,
  orderDecider,
  orderSources,
  orderErrorCodes,
  orderStatuses,
} from './domain/order.js';
export type {
  CancelOrderData,
  Order,
  OrderCommand,
  OrderCommandType,
  OrderErrorCode,
  OrderEvent,
  OrderEventRef,
  OrderEventType,
  OrderLine,
  OrderPlacedData,
  OrderRef,
  OrderSource,
  OrderState,
  OrderStatus,
  PlaceOrderData,
  ShippingAddress,
} from './domain/order.js';
export {
  cancelOrderSchema,
  markOrderPaidSchema,
  markOrderShippedSchema,
  orderCommandSchemas,
  orderLineSchema,
  orderStatusSchema,
  petLineSchema,
  placeOrderCommandSchema,
  placeOrderSchema,
  shippingAddressSchema,
  supplyLineSchema,
} from './commands.js';
export type { OrderLineBody, PlaceOrderBody } from './commands.js';
export {
  approveOrderRoute,
  cancelOrderRoute,
  deliverOrderRoute,
  markOrderPaidRoute,
  markOrderShippedRoute,
  orderIdOf,
  orderLoad,
  orderSnapshot,
  orderStep,
  orderStreamId,
  orderingCommandRoutes,
  placeOrderRoute,
  placeOrderSteps,
  priced,
  productReads,
} from './routes.js';
export type { OrderPlacement } from './routes.js';
export { ordersProjection } from './projections/orders.js';
export type { OrderView } from './projections/orders.js';
