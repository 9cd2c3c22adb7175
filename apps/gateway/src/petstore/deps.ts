// What the Petstore API's routes (pets here, users in user-routes.ts, the store in store-routes.ts)
// are given: the gateway's command dispatcher, read models, stores and authentication.
import type pg from 'pg';
import type { EventStore } from '@optic-mart/eventstore';
import type { ReadModels } from '@optic-mart/runtime';
import type { Auth } from '../auth/index.js';
import type { CommandDispatcher } from '@optic-mart/messaging';
import type { IdentityService } from '../identity/index.js';
import type { PhotoStore } from '../photos/photo-store.js';

export interface PetstoreDeps {
  readonly dispatcher: CommandDispatcher;
  readonly readModels: ReadModels;
  readonly store: EventStore;
  readonly pool: pg.Pool;
  readonly auth: Auth;
  /** Users and sessions (the identity helper's service): register, log in and out, update, delete. */
  readonly identity: IdentityService;
  readonly photos: PhotoStore;
  /** How long a write waits for the read models to reflect it before answering. */
  readonly readWaitMs: number;
}
