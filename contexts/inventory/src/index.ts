// The public surface of @optic-mart/inventory.
export { MAX_ON_HAND, availableOf, reservedOf, stockDecider, stockErrorCodes } from './domain/stock.js';
export type {
  OrderOfSku,
  Stock,
  StockCommand,
  StockCommandType,
  StockErrorCode,
  StockEvent,
  StockEventType,
  StockReservation,
} from './domain/stock.js';
export { MAX_RESTOCK, restockSchema, stockCommandSchemas } from './commands.js';
export {
  inventoryCommandRoutes,
  skuOfStock,
  stockCommandRoute,
  stockSnapshot,
  stockStreamId,
} from './routes.js';
export { stockProjection } from './projections/stock.js';
export type { StockView } from './projections/stock.js';
