export { createNatsTransport, NatsTransport, type NatsTransportOptions } from './transport.js';
export type { NatsSettings } from './context.js';
