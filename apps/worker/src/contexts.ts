// The bounded contexts a worker can serve, by name. Adding a context is one line here.
import type { CommandRoutes } from '@optic-mart/runtime';
import { catalogCommandRoutes } from '@optic-mart/catalog';
import { identityCommandRoutes } from '@optic-mart/identity';
import { inventoryCommandRoutes } from '@optic-mart/inventory';
import { orderingCommandRoutes } from '@optic-mart/ordering';
import { cartCommandRoutes } from '@optic-mart/cart';
import { shippingCommandRoutes } from '@optic-mart/shipping';
import { paymentsCommandRoutes } from '@optic-mart/payments';

export const contextRoutes: Readonly<Record<string, CommandRoutes>> = {
  catalog: catalogCommandRoutes,
  identity: identityCommandRoutes,
  inventory: inventoryCommandRoutes,
  ordering: orderingCommandRoutes,
  cart: cartCommandRoutes,
  shipping: shippingCommandRoutes,
  payments: paymentsCommandRoutes,
};

export const knownContexts = Object.keys(contextRoutes);
