export { createPostgresTransport, PostgresTransport, type PostgresTransportOptions } from './transport.js';
export type { PostgresSettings } from './context.js';
