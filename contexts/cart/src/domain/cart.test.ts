import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { given } from '@optic-mart/runtime';
import { OrderId, PetId, Sku, UserId, money } from '@optic-mart/ordering';
import { cartDecider, type CartCommand, type CartEvent, type CartItem } from './cart.js';

const userId = UserId('7');
const orderId = OrderId('1001');
const bones: CartItem = {
  key: 'BONE-1',
  kind: 'supply',
  sku: Sku('BONE-1'),
  quantity: 2,
  unitPrice: money(250, 'USD'),
};
const rex: CartItem = { key: 'pet-42', kind: 'pet', petId: PetId('42'), quantity: 1 };

const addedBones: CartEvent = { type: 'CartItemAdded', data: { userId, item: bones } };
const addedRex: CartEvent = { type: 'CartItemAdded', data: { userId, item: rex } };
const addBones = (quantity = 2, cents = 250): CartCommand => ({
  type: 'AddCartItem',
  data: { userId, item: { kind: 'supply', sku: Sku('BONE-1'), quantity, unitPrice: money(cents, 'USD') } },
});
const addRex: CartCommand = {
  type: 'AddCartItem',
  data: { userId, item: { kind: 'pet', petId: PetId('42') } },
};
const checkOut = (cents = 250): CartCommand => ({
  type: 'CheckOut',
  data: { userId, orderId, prices: { 'BONE-1': money(cents, 'USD') } },
});

describe('AddCartItem', () => {
  it('adds a supply at the price captured now, and a pet', () => {
    given(cartDecider).when(addBones()).then([addedBones]);
    given(cartDecider, [addedBones]).when(addRex).then([addedRex]);
  });

  it('adds more of a SKU in the cart to its quantity; a pet twice changes nothing', () => {
    given(cartDecider, [addedBones])
      .when(addBones(3, 300))
      .then([{ type: 'CartItemChanged', data: { userId, key: 'BONE-1', quantity: 5 } }]);
    given(cartDecider, [addedRex]).when(addRex).then([]);
  });

  it('refuses quantities out of 1 to 1000', () => {
    given(cartDecider).when(addBones(0)).thenThrows('validation_failed');
    given(cartDecider, [addedBones])
      .when(addBones(999))
      .thenThrows('validation_failed', /1 to 1000/);
  });
});

describe('ChangeCartItem, RemoveCartItem, ClearCart', () => {
  it('changes a quantity, removes an item, clears the cart', () => {
    given(cartDecider, [addedBones])
      .when({ type: 'ChangeCartItem', data: { userId, key: 'BONE-1', quantity: 7 } })
      .then([{ type: 'CartItemChanged', data: { userId, key: 'BONE-1', quantity: 7 } }]);
    given(cartDecider, [addedBones, addedRex])
      .when({ type: 'RemoveCartItem', data: { userId, key: 'pet-42' } })
      .then([{ type: 'CartItemRemoved', data: { userId, key: 'pet-42' } }]);
    given(cartDecider, [addedBones])
      .when({ type: 'ClearCart', data: { userId } })
      .then([{ type: 'CartCleared', data: { userId } }]);
    given(cartDecider).when({ type: 'ClearCart', data: { userId } }).then([]);
  });

  it('refuses an item not in the cart, and a pet’s quantity other than 1', () => {
    given(cartDecider)
      .when({ type: 'RemoveCartItem', data: { userId, key: 'BONE-1' } })
      .thenThrows('cart_item_not_found');
    given(cartDecider, [addedRex])
      .when({ type: 'ChangeCartItem', data: { userId, key: 'pet-42', quantity: 2 } })
      .thenThrows('validation_failed', /one of a kind/);
  });
});

describe('RepriceCart and CheckOut', () => {
  it('reprices the items whose product’s price changed', () => {
    given(cartDecider, [addedBones, addedRex])
      .when({ type: 'RepriceCart', data: { userId, prices: { 'BONE-1': money(300, 'USD') } } })
      .then([
        {
          type: 'CartRepriced',
          data: {
            userId,
            lines: [{ key: 'BONE-1', sku: Sku('BONE-1'), from: money(250, 'USD'), to: money(300, 'USD') }],
          },
        },
      ]);
    given(cartDecider, [addedBones])
      .when({ type: 'RepriceCart', data: { userId, prices: { 'BONE-1': money(250, 'USD') } } })
      .then([]);
  });

  it('checks out at unchanged prices: the order’s lines and total', () => {
    given(cartDecider, [addedBones, addedRex])
      .when(checkOut())
      .then([
        {
          type: 'CartCheckedOut',
          data: {
            userId,
            orderId,
            lines: [
              { kind: 'supply', sku: Sku('BONE-1'), quantity: 2, unitPrice: money(250, 'USD') },
              { kind: 'pet', petId: PetId('42'), quantity: 1 },
            ],
            total: money(500, 'USD'),
          },
        },
      ]);
  });

  it('refuses a changed price naming the lines, and an empty cart', () => {
    const err = given(cartDecider, [addedBones]).when(checkOut(300)).thenThrows('price_changed');
    assert.deepEqual(
      (err.extra?.lines as { key: string }[]).map((l) => l.key),
      ['BONE-1'],
    );
    given(cartDecider).when(checkOut()).thenThrows('cart_empty');
  });

  it('checks out again once repriced; the cart is then empty', () => {
    const repriced: CartEvent = {
      type: 'CartRepriced',
      data: {
        userId,
        lines: [{ key: 'BONE-1', sku: Sku('BONE-1'), from: money(250, 'USD'), to: money(300, 'USD') }],
      },
    };
    given(cartDecider, [addedBones, repriced])
      .when(checkOut(300))
      .then([
        {
          type: 'CartCheckedOut',
          data: {
            userId,
            orderId,
            lines: [{ kind: 'supply', sku: Sku('BONE-1'), quantity: 2, unitPrice: money(300, 'USD') }],
            total: money(600, 'USD'),
          },
        },
      ]);
    const done: CartEvent = {
      type: 'CartCheckedOut',
      data: { userId, orderId, lines: [], total: money(500, 'USD') },
    };
    given(cartDecider, [addedBones, done]).when(checkOut()).thenThrows('cart_empty');
  });
});
