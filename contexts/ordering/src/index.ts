// The public surface of @optic-mart/ordering.
export { OrderId, PetId, Sku, UserId } from './domain/ids.js';
export { add, currencies, money, times, zero } from './domain/money.js';
export type { Currency, Money } from './domain/money.js';
export {
  MAX_ORDER_LINES,
  MAX_SUPPLY_QUANTITY,
  orderDecider,
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
  OrderEventType,
  OrderLine,
  OrderPlacedData,
  OrderRef,
  OrderState,
  OrderStatus,
  PlaceOrderData,
} from './domain/order.js';
export {
  cancelOrderSchema,
  orderCommandSchemas,
  orderLineSchema,
  orderStatusSchema,
  petLineSchema,
  placeOrderSchema,
  supplyLineSchema,
} from './commands.js';
export type { OrderLineBody, PlaceOrderBody } from './commands.js';
export {
  approveOrderRoute,
  cancelOrderRoute,
  deliverOrderRoute,
  orderIdOf,
  orderSnapshot,
  orderStreamId,
  orderingCommandRoutes,
  placeOrderRoute,
} from './routes.js';
export { ordersProjection } from './projections/orders.js';
export type { OrderView } from './projections/orders.js';
