// Product and review commands as the worker receives them: stream ids, validation, decider.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { CommandInput } from '@optic-mart/runtime';
import { catalogCommandRoutes } from './routes.js';
import {
  productCommandRoute,
  reviewCommandRoute,
  reviewRefOf,
  reviewStreamId,
  skuOf,
} from './product-routes.js';

const input = (type: string, aggregateId: string, data: unknown): CommandInput => ({
  commandId: 'c1',
  type,
  aggregateId,
  data,
  metadata: { correlationId: 'x', userId: '7' },
});

describe('product and review command routes', () => {
  it('are part of the catalog routes', () => {
    for (const type of ['CreateProduct', 'UpdateProduct', 'DiscontinueProduct']) {
      assert.equal(catalogCommandRoutes[type], productCommandRoute);
    }
    for (const type of ['CreateReview', 'UpdateReview', 'DeleteReview']) {
      assert.equal(catalogCommandRoutes[type], reviewCommandRoute);
    }
    assert.ok(catalogCommandRoutes.CreatePet, 'the pet routes stay');
  });

  it('reads the SKU and author from the stream ids (a SKU may hold dashes)', () => {
    assert.equal(skuOf('product-FOOD-1'), 'FOOD-1');
    assert.equal(skuOf('product-food'), null);
    assert.equal(skuOf('pet-1'), null);
    assert.equal(reviewStreamId('FOOD-1-XL', '42'), 'review-FOOD-1-XL-42');
    assert.deepEqual(reviewRefOf('review-FOOD-1-XL-42'), { sku: 'FOOD-1-XL', userId: '42' });
    assert.deepEqual(reviewRefOf('review-FOOD-1'), { sku: 'FOOD', userId: '1' });
    assert.equal(reviewRefOf('review-F-1'), null, 'a SKU has at least two characters');
    assert.equal(reviewRefOf('review-42'), null);
    assert.equal(reviewRefOf('review-FOOD-x'), null);
  });

  it('builds the product command from the stream and a valid body', () => {
    const command = productCommandRoute.toCommand!(
      input('CreateProduct', 'product-FOOD-1', { name: 'Kibble', priceCents: 5 }),
    );
    assert.deepEqual(command, {
      type: 'CreateProduct',
      data: { name: 'Kibble', priceCents: 5, sku: 'FOOD-1' },
    });
  });

  it('refuses bad product bodies and stream ids with validation_failed', () => {
    for (const data of [
      { name: 'x', priceCents: -1 },
      { name: 'x', priceCents: 1.5 },
      { name: 'x', priceCents: 1e12 },
      { name: 'x', priceCents: 1, currency: 'XXX' },
      { name: 'x', priceCents: 1, extra: true },
      { priceCents: 1 },
    ]) {
      assert.throws(
        () => productCommandRoute.toCommand!(input('CreateProduct', 'product-FOOD-1', data)),
        { code: 'validation_failed' },
        JSON.stringify(data),
      );
    }
    assert.throws(
      () =>
        productCommandRoute.toCommand!(
          input('CreateProduct', 'product-bad sku', { name: 'x', priceCents: 1 }),
        ),
      {
        code: 'validation_failed',
      },
    );
  });

  it('builds review commands with the author from the stream and text defaulting to empty', () => {
    assert.deepEqual(reviewCommandRoute.toCommand!(input('CreateReview', 'review-FOOD-1-7', { rating: 5 })), {
      type: 'CreateReview',
      data: { sku: 'FOOD-1', userId: '7', rating: 5, text: '' },
    });
    assert.deepEqual(reviewCommandRoute.toCommand!(input('DeleteReview', 'review-FOOD-1-7', {})), {
      type: 'DeleteReview',
      data: { sku: 'FOOD-1', userId: '7' },
    });
    for (const data of [
      { rating: 0 },
      { rating: 6 },
      { rating: 3, text: 'x'.repeat(2001) },
      { rating: '5' },
    ]) {
      assert.throws(() => reviewCommandRoute.toCommand!(input('CreateReview', 'review-FOOD-1-7', data)), {
        code: 'validation_failed',
      });
    }
  });
});
