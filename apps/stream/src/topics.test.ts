import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isAppError } from '@optic-mart/platform';
import { authorizeTopics, formatCursor, parseCursor, parsePrincipal } from './topics.js';

const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
    return undefined;
  } catch (err) {
    return isAppError(err) ? err.code : 'not an AppError';
  }
};

test('public topics are open to anyone; repeated and comma-separated values are merged', () => {
  assert.deepEqual(authorizeTopics(['pets,pets/42', 'inventory', 'pets'], undefined, 10), [
    'pets',
    'pets/42',
    'inventory',
  ]);
  assert.deepEqual(authorizeTopics('products,products/SKU-1,products/SKU-1/reviews,reviews', undefined, 10), [
    'products',
    'products/SKU-1',
    'products/SKU-1/reviews',
    'reviews',
  ]);
  assert.deepEqual(authorizeTopics('stock,stock/SKU-1', undefined, 10), ['stock', 'stock/SKU-1']);
});

const u1 = { userId: 'u1', role: 'customer' };
const u2 = { userId: 'u2', role: 'customer' };

test('orders need someone signed in, users/{id}/… that very user', () => {
  assert.equal(
    codeOf(() => authorizeTopics('orders/o1', undefined, 10)),
    'forbidden',
  );
  assert.deepEqual(authorizeTopics('orders/o1', u1, 10), ['orders/o1']);
  assert.deepEqual(authorizeTopics('users/u1/orders', u1, 10), ['users/u1/orders']);
  assert.equal(
    codeOf(() => authorizeTopics('users/u1/orders', u2, 10)),
    'forbidden',
  );
  assert.equal(
    codeOf(() => authorizeTopics('users/u1/orders', undefined, 10)),
    'forbidden',
  );
});

test('unknown syntax, no topic or too many are 400', () => {
  for (const bad of [
    'pet',
    'pets/',
    'pets/a/b',
    'pets/../x',
    'orders/',
    'users',
    'inventory/1',
    'x'.repeat(300),
  ]) {
    assert.equal(
      codeOf(() => authorizeTopics(bad, u1, 10)),
      'bad_request',
      bad,
    );
  }
  assert.equal(
    codeOf(() => authorizeTopics(undefined, undefined, 10)),
    'bad_request',
  );
  assert.equal(
    codeOf(() => authorizeTopics(' , ', undefined, 10)),
    'bad_request',
  );
  assert.equal(
    codeOf(() => authorizeTopics('pets,pets/1,pets/2', undefined, 2)),
    'bad_request',
  );
});

test('a cursor round-trips, sorted by projection; a malformed one is 400', () => {
  const cursor = parseCursor('pets:123,orders:77');
  assert.deepEqual(
    [...cursor],
    [
      ['pets', 123],
      ['orders', 77],
    ],
  );
  assert.equal(formatCursor(cursor), 'orders:77,pets:123');
  assert.equal(parseCursor('').size, 0);
  for (const bad of ['pets', 'pets:', 'pets:-1', 'pets:1x', 'a b:1', 'pets:1,,orders:2']) {
    assert.equal(
      codeOf(() => parseCursor(bad)),
      'bad_request',
      bad,
    );
  }
});

test('all orders are for sellers and admins; customers follow their own', () => {
  assert.equal(
    codeOf(() => authorizeTopics('orders', u1, 10)),
    'forbidden',
  );
  assert.deepEqual(authorizeTopics('orders', { userId: 'u9', role: 'seller' }, 10), ['orders']);
});

test("sellers and admins may follow any user's orders", () => {
  for (const role of ['seller', 'admin']) {
    assert.deepEqual(authorizeTopics('users/u1/orders', { userId: 'u9', role }, 10), ['users/u1/orders']);
  }
});

test('reads the principal the gateway sends: <userId>[;role=<role>]', () => {
  assert.deepEqual(parsePrincipal('17;role=seller'), { userId: '17', role: 'seller' });
  assert.deepEqual(parsePrincipal('u1'), { userId: 'u1', role: 'customer' });
  for (const bad of [undefined, '', ';role=admin', '17;role=root', '17;role=admin;x', ['17']]) {
    assert.equal(parsePrincipal(bad), undefined, String(bad));
  }
});
