// The ordering context's command routes. Placing, approving and cancelling an order decide on the
// order and on each of its pets and stocks, and append all of it in one atomic append (the
// runtime's multi-stream routes): of many orders for one pet, exactly one is placed.
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
  type LoadedAggregate,
  type MultiStreamRoute,
} from '@optic-mart/runtime';
import {
  idSchema,
  petCommandRoute,
  petDecider,
  petStreamId,
  productCommandRoute,
  productDecider,
  productStreamId,
  type ProductState,
} from '@optic-mart/catalog';
import { stockDecider, stockSnapshot, stockStreamId } from '@optic-mart/inventory';
import { orderCommandSchemas, type OrderLineBody } from './commands.js';
import { OrderId, PetId, Sku, UserId } from './domain/ids.js';
import { money } from './domain/money.js';
import {
  cancellableStatuses,
  orderDecider,
  orderErrorCodes,
  type Order,
  type OrderCommand,
  type OrderCommandType,
  type OrderEvent,
  type OrderLine,
  type OrderSource,
  type OrderState,
  type OrderStatus,
  type ShippingAddress,
} from './domain/order.js';

// Every code the decider throws must be a line of the platform's error table.
const _orderErrorCodes: readonly ErrorCode[] = orderErrorCodes;

const orderStreams = streamIds({
  name: 'an order',
  prefix: 'order-',
  idName: 'id',
  id: idSchema,
  brand: OrderId,
});

/** The stream of an order: `order-<id>`. */
export const orderStreamId = orderStreams.streamId;

/** The order id of an order stream id, or null when it is not one. */
export const orderIdOf = orderStreams.idOf;

const orderCommands = commandValidator<OrderCommandType>(orderCommandSchemas, {
  useDefaults: true,
  formats: true,
});

/** The command's order id and checked data. */
function parse<Data>(command: CommandInput, type: OrderCommandType): { orderId: OrderId; data: Data } {
  const orderId = orderStreams.requireIdOf(command.aggregateId);
  const { data } = orderCommands.check<Data>(type, command.data);
  return { orderId, data };
}

/** Who sends the command: orders belong to a user, so there must be one. */
function userOf(command: CommandInput): UserId {
  const { userId } = command.metadata;
  if (typeof userId !== 'string' || userId.length === 0) {
    throw new DomainError('unauthorized', `${command.type} needs the user who sends it`);
  }
  return UserId(userId);
}

/** Snapshots of orders: bump schemaVersion when OrderState's shape changes. */
export const orderSnapshot = { type: 'order', schemaVersion: 2 } as const;

/** Loads an order for another context's multi-stream route (e.g. shipping reads the order). */
export const orderLoad = (streamId: string): AggregateLoad => ({
  streamId,
  decider: orderDecider,
  snapshot: orderSnapshot,
});

/** A step on an order, for another context's multi-stream route (e.g. OrderShipped with its shipment). */
export const orderStep = (streamId: string, command: OrderCommand): AggregateStep =>
  aggregateStep({ streamId, decider: orderDecider, command, snapshot: orderSnapshot });

// Steps on pets and stock use their own contexts' deciders and snapshot settings, so that every
// writer of those streams keeps the same snapshots.
const petStep = (
  petId: PetId,
  orderId: OrderId,
  type: 'ReservePet' | 'ReleasePet' | 'MarkPetSold',
): AggregateStep =>
  aggregateStep({
    streamId: petStreamId(petId),
    decider: petDecider,
    command: { type, data: { petId, orderId } },
    snapshot: petCommandRoute.snapshot ?? false,
  });

const stockStep = (
  sku: Sku,
  orderId: OrderId,
  command: { type: 'ReserveStock'; quantity: number } | { type: 'ReleaseStock' | 'CommitStock' },
): AggregateStep =>
  aggregateStep({
    streamId: stockStreamId(sku),
    decider: stockDecider,
    command:
      command.type === 'ReserveStock'
        ? { type: 'ReserveStock', data: { sku, orderId, quantity: command.quantity } }
        : { type: command.type, data: { sku, orderId } },
    snapshot: stockSnapshot,
  });

/** The steps that follow an order's own: one per pet and one per SKU on it. */
function lineSteps(
  order: Order,
  pet: 'ReleasePet' | 'MarkPetSold',
  stock: 'ReleaseStock' | 'CommitStock',
): AggregateStep[] {
  return order.lines.map((line) =>
    line.kind === 'pet' ? petStep(line.petId, order.id, pet) : stockStep(line.sku, order.id, { type: stock }),
  );
}

interface PlaceOrderInput {
  readonly lines: readonly OrderLineBody[];
  readonly shipDate?: string;
  readonly source: 'petstore' | 'api';
}

const isPetLine = (line: OrderLineBody): line is { petId: string; quantity?: 1 } => 'petId' in line;

function placeOrderInput(command: CommandInput): { orderId: OrderId; input: PlaceOrderInput } {
  const { orderId, data } = parse<PlaceOrderInput>(command, 'PlaceOrder');
  // Each pet and SKU once: they are the streams the order writes to.
  const keys = data.lines.map((l) => (isPetLine(l) ? `pet ${l.petId}` : `SKU ${l.sku}`));
  const twice = keys.find((k, i) => keys.indexOf(k) !== i);
  if (twice) throw new DomainError('validation_failed', `Invalid PlaceOrder: ${twice} is on two lines.`);
  return { orderId, input: data };
}

/** The loads of the products whose current prices a multi-stream command reads. */
export const productReads = (skus: readonly string[]): AggregateLoad[] =>
  skus.map((sku) => ({
    streamId: productStreamId(sku),
    decider: productDecider,
    snapshot: productCommandRoute.snapshot ?? false,
  }));

/**
 * A supply line at the product's current price (it must be among the loaded aggregates); refuses a
 * product that does not exist or is discontinued.
 */
export function priced(
  line: { sku: string; quantity: number },
  loaded: ReadonlyMap<string, LoadedAggregate>,
): OrderLine {
  const sku = Sku(line.sku);
  const product = loaded.get(productStreamId(sku))?.state as ProductState | undefined;
  if (!product || product.kind === 'none')
    throw new DomainError('product_not_found', `there is no product ${sku}`);
  if (product.kind === 'discontinued') {
    throw new DomainError('product_discontinued', `product ${sku} is discontinued`);
  }
  return {
    kind: 'supply',
    sku,
    quantity: line.quantity,
    unitPrice: money(product.priceCents, product.currency),
  };
}

/**
 * PlaceOrder: OrderPlaced on `order-<id>` + PetReserved on each pet + StockReserved on each SKU,
 * at the unit prices the products have now.
 */
export const placeOrderRoute: MultiStreamRoute = {
  kind: 'multi',
  reads: (command) =>
    productReads(placeOrderInput(command).input.lines.flatMap((line) => (isPetLine(line) ? [] : [line.sku]))),
  steps(command, loaded) {
    const { orderId, input } = placeOrderInput(command);
    const lines: OrderLine[] = input.lines.map((line) =>
      isPetLine(line) ? { kind: 'pet', petId: PetId(line.petId), quantity: 1 } : priced(line, loaded),
    );
    return placeOrderSteps({
      orderId,
      userId: userOf(command),
      lines,
      shipDate: input.shipDate ?? null,
      source: input.source,
      shippingAddress: null,
    });
  },
};

/** What placing an order needs, its supply lines priced already. */
export interface OrderPlacement {
  readonly orderId: OrderId;
  readonly userId: UserId;
  readonly lines: readonly OrderLine[];
  readonly shipDate: string | null;
  readonly source: OrderSource;
  readonly shippingAddress: ShippingAddress | null;
}

/**
 * The steps of placing an order: OrderPlaced on `order-<id>` + PetReserved on each pet +
 * StockReserved on each SKU. PlaceOrder and the cart's CheckOut both append them.
 */
export function placeOrderSteps(placement: OrderPlacement): AggregateStep[] {
  const { orderId, lines } = placement;
  return [
    orderStep(orderStreamId(orderId), { type: 'PlaceOrder', data: placement }),
    ...lines.map((line) =>
      line.kind === 'pet'
        ? petStep(line.petId, orderId, 'ReservePet')
        : stockStep(line.sku, orderId, { type: 'ReserveStock', quantity: line.quantity }),
    ),
  ];
}

/** The loaded order when its status is one of `statuses`, else null. */
const orderIn = (
  command: CommandInput,
  loaded: ReadonlyMap<string, LoadedAggregate>,
  statuses: readonly OrderStatus[],
): Order | null => {
  const state = loaded.get(command.aggregateId)?.state as OrderState | undefined;
  return state?.kind === 'order' && statuses.includes(state.status) ? state : null;
};

/** ApproveOrder: OrderApproved + PetSold on each pet + StockCommitted on each SKU. */
export const approveOrderRoute: MultiStreamRoute = {
  kind: 'multi',
  reads(command) {
    parse(command, 'ApproveOrder'); // a malformed command is refused before anything is loaded
    return [orderLoad(command.aggregateId)];
  },
  steps(command, loaded) {
    const { orderId } = parse(command, 'ApproveOrder');
    const order = orderIn(command, loaded, ['placed', 'paid']);
    // An order that is not placed (or paid) takes only its own step, whose decider says why not.
    return [
      orderStep(command.aggregateId, { type: 'ApproveOrder', data: { orderId } }),
      ...(order ? lineSteps(order, 'MarkPetSold', 'CommitStock') : []),
    ];
  },
};

/**
 * CancelOrder {reason?}: OrderCancelled {reason} + PetReleased on each pet + StockReleased on each
 * SKU, from placed or paid.
 */
export const cancelOrderRoute: MultiStreamRoute = {
  kind: 'multi',
  reads(command) {
    parse(command, 'CancelOrder'); // a malformed command is refused before anything is loaded
    return [orderLoad(command.aggregateId)];
  },
  steps(command, loaded) {
    const { orderId, data } = parse<{ asStaff: boolean; reason?: string }>(command, 'CancelOrder');
    const order = orderIn(command, loaded, cancellableStatuses);
    return [
      orderStep(command.aggregateId, {
        type: 'CancelOrder',
        data: {
          orderId,
          by: userOf(command),
          asStaff: data.asStaff,
          ...(data.reason !== undefined && { reason: data.reason }),
        },
      }),
      ...(order ? lineSteps(order, 'ReleasePet', 'ReleaseStock') : []),
    ];
  },
};

/** DeliverOrder: the order alone. */
export const deliverOrderRoute: CommandRoute<OrderCommand, OrderEvent, OrderState> = {
  decider: orderDecider,
  toCommand(command) {
    const { orderId } = parse(command, 'DeliverOrder');
    return { type: 'DeliverOrder', data: { orderId } };
  },
  snapshot: orderSnapshot,
};

/** MarkOrderPaid {paymentId}: OrderPaid, the order alone (placed → paid; the saga sends it). */
export const markOrderPaidRoute: CommandRoute<OrderCommand, OrderEvent, OrderState> = {
  decider: orderDecider,
  toCommand(command) {
    const { orderId, data } = parse<{ paymentId: string }>(command, 'MarkOrderPaid');
    return { type: 'MarkOrderPaid', data: { orderId, paymentId: data.paymentId } };
  },
  snapshot: orderSnapshot,
};

/**
 * MarkOrderShipped {trackingNumber}: OrderShipped, the order alone (approved → shipped). Shipping's
 * MarkShipmentShipped appends the same with its ShipmentShipped.
 */
export const markOrderShippedRoute: CommandRoute<OrderCommand, OrderEvent, OrderState> = {
  decider: orderDecider,
  toCommand(command) {
    const { orderId, data } = parse<{ trackingNumber: string }>(command, 'MarkOrderShipped');
    return { type: 'MarkOrderShipped', data: { orderId, trackingNumber: data.trackingNumber } };
  },
  snapshot: orderSnapshot,
};

/** The ordering context's routes by command type, for `createCommandHandler`. */
export const orderingCommandRoutes: CommandRoutes = {
  PlaceOrder: placeOrderRoute,
  MarkOrderPaid: markOrderPaidRoute,
  ApproveOrder: approveOrderRoute,
  MarkOrderShipped: markOrderShippedRoute,
  DeliverOrder: deliverOrderRoute,
  CancelOrder: cancelOrderRoute,
};
