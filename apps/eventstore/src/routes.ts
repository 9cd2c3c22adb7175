import type { ServerResponse } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import {
  AppError,
  counter,
  gauge,
  histogram,
  type HttpServer,
  type Logger,
  type MetricsRegistry,
} from '@optic-mart/platform';
import { subscribe, type EventStore, type ExpectedVersion, type NewEvent } from '@optic-mart/eventstore';
import { eventJson } from './event-json.js';
import {
  appendBody,
  liveQuery,
  metadataBody,
  readAllQuery,
  readStreamQuery,
  streamParams,
  subjectParams,
} from './schemas.js';

interface AppendBody {
  version: ExpectedVersion;
  events: NewEvent[];
}

/** How long an idle live stream waits between heartbeats (a comment line that keeps proxies from closing it). */
const HEARTBEAT_MS = 15_000;
/** A live client whose socket buffer grows past this is dropped, so a slow reader never slows the rest. */
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;

/** The REST API of seed 000: append with a version tag, read a stream, read the global log, live log. */
export function registerRoutes(app: HttpServer, store: EventStore, metrics: MetricsRegistry): void {
  const appends = counter(metrics, {
    name: 'eventstore_appends_total',
    help: 'Appends by outcome',
    labelNames: ['outcome'],
  });
  const appended = counter(metrics, { name: 'eventstore_events_appended_total', help: 'Events written' });
  const appendSeconds = histogram(metrics, {
    name: 'eventstore_append_duration_seconds',
    help: 'Append latency, including the wait for the global position',
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
  });
  const liveClients = gauge(metrics, {
    name: 'eventstore_live_clients',
    help: 'Open live (SSE) connections',
  });
  gauge(metrics, {
    name: 'eventstore_head_position',
    help: 'Last position of the global log known to this process',
    collect() {
      this.set(store.notifier.lastPosition);
    },
  });

  app.post<{ Params: { streamId: string }; Body: AppendBody }>(
    '/streams/:streamId',
    { schema: { params: streamParams, body: appendBody } },
    async (request, reply) => {
      const { streamId } = request.params;
      const started = performance.now();
      try {
        const result = await store.append(streamId, request.body.events, {
          expectedVersion: request.body.version,
        });
        appends.inc({ outcome: result.duplicate ? 'duplicate' : 'ok' });
        if (!result.duplicate) appended.inc(request.body.events.length);
        appendSeconds.observe((performance.now() - started) / 1000);
        if (result.duplicate) reply.header('Idempotent-Replayed', 'true');
        return reply
          .code(201)
          .header('Location', `/streams/${encodeURIComponent(streamId)}`)
          .send({ streamId, version: result.version, position: result.position });
      } catch (err) {
        appends.inc({ outcome: err instanceof AppError ? err.code : 'error' });
        throw err;
      }
    },
  );

  app.get<{
    Params: { streamId: string };
    Querystring: { from?: number; limit: number; direction: 'forwards' | 'backwards' };
  }>(
    '/streams/:streamId',
    { schema: { params: streamParams, querystring: readStreamQuery } },
    async (request) => {
      const { streamId } = request.params;
      const { from, limit, direction } = request.query;
      const events = await store.readStream(streamId, {
        ...(from !== undefined ? { from } : {}),
        limit,
        direction,
      });
      const version = await store.streamVersion(streamId);
      return { streamId, version, events: events.map(eventJson) };
    },
  );

  app.delete<{ Params: { streamId: string } }>(
    '/streams/:streamId',
    { schema: { params: streamParams } },
    async (request, reply) => {
      await store.deleteStream(request.params.streamId);
      return reply.code(204).send();
    },
  );

  app.get<{ Params: { streamId: string } }>(
    '/streams/:streamId/metadata',
    { schema: { params: streamParams } },
    async (request) => {
      const meta = await store.getStreamMetadata(request.params.streamId);
      if (!meta && !(await store.streamExists(request.params.streamId))) {
        throw new AppError('stream_not_found', `stream ${request.params.streamId} does not exist`);
      }
      return meta ?? { streamId: request.params.streamId, metadata: {}, deleted: false };
    },
  );

  app.put<{ Params: { streamId: string }; Body: Record<string, unknown> }>(
    '/streams/:streamId/metadata',
    { schema: { params: streamParams, body: metadataBody } },
    async (request) => {
      await store.setStreamMetadata(request.params.streamId, request.body);
      return store.getStreamMetadata(request.params.streamId);
    },
  );

  app.delete<{ Params: { subjectId: string } }>(
    '/subjects/:subjectId/personal-data',
    { schema: { params: subjectParams } },
    async (request) => {
      const result = await store.eraseSubject(request.params.subjectId);
      return { subjectId: request.params.subjectId, erasedEvents: result.events };
    },
  );

  app.get<{ Querystring: { after: number; limit: number; category?: string; type?: string[] } }>(
    '/events',
    { schema: { querystring: readAllQuery } },
    async (request) => {
      const { after, limit, category, type } = request.query;
      const page = await store.readAll({
        after,
        limit,
        ...(category !== undefined ? { category } : {}),
        ...(type !== undefined ? { types: type } : {}),
      });
      return { events: page.events.map(eventJson), checkpoint: page.checkpoint, head: page.head };
    },
  );

  // Live streams never end by themselves: close them when the server closes.
  const open = new Set<ServerResponse>();
  app.addHook('preClose', async () => {
    for (const res of open) res.end();
  });

  app.get<{ Querystring: { after?: number; category?: string; type?: string[] } }>(
    '/events/live',
    { schema: { querystring: liveQuery } },
    async (request, reply) => live(request, reply),
  );

  async function live(
    request: FastifyRequest<{ Querystring: { after?: number; category?: string; type?: string[] } }>,
    reply: FastifyReply,
  ): Promise<void> {
    const lastEventId = request.headers['last-event-id'];
    let after = request.query.after ?? (await store.headPosition());
    if (typeof lastEventId === 'string' && lastEventId.length > 0) {
      const resumed = Number(lastEventId);
      if (!Number.isSafeInteger(resumed) || resumed < 0) {
        throw new AppError('validation_failed', 'Last-Event-ID must be a position (a non-negative integer)', {
          errors: [{ field: 'headers.last-event-id', message: 'must be a non-negative integer' }],
        });
      }
      after = resumed;
    }
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
      'x-correlation-id': request.id,
    });
    res.write(`retry: 2000\n: live from position ${after}\n\n`);
    liveClients.inc();
    const heartbeat = setInterval(() => res.write(': heartbeat\n\n'), HEARTBEAT_MS);
    const sub = subscribe(store, {
      after,
      batchSize: 500,
      ...(request.query.category !== undefined ? { category: request.query.category } : {}),
      ...(request.query.type !== undefined ? { types: request.query.type } : {}),
      logger: request.log as unknown as Logger,
      handler: async (events) => {
        if (res.destroyed) return;
        let chunk = '';
        for (const e of events) chunk += `id: ${e.position}\ndata: ${JSON.stringify(eventJson(e))}\n\n`;
        res.write(chunk);
        if (res.writableLength > MAX_BUFFERED_BYTES) {
          request.log.warn({ buffered: res.writableLength }, 'live client too slow; dropping it');
          res.destroy();
        }
      },
    });
    open.add(res);
    res.once('close', () => {
      open.delete(res);
      clearInterval(heartbeat);
      liveClients.dec();
      void sub.stop();
    });
  }
}
