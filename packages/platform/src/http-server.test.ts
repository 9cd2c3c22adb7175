import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { AppError } from './errors.js';
import type { ProblemDetails } from './errors.js';
import { createHttpServer } from './http-server.js';
import type { HttpServer, HttpServerOptions } from './http-server.js';
import { createLogger } from './logger.js';
import { createMetricsRegistry } from './metrics.js';
import { captureLogs } from './test-support.js';

const servers: HttpServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

function server(options: Partial<HttpServerOptions> = {}) {
  const logs = captureLogs();
  const app = createHttpServer({
    logger: createLogger({ name: 'test', level: 'debug', destination: logs.destination }),
    metrics: createMetricsRegistry({ service: 'test', defaultMetrics: false }),
    ...options,
  });
  servers.push(app);
  return { app, logs: logs.lines };
}

function problem(body: string): ProblemDetails {
  return JSON.parse(body) as ProblemDetails;
}

const petSchema = {
  body: {
    type: 'object',
    required: ['name', 'price'],
    properties: {
      name: { type: 'string', minLength: 1 },
      price: { type: 'integer', minimum: 0 },
      tags: {
        type: 'array',
        items: { type: 'object', properties: { label: { type: 'string', maxLength: 5 } } },
      },
    },
  },
  querystring: { type: 'object', properties: { limit: { type: 'integer', maximum: 100 } } },
} as const;

describe('createHttpServer: errors as problem+json', () => {
  it('renders an AppError with its status, code and extras', async () => {
    const { app } = server();
    app.post('/streams/:id', async () => {
      throw new AppError('wrong_version', 'Expected version 4, the stream is at 7.', {
        extra: { currentVersion: 7 },
      });
    });
    const res = await app.inject({ method: 'POST', url: '/streams/pet-1?token=secret', payload: {} });
    assert.equal(res.statusCode, 400);
    assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
    assert.deepEqual(problem(res.body), {
      type: 'https://optic-mart.dev/problems/wrong_version',
      title: 'Wrong version tag',
      status: 400,
      detail: 'Expected version 4, the stream is at 7.',
      code: 'wrong_version',
      instance: '/streams/pet-1',
      currentVersion: 7,
    });
  });

  it('names every bad field of a schema-validated request with its path', async () => {
    const { app } = server();
    let handled = false;
    app.post('/pets', { schema: petSchema }, async () => {
      handled = true;
      return {};
    });
    const res = await app.inject({
      method: 'POST',
      url: '/pets',
      payload: { price: -1, tags: [{ label: 'ok' }, { label: 'too long' }] },
    });
    assert.equal(res.statusCode, 400);
    const body = problem(res.body);
    assert.equal(body.code, 'validation_failed');
    assert.deepEqual(body.errors?.map((e) => e.field).sort(), [
      'body.name',
      'body.price',
      'body.tags[1].label',
    ]);
    assert.equal(body.errors?.find((e) => e.field === 'body.name')?.message, 'is required');
    assert.match(body.detail, /body\.name/);
    assert.equal(handled, false, 'bad input must not reach the handler');

    const query = await app.inject({
      method: 'POST',
      url: '/pets?limit=1000',
      payload: { name: 'Rex', price: 1 },
    });
    assert.equal(query.statusCode, 400);
    assert.deepEqual(
      problem(query.body).errors?.map((e) => e.field),
      ['query.limit'],
    );
  });

  it('turns a ZodError thrown by a handler into validation_failed', async () => {
    const { app } = server();
    app.post('/orders', async (request) =>
      z.object({ lines: z.array(z.object({ qty: z.number() })) }).parse(request.body),
    );
    const res = await app.inject({ method: 'POST', url: '/orders', payload: { lines: [{ qty: 'two' }] } });
    assert.equal(res.statusCode, 400);
    assert.deepEqual(
      problem(res.body).errors?.map((e) => e.field),
      ['lines[0].qty'],
    );
  });

  it('names the bad fields when routes validate with zod schemas', async () => {
    const { app } = server();
    const body = z.object({ name: z.string(), photos: z.array(z.url()) });
    app.setValidatorCompiler<z.ZodType>(({ schema }) => (data: unknown) => {
      const result = schema.safeParse(data);
      return result.success ? { value: result.data } : { error: result.error };
    });
    app.post('/pets', { schema: { body } }, async () => ({}));
    const res = await app.inject({ method: 'POST', url: '/pets', payload: { photos: ['not a url'] } });
    assert.equal(res.statusCode, 400);
    assert.equal(problem(res.body).code, 'validation_failed');
    assert.deepEqual(
      problem(res.body)
        .errors?.map((e) => e.field)
        .sort(),
      ['body.name', 'body.photos[0]'],
    );
  });

  it('answers malformed JSON with 400 bad_request', async () => {
    const { app } = server();
    app.post('/pets', async () => ({}));
    const res = await app.inject({
      method: 'POST',
      url: '/pets',
      headers: { 'content-type': 'application/json' },
      payload: '{"name": "Rex",',
    });
    assert.equal(res.statusCode, 400);
    assert.equal(problem(res.body).code, 'bad_request');
    assert.match(problem(res.body).detail, /not valid JSON/);
  });

  it('answers what the router refuses before any route runs (a path that does not decode, an overlong parameter) as problem+json', async () => {
    const { app } = server();
    app.get('/pets/:petId', async () => ({}));
    for (const url of ['/pets/%zz', `/pets/${'x'.repeat(200)}`]) {
      const res = await app.inject({ method: 'GET', url });
      assert.ok(res.statusCode >= 400 && res.statusCode < 500, `${url}: ${res.statusCode}`);
      assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
      assert.equal(typeof problem(res.body).code, 'string');
    }
  });

  it('answers a body over the limit with 413, by default above 1 MiB', async () => {
    const { app } = server();
    app.post('/upload', async () => ({ ok: true }));
    const justUnder = JSON.stringify({ data: 'x'.repeat(1024 * 1024 - 20) });
    const fits = await app.inject({
      method: 'POST',
      url: '/upload',
      payload: justUnder,
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(fits.statusCode, 200);
    const over = JSON.stringify({ data: 'x'.repeat(1024 * 1024) });
    const res = await app.inject({
      method: 'POST',
      url: '/upload',
      payload: over,
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(res.statusCode, 413);
    assert.equal(problem(res.body).code, 'payload_too_large');
    assert.equal(problem(res.body).limit, 1024 * 1024);
  });

  it('honours a configured body limit', async () => {
    const { app } = server({ bodyLimit: 64 });
    app.post('/pets', async () => ({}));
    const res = await app.inject({ method: 'POST', url: '/pets', payload: { name: 'x'.repeat(100) } });
    assert.equal(res.statusCode, 413);
    assert.match(problem(res.body).detail, /64 bytes/);
  });

  it('answers an unsupported content type with 415', async () => {
    const { app } = server();
    app.post('/pets', async () => ({}));
    const res = await app.inject({
      method: 'POST',
      url: '/pets',
      headers: { 'content-type': 'application/xml' },
      payload: '<pet/>',
    });
    assert.equal(res.statusCode, 415);
    assert.equal(problem(res.body).code, 'unsupported_media_type');
  });

  it('answers an unknown route with a 404 problem', async () => {
    const { app } = server();
    const res = await app.inject({ method: 'GET', url: '/no/such/thing?x=1' });
    assert.equal(res.statusCode, 404);
    assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
    const body = problem(res.body);
    assert.equal(body.code, 'not_found');
    assert.equal(body.instance, '/no/such/thing');
    assert.match(body.detail, /GET \/no\/such\/thing/);
  });

  it('answers an unknown error with a 500 internal problem, logging the stack but never sending it', async () => {
    const { app, logs } = server();
    app.get('/boom', async () => {
      throw new Error('relation "pets_secret" does not exist');
    });
    const res = await app.inject({
      method: 'GET',
      url: '/boom',
      headers: { 'x-correlation-id': 'corr-500' },
    });
    assert.equal(res.statusCode, 500);
    const body = problem(res.body);
    assert.equal(body.code, 'internal');
    assert.equal(body.status, 500);
    assert.doesNotMatch(res.body, /pets_secret|stack|\.ts:\d+/);

    const logged = logs.find((l) => l.level === 'error' && l.msg === 'request failed');
    assert.ok(logged, 'the failure is logged');
    assert.equal(logged.correlationId, 'corr-500');
    const err = logged.err as { message: string; stack: string };
    assert.match(err.message, /pets_secret/);
    assert.match(err.stack, /http-server\.test\.ts/);
  });

  it('keeps problem members a route response schema does not list', async () => {
    const { app } = server();
    app.get(
      '/strict',
      { schema: { response: { 409: { type: 'object', properties: { title: { type: 'string' } } } } } },
      async () => {
        throw new AppError('conflict', 'Already reserved.');
      },
    );
    const res = await app.inject({ method: 'GET', url: '/strict' });
    assert.equal(res.statusCode, 409);
    assert.equal(problem(res.body).code, 'conflict');
    assert.equal(problem(res.body).detail, 'Already reserved.');
  });

  it('keeps the status of a client error raised by Fastify or a plugin', async () => {
    const { app } = server();
    app.get('/limited', async () => {
      throw Object.assign(new Error('Rate limit exceeded, retry in 1 second'), { statusCode: 429 });
    });
    const res = await app.inject({ method: 'GET', url: '/limited' });
    assert.equal(res.statusCode, 429);
    assert.equal(problem(res.body).code, 'too_many_requests');
  });
});

describe('createHttpServer: correlation id', () => {
  it('echoes X-Correlation-Id, falls back to the traceparent trace id, else makes one', async () => {
    const { app, logs } = server();
    app.get('/ping', async (request) => {
      request.log.info('handling');
      return { id: request.id };
    });
    const given = await app.inject({
      method: 'GET',
      url: '/ping',
      headers: { 'x-correlation-id': 'order-77' },
    });
    assert.equal(given.headers['x-correlation-id'], 'order-77');
    assert.equal(given.json<{ id: string }>().id, 'order-77');
    assert.ok(logs.some((l) => l.msg === 'handling' && l.correlationId === 'order-77'));

    const traced = await app.inject({
      method: 'GET',
      url: '/ping',
      headers: { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' },
    });
    assert.equal(traced.headers['x-correlation-id'], '4bf92f3577b34da6a3ce929d0e0e4736');

    const fresh = await app.inject({ method: 'GET', url: '/ping' });
    assert.match(String(fresh.headers['x-correlation-id']), /^[0-9a-f-]{36}$/);
  });

  it('echoes it on error responses too', async () => {
    const { app } = server();
    const res = await app.inject({
      method: 'GET',
      url: '/missing',
      headers: { 'x-correlation-id': 'lost-1' },
    });
    assert.equal(res.statusCode, 404);
    assert.equal(res.headers['x-correlation-id'], 'lost-1');
  });
});

describe('createHttpServer: health, readiness, metrics', () => {
  it('answers /healthz with 200', async () => {
    const { app } = server();
    const res = await app.inject({ method: 'GET', url: '/healthz' });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), { status: 'ok' });
  });

  it('answers /readyz with 200 when every check passes', async () => {
    const { app } = server({
      readinessChecks: [
        { name: 'database', check: async () => {} },
        { name: 'nats', check: async () => {} },
      ],
    });
    const res = await app.inject({ method: 'GET', url: '/readyz' });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), { status: 'ok', checks: { database: 'ok', nats: 'ok' } });
  });

  it('answers /readyz with a 503 problem naming the failing and the hung check', async () => {
    let aborted = false;
    const { app } = server({
      readinessTimeoutMs: 20,
      readinessChecks: [
        {
          name: 'database',
          check: async () => Promise.reject(new Error('connect ECONNREFUSED 10.0.0.5:5432')),
        },
        {
          name: 'nats',
          check: (signal) =>
            new Promise((_resolve, reject) => {
              signal.addEventListener('abort', () => {
                aborted = true;
                reject(signal.reason as Error);
              });
            }),
        },
        { name: 'redis', check: async () => {} },
      ],
    });
    const res = await app.inject({ method: 'GET', url: '/readyz' });
    assert.equal(res.statusCode, 503);
    assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
    const body = problem(res.body);
    assert.equal(body.code, 'service_unavailable');
    assert.match(body.detail, /database failed/);
    assert.match(body.detail, /nats timed out/);
    assert.doesNotMatch(body.detail, /redis/);
    assert.deepEqual(body.checks, { database: 'failed', nats: 'timed_out', redis: 'ok' });
    assert.doesNotMatch(res.body, /10\.0\.0\.5/);
    assert.equal(aborted, true, 'a timed-out check is told to stop');
  });

  it('answers /readyz with 503 once shutdown has begun, even with healthy checks', async () => {
    let shuttingDown = false;
    const { app } = server({
      readinessChecks: [{ name: 'database', check: async () => {} }],
      shutdown: { isShuttingDown: () => shuttingDown },
    });
    assert.equal((await app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200);
    shuttingDown = true;
    const res = await app.inject({ method: 'GET', url: '/readyz' });
    assert.equal(res.statusCode, 503);
    assert.match(problem(res.body).detail, /Shutting down/);
    assert.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
  });

  it('exposes the request-duration histogram labelled by route pattern', async () => {
    const { app } = server();
    app.get('/pets/:petId', async () => ({}));
    await app.inject({ method: 'GET', url: '/pets/123' });
    await app.inject({ method: 'GET', url: '/pets/456' });
    await app.inject({ method: 'GET', url: '/random-probe-1' });
    const res = await app.inject({ method: 'GET', url: '/metrics' });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^text\/plain/);
    assert.match(
      res.body,
      /http_request_duration_seconds_count\{service="test",method="GET",route="\/pets\/:petId",status="200"\} 2/,
    );
    assert.match(res.body, /route="\(unmatched\)",status="404"/);
    assert.doesNotMatch(res.body, /\/pets\/123|random-probe/);
  });
});
