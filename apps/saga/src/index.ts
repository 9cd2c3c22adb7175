// The public surface of the saga app for other apps (the gateway's route, the projector): the
// fulfillment saga's decider, events and read model — pure code, not the process.
export * from './domain/fulfillment.js';
export { fulfillmentsProjection } from './domain/fulfillments-projection.js';
export type { FulfillmentHistoryEntry, FulfillmentView } from './domain/fulfillments-projection.js';
