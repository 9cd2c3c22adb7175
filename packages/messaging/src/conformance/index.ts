// The conformance suites for the command queue and the events bus (test support; not exported by the package).
export { runCommandQueueConformance } from './command-queue.js';
export { runEventBusConformance } from './event-bus.js';
export type { ConformanceOptions, TransportFactory, TransportUnderTest } from './support.js';
