// The projections the projector runs, of every context. Adding one is one line here.
import type { AnyProjection } from '@optic-mart/runtime';
import { petsProjection, productsProjection, reviewsProjection } from '@optic-mart/catalog';
import { usersProjection } from '@optic-mart/identity';
import { stockProjection } from '@optic-mart/inventory';
import { ordersProjection } from '@optic-mart/ordering';
import { shipmentsProjection } from '@optic-mart/shipping';
import { paymentsProjection } from '@optic-mart/payments';
import { messagesProjection } from '@optic-mart/notifications';
import { fulfillmentsProjection } from '@optic-mart/app-saga';

export const projections: readonly AnyProjection[] = [
  petsProjection,
  productsProjection,
  reviewsProjection,
  usersProjection,
  ordersProjection,
  stockProjection,
  shipmentsProjection,
  paymentsProjection,
  messagesProjection,
  fulfillmentsProjection,
];
