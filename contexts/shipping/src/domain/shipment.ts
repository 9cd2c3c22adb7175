// The Shipment aggregate (`shipment-<orderId>`, one per order): created with a tracking number
// once the order is paid — or refused when the shop does not ship to the address's country, which
// is how a shipment fails — then shipped and delivered by a seller or admin (each atomically with
// the order's OrderShipped / OrderDelivered), or cancelled as the saga's compensation.
import { DomainError, type Decider } from '@optic-mart/runtime';
import type { OrderId, ShippingAddress, UserId } from '@optic-mart/ordering';

/** The countries the shop ships to (ISO 3166 alpha-2). Anything else: shipping_unavailable. */
export const SHIPPING_COUNTRIES: readonly string[] = [
  'US',
  'CA',
  'MX',
  'GB',
  'IE',
  'FR',
  'DE',
  'NL',
  'BE',
  'LU',
  'AT',
  'CH',
  'IT',
  'ES',
  'PT',
  'DK',
  'SE',
  'NO',
  'FI',
  'PL',
  'CZ',
  'AU',
  'NZ',
  'JP',
];

/** Whether the shop ships to a country. */
export const shipsTo = (country: string): boolean => SHIPPING_COUNTRIES.includes(country);

/** A shipment's statuses: created → shipped → delivered, created → cancelled. */
export const shipmentStatuses = ['created', 'shipped', 'delivered', 'cancelled'] as const;
/** One of shipmentStatuses. */
export type ShipmentStatus = (typeof shipmentStatuses)[number];

/**
 * An order's tracking number, derived from its id (so a retried creation gives the same one):
 * `OM`, the id on 15 digits, a mod-10 check digit, the country.
 */
export function trackingNumberFor(orderId: string, country: string): string {
  const digits = orderId.replace(/\D/g, '').padStart(15, '0').slice(-15);
  const sum = [...digits].reduce((s, d, i) => s + Number(d) * (i % 2 === 0 ? 3 : 1), 0);
  return `OM${digits}${(10 - (sum % 10)) % 10}${country}`;
}

/** The order a shipment is for, and its user. */
export interface ShipmentRef {
  readonly orderId: OrderId;
  readonly userId: UserId;
}

/** The shipment's commands (CreateShipment and CancelShipment come from the saga). */
export type ShipmentCommand =
  | {
      readonly type: 'CreateShipment';
      readonly data: ShipmentRef & { readonly address: ShippingAddress; readonly trackingNumber: string };
    }
  | { readonly type: 'MarkShipmentShipped'; readonly data: { readonly orderId: OrderId } }
  | { readonly type: 'MarkShipmentDelivered'; readonly data: { readonly orderId: OrderId } }
  | {
      readonly type: 'CancelShipment';
      readonly data: { readonly orderId: OrderId; readonly reason: string };
    };

/** A shipment command's name. */
export type ShipmentCommandType = ShipmentCommand['type'];

/** The shipment's events; each carries `orderId` and `userId`. */
export type ShipmentEvent =
  | {
      readonly type: 'ShipmentCreated';
      readonly data: ShipmentRef & { readonly address: ShippingAddress; readonly trackingNumber: string };
    }
  | { readonly type: 'ShipmentShipped'; readonly data: ShipmentRef & { readonly trackingNumber: string } }
  | { readonly type: 'ShipmentDelivered'; readonly data: ShipmentRef & { readonly trackingNumber: string } }
  | { readonly type: 'ShipmentCancelled'; readonly data: ShipmentRef & { readonly reason: string } };

/** A shipment event's name. */
export type ShipmentEventType = ShipmentEvent['type'];

/** A created shipment. */
export interface Shipment extends ShipmentRef {
  readonly kind: 'shipment';
  readonly address: ShippingAddress;
  readonly trackingNumber: string;
  readonly status: ShipmentStatus;
}

/** No shipment yet, or one. */
export type ShipmentState = { readonly kind: 'none' } | Shipment;

/** Every code the shipment decider throws; each is a line of the platform's error table. */
export const shipmentErrorCodes = [
  'shipment_not_found',
  'shipment_already_exists',
  'shipping_unavailable',
  'invalid_status_transition',
] as const;

/** A code the shipment decider throws. */
export type ShipmentErrorCode = (typeof shipmentErrorCodes)[number];

const fail = (code: ShipmentErrorCode, detail: string, extra?: Record<string, unknown>) =>
  new DomainError(code, detail, extra);

function existing(state: ShipmentState, orderId: string): Shipment {
  if (state.kind !== 'shipment') throw fail('shipment_not_found', `order ${orderId} has no shipment`);
  return state;
}

function from(shipment: Shipment, status: ShipmentStatus, to: ShipmentStatus): void {
  if (shipment.status !== status) {
    throw fail(
      'invalid_status_transition',
      `the shipment of order ${shipment.orderId} is ${shipment.status}; only a ${status} one becomes ${to}`,
      { from: shipment.status, to },
    );
  }
}

/** Decides a shipment command on the shipment's state (pure). */
export function decide(command: ShipmentCommand, state: ShipmentState): ShipmentEvent[] {
  switch (command.type) {
    case 'CreateShipment': {
      const { orderId, address } = command.data;
      if (state.kind === 'shipment') {
        // Creating it again (a retry) is done already; a cancelled one stays cancelled.
        if (state.status !== 'cancelled') return [];
        throw fail('shipment_already_exists', `order ${orderId} had a shipment, cancelled`);
      }
      if (!shipsTo(address.country)) {
        throw fail('shipping_unavailable', `the shop does not ship to ${address.country}`, {
          country: address.country,
        });
      }
      return [{ type: 'ShipmentCreated', data: command.data }];
    }
    case 'MarkShipmentShipped': {
      const shipment = existing(state, command.data.orderId);
      from(shipment, 'created', 'shipped');
      const { orderId, userId, trackingNumber } = shipment;
      return [{ type: 'ShipmentShipped', data: { orderId, userId, trackingNumber } }];
    }
    case 'MarkShipmentDelivered': {
      const shipment = existing(state, command.data.orderId);
      from(shipment, 'shipped', 'delivered');
      const { orderId, userId, trackingNumber } = shipment;
      return [{ type: 'ShipmentDelivered', data: { orderId, userId, trackingNumber } }];
    }
    case 'CancelShipment': {
      // Compensation: nothing to cancel (never created, or cancelled already) is done already.
      if (state.kind !== 'shipment' || state.status === 'cancelled') return [];
      from(state, 'created', 'cancelled');
      const { orderId, userId } = state;
      return [{ type: 'ShipmentCancelled', data: { orderId, userId, reason: command.data.reason } }];
    }
    default: {
      const unknown: never = command;
      throw new Error(`unknown command ${JSON.stringify(unknown)}`);
    }
  }
}

/** Folds one shipment event into the state. */
export function evolve(state: ShipmentState, event: ShipmentEvent): ShipmentState {
  switch (event.type) {
    case 'ShipmentCreated': {
      const { orderId, userId, address, trackingNumber } = event.data;
      return { kind: 'shipment', orderId, userId, address, trackingNumber, status: 'created' };
    }
    case 'ShipmentShipped':
      return state.kind === 'shipment' ? { ...state, status: 'shipped' } : state;
    case 'ShipmentDelivered':
      return state.kind === 'shipment' ? { ...state, status: 'delivered' } : state;
    case 'ShipmentCancelled':
      return state.kind === 'shipment' ? { ...state, status: 'cancelled' } : state;
    default: {
      const _unknown: never = event;
      return state;
    }
  }
}

/** No shipment. */
export const initialState = (): ShipmentState => ({ kind: 'none' });

/** The shipment's decider. */
export const shipmentDecider: Decider<ShipmentCommand, ShipmentEvent, ShipmentState> = {
  decide,
  evolve,
  initialState,
};
