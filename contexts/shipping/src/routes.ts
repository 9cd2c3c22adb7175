// The shipping context's command routes. Creating a shipment reads its order (it must be paid; the
// address defaults to the order's); marking it shipped or delivered appends the order's
// OrderShipped / OrderDelivered with the shipment's event, in one atomic append.
import type { ErrorCode } from '@optic-mart/platform';
import {
  DomainError,
  aggregateStep,
  commandValidator,
  streamIds,
  type AggregateLoad,
  type AggregateStep,
  type CommandInput,
  type CommandRoute,
  type CommandRoutes,
  type MultiStreamRoute,
} from '@optic-mart/runtime';
import { idSchema } from '@optic-mart/catalog';
import {
  OrderId,
  orderLoad,
  orderStep,
  orderStreamId,
  shippingAddressSchema,
  type OrderState,
  type ShippingAddress,
} from '@optic-mart/ordering';
import {
  shipmentDecider,
  shipmentErrorCodes,
  trackingNumberFor,
  type ShipmentCommand,
  type ShipmentCommandType,
  type ShipmentEvent,
  type ShipmentState,
} from './domain/shipment.js';

// Every code the decider throws must be a line of the platform's error table.
const _shipmentErrorCodes: readonly ErrorCode[] = shipmentErrorCodes;

const shipmentStreams = streamIds({
  name: 'a shipment',
  prefix: 'shipment-',
  idName: 'orderId',
  id: idSchema,
  brand: OrderId,
});

/** The stream of an order's shipment: `shipment-<orderId>`. */
export const shipmentStreamId = shipmentStreams.streamId;

/** The order id of a shipment stream id, or null when it is not one. */
export const shipmentOrderIdOf = shipmentStreams.idOf;

/** Snapshots of shipments: bump schemaVersion when ShipmentState's shape changes. */
export const shipmentSnapshot = { type: 'shipment', schemaVersion: 1 } as const;

const orderIdProperty = { orderId: idSchema } as const;
const reasonSchema = { type: 'string', minLength: 1, maxLength: 100, pattern: '^[a-z][a-z0-9_]*$' } as const;

/** The data schema of each shipment command (the order id is the stream's; `orderId`, when given, must match). */
export const shipmentCommandSchemas = {
  CreateShipment: {
    type: 'object',
    additionalProperties: false,
    properties: { ...orderIdProperty, address: shippingAddressSchema },
  },
  MarkShipmentShipped: { type: 'object', additionalProperties: false, properties: orderIdProperty },
  MarkShipmentDelivered: { type: 'object', additionalProperties: false, properties: orderIdProperty },
  CancelShipment: {
    type: 'object',
    additionalProperties: false,
    properties: { ...orderIdProperty, reason: { ...reasonSchema, default: 'cancelled' } },
  },
} as const satisfies Record<ShipmentCommandType, object>;

const shipmentCommands = commandValidator<ShipmentCommandType>(shipmentCommandSchemas, { useDefaults: true });

function parse<Data>(command: CommandInput, type: ShipmentCommandType): { orderId: OrderId; data: Data } {
  const orderId = shipmentStreams.requireIdOf(command.aggregateId);
  const { data } = shipmentCommands.check<Data>(type, command.data ?? {});
  const named = (data as { orderId?: string }).orderId;
  if (named !== undefined && named !== orderId) {
    throw new DomainError(
      'validation_failed',
      `Invalid ${type}: orderId ${named} is not the stream's ${orderId}.`,
    );
  }
  return { orderId, data };
}

const shipmentLoad = (streamId: string): AggregateLoad => ({
  streamId,
  decider: shipmentDecider,
  snapshot: shipmentSnapshot,
});

const shipmentStep = (streamId: string, command: ShipmentCommand): AggregateStep =>
  aggregateStep({ streamId, decider: shipmentDecider, command, snapshot: shipmentSnapshot });

/**
 * CreateShipment {orderId, address?}: ShipmentCreated {trackingNumber} for a paid (or approved)
 * order, to `address` or else the order's shipping address; refused with shipping_unavailable
 * (422) when the shop does not ship to its country. Creating it again is a no-op.
 */
export const createShipmentRoute: MultiStreamRoute = {
  kind: 'multi',
  reads(command) {
    const { orderId } = parse(command, 'CreateShipment');
    return [shipmentLoad(command.aggregateId), orderLoad(orderStreamId(orderId))];
  },
  steps(command, loaded) {
    const { orderId, data } = parse<{ address?: ShippingAddress }>(command, 'CreateShipment');
    const order = loaded.get(orderStreamId(orderId))?.state as OrderState | undefined;
    if (!order || order.kind !== 'order')
      throw new DomainError('order_not_found', `There is no order ${orderId}.`);
    const shipment = loaded.get(command.aggregateId)?.state as ShipmentState | undefined;
    if (shipment?.kind !== 'shipment' && order.status !== 'paid' && order.status !== 'approved') {
      throw new DomainError(
        'invalid_status_transition',
        `order ${orderId} is ${order.status}; a shipment is created for a paid order`,
        { from: order.status, to: 'shipment' },
      );
    }
    const address = data.address ?? order.shippingAddress;
    if (!address) {
      throw new DomainError(
        'validation_failed',
        `order ${orderId} has no shipping address; name one (address)`,
      );
    }
    return [
      shipmentStep(command.aggregateId, {
        type: 'CreateShipment',
        data: {
          orderId,
          userId: order.userId,
          address,
          trackingNumber: trackingNumberFor(orderId, address.country),
        },
      }),
    ];
  },
};

/** MarkShipmentShipped: ShipmentShipped + the order's OrderShipped {trackingNumber}, atomically. */
export const markShipmentShippedRoute: MultiStreamRoute = {
  kind: 'multi',
  reads(command) {
    parse(command, 'MarkShipmentShipped');
    return [shipmentLoad(command.aggregateId)];
  },
  steps(command, loaded) {
    const { orderId } = parse(command, 'MarkShipmentShipped');
    const shipment = loaded.get(command.aggregateId)?.state as ShipmentState | undefined;
    const own = shipmentStep(command.aggregateId, { type: 'MarkShipmentShipped', data: { orderId } });
    // A shipment that is not created takes only its own step, whose decider says why not.
    if (shipment?.kind !== 'shipment' || shipment.status !== 'created') return [own];
    return [
      own,
      orderStep(orderStreamId(orderId), {
        type: 'MarkOrderShipped',
        data: { orderId, trackingNumber: shipment.trackingNumber },
      }),
    ];
  },
};

/** MarkShipmentDelivered: ShipmentDelivered + the order's OrderDelivered, atomically (delivery completes the order). */
export const markShipmentDeliveredRoute: MultiStreamRoute = {
  kind: 'multi',
  reads(command) {
    parse(command, 'MarkShipmentDelivered');
    return [shipmentLoad(command.aggregateId)];
  },
  steps(command, loaded) {
    const { orderId } = parse(command, 'MarkShipmentDelivered');
    const shipment = loaded.get(command.aggregateId)?.state as ShipmentState | undefined;
    const own = shipmentStep(command.aggregateId, { type: 'MarkShipmentDelivered', data: { orderId } });
    if (shipment?.kind !== 'shipment' || shipment.status !== 'shipped') return [own];
    return [
      own,
      orderStep(orderStreamId(orderId), { type: 'DeliverOrder', data: { orderId, byShipment: true } }),
    ];
  },
};

/** CancelShipment {reason?}: ShipmentCancelled (compensation; none, or cancelled already, is a no-op). */
export const cancelShipmentRoute: CommandRoute<ShipmentCommand, ShipmentEvent, ShipmentState> = {
  decider: shipmentDecider,
  toCommand(command) {
    const { orderId, data } = parse<{ reason: string }>(command, 'CancelShipment');
    return { type: 'CancelShipment', data: { orderId, reason: data.reason } };
  },
  snapshot: shipmentSnapshot,
};

/** The shipping context's routes by command type, for `createCommandHandler`. */
export const shippingCommandRoutes: CommandRoutes = {
  CreateShipment: createShipmentRoute,
  MarkShipmentShipped: markShipmentShippedRoute,
  MarkShipmentDelivered: markShipmentDeliveredRoute,
  CancelShipment: cancelShipmentRoute,
};
