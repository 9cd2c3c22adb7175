import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { given } from '@optic-mart/runtime';
import { OrderId, Sku } from '@optic-mart/catalog';
import { availableOf, stockDecider, type StockCommand, type StockEvent } from './stock.js';

const sku = Sku('BONE-1');
const order = OrderId('1001');
const other = OrderId('1002');

const restocked = (quantity: number): StockEvent => ({ type: 'StockRestocked', data: { sku, quantity } });
const reserved = (quantity: number, orderId = order): StockEvent => ({
  type: 'StockReserved',
  data: { sku, orderId, quantity },
});
const restock = (quantity: number): StockCommand => ({ type: 'Restock', data: { sku, quantity } });
const reserve = (quantity: number, orderId = order): StockCommand => ({
  type: 'ReserveStock',
  data: { sku, orderId, quantity },
});
const release = (orderId = order): StockCommand => ({ type: 'ReleaseStock', data: { sku, orderId } });
const commit = (orderId = order): StockCommand => ({ type: 'CommitStock', data: { sku, orderId } });

describe('Restock', () => {
  it('adds units', () => {
    given(stockDecider)
      .when(restock(10))
      .then([restocked(10)]);
    given(stockDecider, [restocked(10)])
      .when(restock(5))
      .then([restocked(5)]);
  });

  it('refuses zero, negative and fractional quantities', () => {
    for (const q of [0, -1, 1.5]) given(stockDecider).when(restock(q)).thenThrows('validation_failed');
  });

  it('refuses to go past the most a SKU may have on hand', () => {
    given(stockDecider, [restocked(999_999_999)])
      .when(restock(2))
      .thenThrows('validation_failed');
  });
});

describe('ReserveStock', () => {
  it('reserves what is available', () => {
    given(stockDecider, [restocked(10)])
      .when(reserve(10))
      .then([reserved(10)]);
  });

  it('never reserves more than is available: the stock never goes below zero', () => {
    given(stockDecider).when(reserve(1)).thenThrows('insufficient_stock');
    const err = given(stockDecider, [restocked(10), reserved(7)])
      .when(reserve(4, other))
      .thenThrows('insufficient_stock', /4 of BONE-1 asked for, 3 available/);
    assert.deepEqual(err.extra, { sku, available: 3, requested: 4 });
    given(stockDecider, [restocked(10), reserved(7)])
      .when(reserve(3, other))
      .then([reserved(3, other)]);
  });

  it('refuses a second reservation by the same order', () => {
    given(stockDecider, [restocked(10), reserved(1)])
      .when(reserve(1))
      .thenThrows('stock_already_reserved');
  });

  it('refuses a quantity below one', () => {
    given(stockDecider, [restocked(10)])
      .when(reserve(0))
      .thenThrows('validation_failed');
  });
});

describe('ReleaseStock and CommitStock', () => {
  it('release the order’s reservation, making its units available again', () => {
    given(stockDecider, [restocked(10), reserved(4)])
      .when(release())
      .then([{ type: 'StockReleased', data: { sku, orderId: order, quantity: 4 } }]);
  });

  it('commit the order’s reservation: the units leave the stock', () => {
    given(stockDecider, [restocked(10), reserved(4)])
      .when(commit())
      .then([{ type: 'StockCommitted', data: { sku, orderId: order, quantity: 4 } }]);
  });

  it('refuse an order that holds no reservation (also once released or committed)', () => {
    const released: StockEvent = { type: 'StockReleased', data: { sku, orderId: order, quantity: 4 } };
    given(stockDecider, [restocked(10)])
      .when(release())
      .thenThrows('stock_reservation_not_found');
    given(stockDecider, [restocked(10), reserved(4), released])
      .when(commit())
      .thenThrows('stock_reservation_not_found');
    given(stockDecider, [restocked(10), reserved(4, other)])
      .when(commit())
      .thenThrows('stock_reservation_not_found');
  });

  it('keep the counts: on hand, reserved and available', () => {
    const committed: StockEvent = { type: 'StockCommitted', data: { sku, orderId: order, quantity: 4 } };
    const events = [restocked(10), reserved(4), reserved(3, other), committed];
    const stock = events.reduce(stockDecider.evolve, stockDecider.initialState());
    assert.equal(stock.onHand, 6);
    assert.deepEqual(stock.reservations, { [other]: 3 });
    assert.equal(availableOf(stock), 3);
  });
});
