import type { Suite } from '../lib/suite.js';
import { eventStoreSuite } from './eventstore.js';

/**
 * Every suite of `npm run bench`, in the order they run. Coming: commands/s through the gateway,
 * projector throughput, projection lag, rebuild time.
 */
export const suites: readonly Suite[] = [eventStoreSuite];
