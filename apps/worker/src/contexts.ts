// The bounded contexts a worker can serve, by name. Adding a context is one line here.
import type { CommandRoutes } from '@optic-mart/runtime';
import { catalogCommandRoutes } from '@optic-mart/catalog';

export const contextRoutes: Readonly<Record<string, CommandRoutes>> = {
  catalog: catalogCommandRoutes,
};

export const knownContexts = Object.keys(contextRoutes);
