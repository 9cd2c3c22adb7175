// GET /api/stream: the stream service's server-sent events, passed through as they come.
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { FastifyRequest } from 'fastify';
import { AppError, CORRELATION_ID_HEADER, type HttpServer } from '@optic-mart/platform';

/** The header the stream service reads the user from; only the gateway may set it. */
const PRINCIPAL_HEADER = 'x-optic-principal';

// Response headers worth passing on; hop-by-hop ones (connection, transfer-encoding) are not.
const PASSED_HEADERS = ['content-type', 'cache-control', 'retry-after', 'x-accel-buffering'];

export interface StreamProxyOptions {
  /** The stream service's base URL, e.g. http://127.0.0.1:8082. */
  readonly streamUrl: string;
  /** How long to wait for the stream service to answer before a 503. Default 5 s. */
  readonly connectTimeoutMs?: number;
  /**
   * The authenticated user to tell the stream service, as `<userId>;role=<role>`; undefined for an
   * anonymous request. The client's own `x-optic-principal` is never passed on: anyone could claim
   * to be anyone with it.
   */
  readonly principalOf?: (request: FastifyRequest) => string | undefined;
}

/** Registers GET /api/stream, proxied to the stream service's GET /stream with the query string. */
export function registerStreamProxy(app: HttpServer, options: StreamProxyOptions): void {
  const base = new URL(options.streamUrl);
  const client = base.protocol === 'https:' ? https : http;
  // One socket per open stream, closed with it: nothing to reuse, nothing left half-read.
  const agent = new client.Agent({ keepAlive: false });
  const connectTimeoutMs = options.connectTimeoutMs ?? 5_000;
  const open = new Set<ServerResponse>();
  // Open streams would hold the gateway's close until the shutdown timeout; ended, their clients
  // reconnect (to another gateway) with their Last-Event-ID.
  app.addHook('preClose', async () => {
    for (const res of open) res.end();
  });

  app.get('/api/stream', async (request, reply) => {
    const query = request.url.includes('?') ? request.url.slice(request.url.indexOf('?')) : '';
    const target = new URL(`${base.pathname.replace(/\/$/, '')}/stream${query}`, base);
    const headers: Record<string, string> = {
      accept: 'text/event-stream',
      [CORRELATION_ID_HEADER]: request.id,
    };
    const lastEventId = request.headers['last-event-id'];
    if (typeof lastEventId === 'string') headers['last-event-id'] = lastEventId;
    const principal = options.principalOf?.(request);
    if (principal !== undefined) headers[PRINCIPAL_HEADER] = principal;

    const upstreamRequest = client.request(target, { method: 'GET', headers, agent });
    const upstream = await new Promise<IncomingMessage>((resolve, reject) => {
      const timer = setTimeout(() => upstreamRequest.destroy(new Error('no answer')), connectTimeoutMs);
      upstreamRequest.once('response', (response) => {
        clearTimeout(timer);
        resolve(response);
      });
      // `on`, not `once`: a later error (the stream cut mid-way) must not go unhandled.
      upstreamRequest.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      upstreamRequest.end();
    }).catch((err: unknown) => {
      request.log.warn({ err }, 'stream service unreachable');
      throw new AppError('service_unavailable', 'The stream service is not available; try again.', {
        extra: { retryAfter: 2 },
      });
    });

    // From here the response is ours to write: it streams until either side goes away.
    reply.hijack();
    const res = reply.raw;
    const passed: Record<string, string> = { [CORRELATION_ID_HEADER]: request.id };
    for (const name of PASSED_HEADERS) {
      const value = upstream.headers[name];
      if (typeof value === 'string') passed[name] = value;
    }
    res.writeHead(upstream.statusCode ?? 502, passed);
    res.socket?.setNoDelay(true);
    // The client left: end the upstream stream so the service forgets it at once.
    open.add(res);
    res.on('close', () => {
      open.delete(res);
      upstream.destroy();
    });
    upstream.on('error', () => res.destroy());
    upstream.on('close', () => {
      if (!res.writableEnded) res.end();
    });
    // pipe() carries back-pressure: a client that reads slowly fills the service's buffer for it,
    // where the service drops it, instead of piling up here.
    upstream.pipe(res);
  });
}
