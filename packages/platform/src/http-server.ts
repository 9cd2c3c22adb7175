/**
 * The Fastify instance every Optic Mart process serves HTTP with, wired the same way
 * everywhere: JSON logs with a correlation id, errors as problem+json from one handler,
 * /healthz, /readyz, /metrics and a request-duration histogram.
 */
import { Ajv } from 'ajv';
import addFormatsPlugin from 'ajv-formats';
import { fastify, LogController } from 'fastify';
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { CORRELATION_ID_HEADER, correlationIdFrom } from './correlation-id.js';
import { AppError, PROBLEM_CONTENT_TYPE, toProblem } from './errors.js';
import type { Logger } from './logger.js';
import { httpRequestDuration } from './metrics.js';
import type { MetricsRegistry } from './metrics.js';
import { runReadinessChecks } from './readiness.js';
import type { ReadinessCheck } from './readiness.js';
import { appErrorFrom } from './request-errors.js';
import type { Shutdown } from './shutdown.js';

/** A plain FastifyInstance, so any plugin or helper typed against Fastify's defaults accepts it. */
export type HttpServer = FastifyInstance;

export interface HttpServerOptions {
  readonly logger: Logger;
  readonly metrics: MetricsRegistry;
  /** Run by GET /readyz, concurrently; all must pass for a 200. */
  readonly readinessChecks?: readonly ReadinessCheck[];
  /** Per-check timeout unless the check sets its own; default 2000 ms. */
  readonly readinessTimeoutMs?: number;
  /** When given, /readyz answers 503 from the moment shutdown begins. */
  readonly shutdown?: Pick<Shutdown, 'isShuttingDown'>;
  /** Largest accepted request body in bytes; default 1 MiB. */
  readonly bodyLimit?: number;
}

const DEFAULT_BODY_LIMIT = 1024 * 1024;
// ajv-formats is CommonJS; its default export arrives wrapped under ESM interop.
const addFormats = addFormatsPlugin as unknown as (ajv: Ajv) => Ajv;
// The label for requests that matched no route: raw URLs as labels would let any client
// create unbounded series (one per probed path) and exhaust Prometheus.
const UNMATCHED_ROUTE = '(unmatched)';

// Fastify's own per-request lines ("incoming request", "request completed") double every
// request at info; one debug line on completion is enough, errors are logged by the handler.
class RequestLogController extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(
    error: Error | null | undefined,
    request: FastifyRequest,
    reply: FastifyReply,
  ): void {
    const fields = {
      method: request.method,
      path: pathOf(request),
      route: request.routeOptions.url ?? UNMATCHED_ROUTE,
      statusCode: reply.statusCode,
      responseTimeMs: reply.elapsedTime,
    };
    if (error) reply.log.error({ ...fields, err: error }, 'request errored');
    else reply.log.debug(fields, 'request completed');
  }
}

// Without the query string: it may carry tokens (EventSource cannot send headers, so SSE
// clients put theirs there), and logs and problem bodies are read by many.
function pathOf(request: FastifyRequest): string {
  const query = request.url.indexOf('?');
  return query === -1 ? request.url : request.url.slice(0, query);
}

function sendProblem(reply: FastifyReply, error: AppError, instance: string): FastifyReply {
  // A 503 or 429 that knows when to come back says so the standard way too.
  const retryAfter = error.extra?.retryAfter;
  if (typeof retryAfter === 'number') reply.header('Retry-After', String(Math.ceil(retryAfter)));
  // Serialized here, not by Fastify: a route's response schema for that status would
  // otherwise strip the problem members it does not list.
  return reply
    .code(error.status)
    .type(PROBLEM_CONTENT_TYPE)
    .send(JSON.stringify(toProblem(error, instance)));
}

/**
 * Creates the process's HTTP server. Register routes on it, then `listen`; register
 * `() => app.close()` as a shutdown hook after the resources the routes use, so it closes first.
 */
export function createHttpServer(options: HttpServerOptions): HttpServer {
  const { logger, metrics, readinessChecks = [], readinessTimeoutMs = 2000, shutdown } = options;
  const bodyLimit = options.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const duration = httpRequestDuration(metrics);

  // Seen as Fastify's base logger (it is one), so the instance gets Fastify's default type
  // and fits every plugin and helper typed against it; pino's type would make it incompatible.
  const baseLogger: FastifyBaseLogger = logger;
  const app = fastify({
    loggerInstance: baseLogger,
    logController: new RequestLogController({ requestIdLogLabel: 'correlationId' }),
    // The request id is the correlation id, so every request.log line carries it for free.
    genReqId: (req) => correlationIdFrom(req.headers),
    requestIdHeader: false,
    bodyLimit,
    // What Fastify answers before any route or hook runs (a path that does not decode, a path
    // parameter longer than the router takes) is a problem+json like every other error, not
    // Fastify's own JSON (found by apps/gateway/src/bad-input.int.test.ts).
    frameworkErrors: (error, request, reply) => {
      void sendProblem(reply, appErrorFrom(error, { bodyLimit }), pathOf(request));
    },
    // All errors, not just the first: a client fixing a form wants every bad field at once.
  });
  // Two validators: query strings, params and headers arrive as text, so they are coerced to the
  // schema's types; a JSON body is already typed, so `"price": "12"` is a type error to report,
  // not something to coerce. Unknown properties are reported too, never dropped silently, and
  // all errors at once: a client fixing a form wants every bad field.
  const strictAjv = new Ajv({
    allErrors: true,
    removeAdditional: false,
    useDefaults: true,
    coerceTypes: false,
    strict: false,
  });
  const textAjv = new Ajv({
    allErrors: true,
    removeAdditional: false,
    useDefaults: true,
    coerceTypes: 'array',
    strict: false,
  });
  addFormats(strictAjv);
  addFormats(textAjv);
  app.setValidatorCompiler(({ schema, httpPart }) =>
    (httpPart === 'body' ? strictAjv : textAjv).compile(schema),
  );

  app.addHook('onRequest', (request, reply, done) => {
    reply.header(CORRELATION_ID_HEADER, request.id);
    done();
  });

  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? UNMATCHED_ROUTE;
    duration.observe(
      { method: request.method, route, status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
    done();
  });

  app.setErrorHandler((error, request, reply) => {
    const appError = appErrorFrom(error, { bodyLimit: request.routeOptions.bodyLimit ?? bodyLimit });
    // A 503 is the system saying "not now" (no worker, load shed, shutting down, a read model not
    // caught up yet): no bug to report.
    if (appError.status >= 500 && appError.status !== 503) {
      request.log.error({ err: error, code: appError.code }, 'request failed');
    } else if (appError.status >= 500)
      request.log.warn({ code: appError.code, detail: appError.detail }, 'request refused');
    else request.log.info({ code: appError.code, detail: appError.detail }, 'request rejected');
    return sendProblem(reply, appError, pathOf(request));
  });

  app.setNotFoundHandler((request, reply) => {
    const path = pathOf(request);
    return sendProblem(reply, new AppError('not_found', `No route for ${request.method} ${path}.`), path);
  });

  // Probes and scrapes come every few seconds; at warn they stay out of debug logs.
  app.get('/healthz', { logLevel: 'warn' }, async () => ({ status: 'ok' }));

  app.get('/readyz', { logLevel: 'warn' }, async (request, reply) => {
    if (shutdown?.isShuttingDown() === true) {
      return sendProblem(reply, new AppError('service_unavailable', 'Shutting down.'), '/readyz');
    }
    const results = await runReadinessChecks(readinessChecks, readinessTimeoutMs);
    const checks = Object.fromEntries(results.map((r) => [r.name, r.status]));
    const failing = results.filter((r) => r.status !== 'ok');
    if (failing.length === 0) return { status: 'ok', checks };
    for (const r of failing) request.log.warn({ check: r.name, status: r.status, err: r.error }, 'not ready');
    // Names and outcomes only: a check's error message can reveal hosts and ports to anyone.
    const detail = `Not ready: ${failing.map((r) => `${r.name} ${r.status.replace('_', ' ')}`).join(', ')}.`;
    return sendProblem(reply, new AppError('service_unavailable', detail, { extra: { checks } }), '/readyz');
  });

  app.get('/metrics', { logLevel: 'warn' }, async (_request, reply) => {
    return reply.type(metrics.contentType).send(await metrics.metrics());
  });

  return app;
}
