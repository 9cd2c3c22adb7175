import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { given } from '@optic-mart/runtime';
import { OrderId, UserId } from '@optic-mart/ordering';
import {
  shipmentDecider,
  shipsTo,
  trackingNumberFor,
  type ShipmentCommand,
  type ShipmentEvent,
} from './shipment.js';

const orderId = OrderId('1001');
const userId = UserId('7');
const address = { name: 'Ann', line1: '1 Main St', city: 'Springfield', postalCode: '12345', country: 'US' };
const trackingNumber = trackingNumberFor(orderId, 'US');

const create = (country = 'US'): ShipmentCommand => ({
  type: 'CreateShipment',
  data: {
    orderId,
    userId,
    address: { ...address, country },
    trackingNumber: trackingNumberFor(orderId, country),
  },
});
const created: ShipmentEvent = {
  type: 'ShipmentCreated',
  data: { orderId, userId, address, trackingNumber },
};
const shipped: ShipmentEvent = { type: 'ShipmentShipped', data: { orderId, userId, trackingNumber } };
const delivered: ShipmentEvent = { type: 'ShipmentDelivered', data: { orderId, userId, trackingNumber } };
const cancelled: ShipmentEvent = {
  type: 'ShipmentCancelled',
  data: { orderId, userId, reason: 'shipment_failed' },
};
const ship: ShipmentCommand = { type: 'MarkShipmentShipped', data: { orderId } };
const deliver: ShipmentCommand = { type: 'MarkShipmentDelivered', data: { orderId } };
const cancel: ShipmentCommand = { type: 'CancelShipment', data: { orderId, reason: 'shipment_failed' } };

describe('tracking numbers', () => {
  it('derives the same tracking number from the same order, different ones from others', () => {
    assert.equal(trackingNumberFor('1001', 'US'), trackingNumberFor('1001', 'US'));
    assert.notEqual(trackingNumberFor('1001', 'US'), trackingNumberFor('1002', 'US'));
    assert.match(trackingNumber, /^OM\d{16}US$/);
  });
});

describe('CreateShipment', () => {
  it('creates a shipment with its tracking number', () => {
    given(shipmentDecider).when(create()).then([created]);
  });

  it('refuses a country the shop does not ship to: Antarctica, and unknown codes', () => {
    assert.equal(shipsTo('AQ'), false);
    const err = given(shipmentDecider).when(create('AQ')).thenThrows('shipping_unavailable', /AQ/);
    assert.deepEqual(err.extra, { country: 'AQ' });
    given(shipmentDecider).when(create('XX')).thenThrows('shipping_unavailable');
  });

  it('creating it again is a no-op; after a cancellation it is refused', () => {
    given(shipmentDecider, [created]).when(create()).then([]);
    given(shipmentDecider, [created, cancelled]).when(create()).thenThrows('shipment_already_exists');
  });
});

describe('created → shipped → delivered, created → cancelled', () => {
  it('ships a created shipment, delivers a shipped one', () => {
    given(shipmentDecider, [created]).when(ship).then([shipped]);
    given(shipmentDecider, [created, shipped]).when(deliver).then([delivered]);
  });

  it('refuses delivering before shipping, shipping twice, and anything with no shipment', () => {
    given(shipmentDecider, [created]).when(deliver).thenThrows('invalid_status_transition');
    given(shipmentDecider, [created, shipped]).when(ship).thenThrows('invalid_status_transition');
    given(shipmentDecider).when(ship).thenThrows('shipment_not_found');
    given(shipmentDecider).when(deliver).thenThrows('shipment_not_found');
  });

  it('cancels a created shipment; none or cancelled already is a no-op; a shipped one is refused', () => {
    given(shipmentDecider, [created]).when(cancel).then([cancelled]);
    given(shipmentDecider).when(cancel).then([]);
    given(shipmentDecider, [created, cancelled]).when(cancel).then([]);
    given(shipmentDecider, [created, shipped]).when(cancel).thenThrows('invalid_status_transition');
  });
});
