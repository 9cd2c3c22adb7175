// GET /stream?topics=…: server-sent events of read-model notices, resumable without gap or repeat.
import type { ServerResponse } from 'node:http';
import pg from 'pg';
import type { KeyValueStore } from '@optic-mart/messaging';
import {
  counter,
  createHttpServer,
  gauge,
  type HttpServer,
  type Logger,
  type MetricsRegistry,
  type Shutdown,
} from '@optic-mart/platform';
import {
  NoticeFeed,
  ensureNoticesSchema,
  pruneNotices,
  prunedThrough,
  readNotices,
  type NoticeDelivery,
  type ProjectionNotice,
} from '@optic-mart/runtime';
import type { StreamConfig } from './config.js';
import { authorizeTopics, parsePrincipal, formatCursor, parseCursor, type Cursor } from './topics.js';

/** The header the gateway sets to the authenticated user; anything a client sent is removed there. */
export const PRINCIPAL_HEADER = 'x-optic-principal';

/** Notices read per query while replaying a resumed client's backlog. */
const REPLAY_PAGE = 500;
/** Feed deliveries held for a client while its backlog replays; more and it is dropped as too slow. */
const MAX_PENDING_DELIVERIES = 10_000;

interface StreamMetrics {
  readonly clients: { inc(): void; dec(): void };
  readonly sent: { inc(n?: number): void };
  readonly replayed: { inc(n?: number): void };
  readonly dropped: { inc(labels: { reason: string }): void };
}

/** An empty cursor still needs an id: `id:` with no value would make the browser forget it. */
const EMPTY_CURSOR = '-';

const idOf = (cursor: Cursor): string => (cursor.size === 0 ? EMPTY_CURSOR : formatCursor(cursor));

/** One connected client: its topics, its cursor, and the response it is written to. */
class SseClient {
  readonly #res: ServerResponse;
  readonly #topics: ReadonlySet<string>;
  readonly #cursor: Cursor;
  readonly #maxBytes: number;
  readonly #metrics: StreamMetrics;
  readonly #onGone: (client: SseClient, reason: string | null) => void;
  /** Feed deliveries that arrived while the backlog was replaying; null once live. */
  #pending: NoticeDelivery[] | null;
  #closed = false;

  constructor(options: {
    res: ServerResponse;
    topics: readonly string[];
    cursor: Cursor;
    replaying: boolean;
    maxBytes: number;
    metrics: StreamMetrics;
    onGone: (client: SseClient, reason: string | null) => void;
  }) {
    this.#res = options.res;
    this.#topics = new Set(options.topics);
    this.#cursor = options.cursor;
    this.#pending = options.replaying ? [] : null;
    this.#maxBytes = options.maxBytes;
    this.#metrics = options.metrics;
    this.#onGone = options.onGone;
    this.#res.on('close', () => this.#gone(null));
    this.#res.on('error', () => this.#gone(null));
  }

  get closed(): boolean {
    return this.#closed;
  }

  get topics(): ReadonlySet<string> {
    return this.#topics;
  }

  /** A feed delivery: sent now, or held until the replay is done. */
  offer(delivery: NoticeDelivery): void {
    if (this.#closed) return;
    if (this.#pending !== null) {
      this.#pending.push(delivery);
      if (this.#pending.length > MAX_PENDING_DELIVERIES) this.drop('slow');
      return;
    }
    this.#send(delivery.projection, delivery.notices, delivery.to);
  }

  /** The backlog after the client's cursor, from the table, then what the feed delivered meanwhile. */
  async replay(pool: pg.Pool, projections: ReadonlyMap<string, number>): Promise<void> {
    const topics = [...this.#topics];
    const names = new Set([...this.#cursor.keys(), ...projections.keys()]);
    const pruned = await prunedThrough(pool);
    for (const projection of names) {
      const mark = pruned.get(projection) ?? 0;
      if ((this.#cursor.get(projection) ?? 0) < mark) {
        // Notices after the cursor were pruned: the client cannot be told what changed, only that
        // it must reload what it shows from this projection.
        this.#cursor.set(projection, mark);
        const data = JSON.stringify({ projection, prunedThrough: mark });
        this.#write(`id: ${idOf(this.#cursor)}\nevent: reset\ndata: ${data}\n\n`);
      }
      for (;;) {
        if (this.#closed) return;
        const page = await readNotices(pool, {
          projection,
          after: this.#cursor.get(projection) ?? 0,
          topics,
          limit: REPLAY_PAGE,
        });
        if (this.#closed) return;
        const sent = this.#send(projection, page, 0);
        this.#metrics.replayed.inc(sent);
        if (this.#res.writableNeedDrain) await this.#drained();
        if (page.length < REPLAY_PAGE) break;
      }
      // Every notice up to the feed's position when this client registered committed before the
      // replay read the table, so the matching ones were all just sent.
      const known = projections.get(projection) ?? 0;
      if (known > (this.#cursor.get(projection) ?? 0)) this.#cursor.set(projection, known);
    }
    const pending = this.#pending ?? [];
    this.#pending = null;
    for (const delivery of pending) this.#send(delivery.projection, delivery.notices, delivery.to);
  }

  /** The first event: says the stream is live and gives the client a cursor even before any notice. */
  ready(retryMs: number): void {
    this.#write(
      `retry: ${retryMs}\nid: ${idOf(this.#cursor)}\nevent: ready\ndata: ${JSON.stringify({ topics: [...this.#topics] })}\n\n`,
    );
  }

  heartbeat(): void {
    this.#write(': heartbeat\n\n');
  }

  /** Ends the stream from our side (shutdown): the client reconnects elsewhere with its cursor. */
  end(): void {
    if (this.#closed) return;
    this.#res.end();
    this.#gone(null);
  }

  drop(reason: string): void {
    if (this.#closed) return;
    this.#res.destroy();
    this.#gone(reason);
  }

  /** Sends the notices after the cursor that match the client's topics; returns how many were sent. */
  #send(projection: string, notices: readonly ProjectionNotice[], to: number): number {
    if (this.#closed) return 0;
    const last = this.#cursor.get(projection) ?? 0;
    let chunk = '';
    let sent = 0;
    for (const notice of notices) {
      if (notice.position <= last) continue;
      const matched = notice.topics.filter((topic) => this.#topics.has(topic));
      if (matched.length === 0) continue;
      this.#cursor.set(projection, notice.position);
      const id = idOf(this.#cursor);
      matched.forEach((topic, i) => {
        // The id on the notice's last event only: a client cut off inside a notice gets it again.
        const idLine = i === matched.length - 1 ? `id: ${id}\n` : '';
        const data = JSON.stringify({ topic, projection, position: notice.position });
        chunk += `${idLine}event: notice\ndata: ${data}\n\n`;
        sent++;
      });
    }
    if (to > (this.#cursor.get(projection) ?? 0)) this.#cursor.set(projection, to);
    if (chunk !== '') {
      this.#write(chunk);
      this.#metrics.sent.inc(sent);
    }
    return sent;
  }

  #write(chunk: string): void {
    if (this.#closed) return;
    this.#res.write(chunk);
    // What the socket has not taken yet: a client that reads slower than we write is dropped
    // before its backlog costs memory or holds up anyone (it resumes with its Last-Event-ID).
    if (this.#res.writableLength > this.#maxBytes) this.drop('slow');
  }

  #drained(): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        this.#res.off('drain', done);
        this.#res.off('close', done);
        resolve();
      };
      this.#res.on('drain', done);
      this.#res.on('close', done);
    });
  }

  #gone(reason: string | null): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#pending = null;
    this.#onGone(this, reason);
  }
}

export interface StreamApp {
  readonly app: HttpServer;
  readonly feed: NoticeFeed;
  readonly pool: pg.Pool;
  /** Connected clients (for tests and metrics). */
  clientCount(): number;
}

/** The stream service, built but not listening: tests listen on port 0. */
export async function buildStreamApp(options: {
  config: StreamConfig;
  kv: KeyValueStore;
  logger: Logger;
  metrics: MetricsRegistry;
  shutdown?: Shutdown;
}): Promise<StreamApp> {
  const { config, kv, logger } = options;
  const pool = new pg.Pool({
    connectionString: config.DATABASE_URL,
    max: config.STREAM_POOL_SIZE,
    application_name: 'optic-stream',
  });
  pool.on('error', (err) => logger.warn({ err }, 'idle stream database connection failed'));
  await ensureNoticesSchema(pool);
  const feed = new NoticeFeed({ pool, kv, logger, catchUpIntervalMs: config.STREAM_CATCH_UP_MS });
  await feed.start();

  const clientsGauge = gauge(options.metrics, {
    name: 'stream_clients',
    help: 'Server-sent event clients connected',
  });
  const metrics: StreamMetrics = {
    clients: clientsGauge,
    sent: counter(options.metrics, {
      name: 'stream_notices_sent_total',
      help: 'Notice events sent to clients (live and replayed)',
    }),
    replayed: counter(options.metrics, {
      name: 'stream_notices_replayed_total',
      help: 'Notice events sent from the table to clients that resumed with Last-Event-ID',
    }),
    dropped: counter<'reason'>(options.metrics, {
      name: 'stream_clients_dropped_total',
      help: 'Clients the service disconnected, by reason (slow: its buffer went over the bound)',
      labelNames: ['reason'],
    }),
  };

  const clients = new Set<SseClient>();
  const onGone = (client: SseClient, reason: string | null) => {
    if (!clients.delete(client)) return;
    metrics.clients.dec();
    if (reason !== null) {
      metrics.dropped.inc({ reason });
      logger.info({ reason, topics: [...client.topics] }, 'stream client dropped');
    }
  };
  const stopListening = feed.listen((delivery) => {
    for (const client of clients) client.offer(delivery);
  });
  const heartbeat = setInterval(() => {
    for (const client of clients) client.heartbeat();
  }, config.STREAM_HEARTBEAT_MS);
  heartbeat.unref();
  const prune =
    config.STREAM_PRUNE_INTERVAL_MS > 0
      ? setInterval(() => {
          pruneNotices(pool, { olderThanMs: config.STREAM_NOTICE_RETENTION_MS }).then(
            (count) => count > 0 && logger.info({ count }, 'pruned old notices'),
            (err: unknown) => logger.warn({ err }, 'could not prune notices'),
          );
        }, config.STREAM_PRUNE_INTERVAL_MS)
      : null;
  prune?.unref();

  const app = createHttpServer({
    logger,
    metrics: options.metrics,
    ...(options.shutdown ? { shutdown: options.shutdown } : {}),
    readinessChecks: [
      {
        name: 'database',
        check: async () => {
          await pool.query('SELECT 1');
        },
      },
    ],
  });

  app.get('/stream', async (request, reply) => {
    const query = request.query as Record<string, string | string[] | undefined>;
    const principal = parsePrincipal(request.headers[PRINCIPAL_HEADER]);
    const topics = authorizeTopics(query.topics, principal, config.STREAM_MAX_TOPICS);
    const lastEventHeader = request.headers['last-event-id'];
    const lastEventQuery = query.lastEventId;
    const lastEventId =
      typeof lastEventHeader === 'string'
        ? lastEventHeader
        : typeof lastEventQuery === 'string'
          ? lastEventQuery
          : undefined;
    const resumeFrom =
      lastEventId === undefined || lastEventId.trim() === ''
        ? null
        : lastEventId.trim() === EMPTY_CURSOR
          ? new Map<string, number>()
          : parseCursor(lastEventId);

    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      ...(reply.getHeaders() as Record<string, string>),
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      // Proxies (nginx) must pass events through as they come, not buffer them.
      'x-accel-buffering': 'no',
    });
    res.socket?.setNoDelay(true);
    // Registered and its start taken in one synchronous step: the feed hands out nothing between.
    const heads = feed.heads();
    const client = new SseClient({
      res,
      topics,
      cursor: resumeFrom ?? heads,
      replaying: resumeFrom !== null,
      maxBytes: config.STREAM_CLIENT_BUFFER_BYTES,
      metrics,
      onGone,
    });
    clients.add(client);
    metrics.clients.inc();
    if (resumeFrom === null) {
      client.ready(config.STREAM_RETRY_MS);
      return;
    }
    try {
      await client.replay(pool, heads);
      client.ready(config.STREAM_RETRY_MS);
    } catch (err) {
      request.log.warn({ err }, 'stream replay failed; the client will resume');
      client.drop('replay_failed');
    }
  });

  app.addHook('preClose', async () => {
    // Open streams would hold the server's close forever; ended, clients reconnect elsewhere.
    for (const client of [...clients]) client.end();
  });
  app.addHook('onClose', async () => {
    clearInterval(heartbeat);
    if (prune !== null) clearInterval(prune);
    stopListening();
    await feed.stop();
    await pool.end();
  });

  return { app, feed, pool, clientCount: () => clients.size };
}
