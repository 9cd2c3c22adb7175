import type { Suite } from '../lib/suite.js';
import { eventStoreSuite } from './eventstore.js';
import { gatewaySuite } from './gateway.js';

/**
 * Every suite of `npm run bench`, in the order they run. Coming: projector throughput, projection
 * lag, rebuild time.
 */
export const suites: readonly Suite[] = [eventStoreSuite, gatewaySuite];
