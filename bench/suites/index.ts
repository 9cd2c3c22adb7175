import type { Suite } from '../lib/suite.js';
import { eventStoreSuite } from './eventstore.js';
import { gatewaySuite } from './gateway.js';
import { projectorSuite } from './projector.js';

/**
 * Every suite of `npm run bench`, in the order they run (projector: rebuild time and live
 * throughput).
 */
export const suites: readonly Suite[] = [eventStoreSuite, gatewaySuite, projectorSuite];
