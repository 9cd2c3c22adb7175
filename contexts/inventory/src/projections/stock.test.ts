// The stock projection as Given (events) / Then (document and columns).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ProjectedEvent } from '@optic-mart/runtime';
import type { StockEvent } from '../domain/stock.js';
import { stockDecider } from '../domain/stock.js';
import { stockProjection, type StockView } from './stock.js';

const sku = 'BONE-1';
const recorded = (events: readonly StockEvent[]): ProjectedEvent[] =>
  events.map((e, i) => ({
    id: `e${i}`,
    streamId: `stock-${sku}`,
    type: e.type,
    data: e.data,
    metadata: {},
    version: i + 1,
    position: 10 + i,
    recordedAt: new Date(0),
  }));

const given = (events: readonly StockEvent[]): StockView | null =>
  recorded(events).reduce<StockView | null>((d, e) => {
    assert.equal(stockProjection.documentId(e), sku);
    return stockProjection.apply(d, e);
  }, null);

describe('the stock projection', () => {
  it('shows on hand, reserved and available as the aggregate keeps them', () => {
    const events = [
      { type: 'StockRestocked', data: { sku, quantity: 10 } },
      { type: 'StockReserved', data: { sku, orderId: '1', quantity: 4 } },
      { type: 'StockReserved', data: { sku, orderId: '2', quantity: 3 } },
      { type: 'StockCommitted', data: { sku, orderId: '1', quantity: 4 } },
      { type: 'StockReserved', data: { sku, orderId: '3', quantity: 1 } },
      { type: 'StockReleased', data: { sku, orderId: '3', quantity: 1 } },
    ] as StockEvent[];
    const doc = given(events)!;
    assert.deepEqual(doc, {
      sku,
      onHand: 6,
      reserved: 3,
      available: 3,
      reservations: { '2': 3 },
      version: 6,
    });
    const state = events.reduce(stockDecider.evolve, stockDecider.initialState());
    assert.equal(doc.onHand, state.onHand);
    assert.deepEqual(doc.reservations, state.reservations);
    assert.equal(stockProjection.columns!.available!.value(doc), 3);
  });
});
