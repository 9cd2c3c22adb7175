import { describe, it } from 'node:test';
import { given } from '@optic-mart/runtime';
import { Sku, productDecider, type ProductCommand, type ProductData, type ProductEvent } from './product.js';

const sku = Sku('FOOD-1');

const kibble: ProductData = {
  sku,
  name: 'Kibble',
  description: 'Dry food for dogs',
  priceCents: 1299,
  currency: 'USD',
  category: 'Food',
  tags: ['dog', 'dry'],
};

const created: ProductEvent = { type: 'ProductCreated', data: kibble };
const discontinued: ProductEvent = { type: 'ProductDiscontinued', data: { sku } };

const create = (
  data: Partial<Extract<ProductCommand, { type: 'CreateProduct' }>['data']> = {},
): ProductCommand => ({
  type: 'CreateProduct',
  data: { ...kibble, ...data },
});
const update = (
  data: Partial<Extract<ProductCommand, { type: 'UpdateProduct' }>['data']> = {},
): ProductCommand => ({
  type: 'UpdateProduct',
  data: { ...kibble, ...data },
});
const discontinue: ProductCommand = { type: 'DiscontinueProduct', data: { sku } };

describe('CreateProduct', () => {
  it('lists a product with its price in cents', () => {
    given(productDecider).when(create()).then([created]);
  });

  it('fills in what is omitted: no description, USD, no category, no tags', () => {
    given(productDecider)
      .when({ type: 'CreateProduct', data: { sku, name: 'Leash', priceCents: 0 } })
      .then([
        {
          type: 'ProductCreated',
          data: {
            sku,
            name: 'Leash',
            description: '',
            priceCents: 0,
            currency: 'USD',
            category: null,
            tags: [],
          },
        },
      ]);
  });

  it('keeps each tag once', () => {
    given(productDecider)
      .when(create({ tags: ['dog', 'dog', 'dry'] }))
      .then([created]);
  });

  it('refuses a SKU that exists', () => {
    given(productDecider, [created]).when(create()).thenThrows('product_already_exists');
  });

  it('refuses the SKU of a discontinued product: its history stays its own', () => {
    given(productDecider, [created, discontinued]).when(create()).thenThrows('product_already_exists');
  });
});

describe('UpdateProduct', () => {
  it('replaces the details and carries the new price', () => {
    given(productDecider, [created])
      .when(update({ priceCents: 999, tags: [] }))
      .then([{ type: 'ProductUpdated', data: { ...kibble, priceCents: 999, tags: [] } }]);
  });

  it('keeps the currency when the update omits it', () => {
    const eur: ProductEvent = { type: 'ProductCreated', data: { ...kibble, currency: 'EUR' } };
    given(productDecider, [eur])
      .when({ type: 'UpdateProduct', data: { sku, name: 'Kibble', priceCents: 1500 } })
      .then([
        {
          type: 'ProductUpdated',
          data: {
            sku,
            name: 'Kibble',
            description: '',
            priceCents: 1500,
            currency: 'EUR',
            category: null,
            tags: [],
          },
        },
      ]);
  });

  it('decides nothing when nothing changes', () => {
    given(productDecider, [created]).when(update()).then([]);
  });

  it('refuses a product that does not exist', () => {
    given(productDecider).when(update()).thenThrows('product_not_found');
  });

  it('refuses a discontinued product', () => {
    given(productDecider, [created, discontinued])
      .when(update({ priceCents: 1 }))
      .thenThrows('product_discontinued');
  });

  it('sees the latest update', () => {
    const cheaper: ProductEvent = { type: 'ProductUpdated', data: { ...kibble, priceCents: 999 } };
    given(productDecider, [created, cheaper])
      .when(update({ priceCents: 999 }))
      .then([]);
    given(productDecider, [created, cheaper])
      .when(update())
      .then([{ type: 'ProductUpdated', data: kibble }]);
  });
});

describe('DiscontinueProduct', () => {
  it('discontinues a listed product', () => {
    given(productDecider, [created]).when(discontinue).then([discontinued]);
  });

  it('refuses a product that does not exist', () => {
    given(productDecider).when(discontinue).thenThrows('product_not_found');
  });

  it('refuses to discontinue twice', () => {
    given(productDecider, [created, discontinued]).when(discontinue).thenThrows('product_discontinued');
  });
});
