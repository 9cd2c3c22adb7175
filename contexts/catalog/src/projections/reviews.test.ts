// The reviews projection as Given (a review stream) / Then (document, columns).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ProjectedEvent } from '@optic-mart/runtime';
import { Sku } from '../domain/product.js';
import type { ReviewEvent } from '../domain/review.js';
import { reviewsProjection, type ReviewView } from './reviews.js';

const sku = Sku('FOOD-1');
const ref = { sku, userId: '7' };
const created: ReviewEvent = { type: 'ReviewCreated', data: { ...ref, rating: 4, text: 'Good' } };
const updated: ReviewEvent = {
  type: 'ReviewUpdated',
  data: { ...ref, rating: 2, text: 'Off', previousRating: 4 },
};
const deleted: ReviewEvent = { type: 'ReviewDeleted', data: { ...ref, rating: 2 } };

const recorded = (events: readonly ReviewEvent[]): ProjectedEvent[] =>
  events.map((e, i) => ({
    id: `e${i}`,
    streamId: `review-${sku}-7`,
    type: e.type,
    data: e.data,
    metadata: {},
    version: i + 1,
    position: 100 + i,
    recordedAt: new Date(Date.UTC(2026, 0, 1 + i)),
  }));

function given(events: readonly ReviewEvent[]): ReviewView | null {
  return recorded(events).reduce<ReviewView | null>((d, e) => {
    assert.equal(reviewsProjection.documentId(e), 'FOOD-1/7');
    return reviewsProjection.apply(d, e);
  }, null);
}

describe('reviews projection', () => {
  it('Given ReviewCreated: the review with its time', () => {
    const doc = given([created]);
    assert.deepEqual(doc, {
      ...ref,
      rating: 4,
      text: 'Good',
      createdAt: '2026-01-01T00:00:00.000Z',
      updatedAt: '2026-01-01T00:00:00.000Z',
      version: 1,
    });
    assert.deepEqual(
      Object.fromEntries(Object.entries(reviewsProjection.columns ?? {}).map(([n, c]) => [n, c.value(doc)])),
      { sku: 'FOOD-1', user_id: '7', rating: 4, created_at: '2026-01-01T00:00:00.000Z' },
    );
  });

  it('Given an update: the new rating and text, created time kept', () => {
    const doc = given([created, updated]);
    assert.equal(doc?.rating, 2);
    assert.equal(doc?.text, 'Off');
    assert.equal(doc?.createdAt, '2026-01-01T00:00:00.000Z');
    assert.equal(doc?.updatedAt, '2026-01-02T00:00:00.000Z');
    assert.equal(doc?.version, 2);
  });

  it('Given a deletion: no document', () => {
    assert.equal(given([created, updated, deleted]), null);
  });
});
