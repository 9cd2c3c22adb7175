// The products projection as Given (events of product and review streams) / Then (document, columns).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ProjectedEvent } from '@optic-mart/runtime';
import { Sku, type ProductEvent } from '../domain/product.js';
import type { ReviewEvent } from '../domain/review.js';
import { productsProjection, type ProductView } from './products.js';

const sku = Sku('FOOD-1');
const kibble = {
  sku,
  name: 'Kibble',
  description: 'Dry food',
  priceCents: 1299,
  currency: 'USD' as const,
  category: 'Food',
  tags: ['dog'],
};

const created: ProductEvent = { type: 'ProductCreated', data: kibble };
const updated: ProductEvent = {
  type: 'ProductUpdated',
  data: { ...kibble, priceCents: 999, tags: ['dog', 'sale'] },
};
const discontinued: ProductEvent = { type: 'ProductDiscontinued', data: { sku } };
const review = (userId: string, rating: number): ReviewEvent => ({
  type: 'ReviewCreated',
  data: { sku, userId, rating, text: '' },
});

/** Events as recorded: each stream numbers its own versions; positions in log order. */
function recorded(events: readonly (ProductEvent | ReviewEvent)[]): ProjectedEvent[] {
  const versions = new Map<string, number>();
  return events.map((e, i) => {
    const streamId = e.type.startsWith('Product')
      ? `product-${sku}`
      : `review-${sku}-${e.data.sku && (e.data as { userId: string }).userId}`;
    const version = (versions.get(streamId) ?? 0) + 1;
    versions.set(streamId, version);
    return {
      id: `e${i}`,
      streamId,
      type: e.type,
      data: e.data,
      metadata: {},
      version,
      position: 10 + i,
      recordedAt: new Date(0),
    };
  });
}

function given(events: readonly (ProductEvent | ReviewEvent)[]): ProductView | null {
  const doc = recorded(events).reduce<ProductView | null>((d, e) => {
    assert.equal(productsProjection.documentId(e), sku, `${e.type} addresses the product's document`);
    return productsProjection.apply(d, e);
  }, null);
  assert.deepStrictEqual(JSON.parse(JSON.stringify(doc)) as unknown, doc, 'the document is plain JSON');
  return doc;
}

const columns = (doc: ProductView) =>
  Object.fromEntries(Object.entries(productsProjection.columns ?? {}).map(([n, c]) => [n, c.value(doc)]));

describe('products projection', () => {
  it('reads product and review events of every category', () => {
    assert.equal(productsProjection.category, undefined);
    assert.deepEqual([...productsProjection.events].sort(), [
      'ProductCreated',
      'ProductDiscontinued',
      'ProductUpdated',
      'ReviewCreated',
      'ReviewDeleted',
      'ReviewUpdated',
    ]);
  });

  it('Given ProductCreated: the product, active, unrated, at version 1', () => {
    const doc = given([created]);
    assert.deepEqual(doc, {
      ...kibble,
      status: 'active',
      rating: { average: null, count: 0, sum: 0 },
      version: 1,
    });
    assert.deepEqual(columns(doc), {
      status: 'active',
      name: 'Kibble',
      price: 1299,
      rating: null,
      category: 'Food',
      tags: ['dog'],
    });
  });

  it('Given an update and a discontinuation: new price, discontinued, version 3', () => {
    const doc = given([created, updated, discontinued]);
    assert.equal(doc?.priceCents, 999);
    assert.deepEqual(doc?.tags, ['dog', 'sale']);
    assert.equal(doc?.status, 'discontinued');
    assert.equal(doc?.version, 3);
  });

  it('Given reviews: the average rating and count; reviews leave the product version alone', () => {
    const doc = given([created, review('1', 5), review('2', 4), review('3', 4)]);
    assert.deepEqual(doc?.rating, { average: 4.33, count: 3, sum: 13 });
    assert.equal(doc?.version, 1);
    assert.equal(columns(doc).rating, 4.33);
  });

  it('Given an edited and a deleted review: the average follows', () => {
    const edited: ReviewEvent = {
      type: 'ReviewUpdated',
      data: { sku, userId: '1', rating: 1, text: 'meh', previousRating: 5 },
    };
    const removed: ReviewEvent = { type: 'ReviewDeleted', data: { sku, userId: '2', rating: 4 } };
    assert.deepEqual(given([created, review('1', 5), review('2', 4), edited])?.rating, {
      average: 2.5,
      count: 2,
      sum: 5,
    });
    assert.deepEqual(given([created, review('1', 5), review('2', 4), edited, removed])?.rating, {
      average: 1,
      count: 1,
      sum: 1,
    });
    const gone: ReviewEvent = { type: 'ReviewDeleted', data: { sku, userId: '1', rating: 5 } };
    assert.deepEqual(given([created, review('1', 5), gone])?.rating, { average: null, count: 0, sum: 0 });
  });

  it('ignores a review of a product it has no document for', () => {
    const [event] = recorded([review('1', 5)]);
    const { apply } = productsProjection;
    assert.equal(apply(null, event!), null);
  });

  it('notifies the product topics', () => {
    assert.deepEqual(productsProjection.topics?.(sku, null, null), ['products', `products/${sku}`]);
  });
});
