// The public surface of @optic-mart/shipping: an order's shipment (`shipment-<orderId>`).
export {
  SHIPPING_COUNTRIES,
  shipmentDecider,
  shipmentErrorCodes,
  shipmentStatuses,
  shipsTo,
  trackingNumberFor,
} from './domain/shipment.js';
export type {
  Shipment,
  ShipmentCommand,
  ShipmentCommandType,
  ShipmentErrorCode,
  ShipmentEvent,
  ShipmentEventType,
  ShipmentRef,
  ShipmentState,
  ShipmentStatus,
} from './domain/shipment.js';
export {
  cancelShipmentRoute,
  createShipmentRoute,
  markShipmentDeliveredRoute,
  markShipmentShippedRoute,
  shipmentCommandSchemas,
  shipmentOrderIdOf,
  shipmentSnapshot,
  shipmentStreamId,
  shippingCommandRoutes,
} from './routes.js';
export { shipmentsProjection } from './projections/shipments.js';
export type { ShipmentView } from './projections/shipments.js';
