// A server-sent events client for tests, reading the stream as a browser's EventSource does
// (the id of an event without one stays the previous id), over node:http so a test can stop reading.
import http, { type IncomingMessage } from 'node:http';

export interface ReceivedNotice {
  readonly topic: string;
  readonly projection: string;
  readonly position: number;
}

export interface SseConnection {
  readonly status: number;
  readonly headers: IncomingMessage['headers'];
  /** The body of a non-200 answer. */
  readonly body: string;
  readonly notices: ReceivedNotice[];
  /** The data of `reset` events (notices after the cursor were pruned). */
  readonly resets: unknown[];
  /** The id a reconnecting EventSource would send as Last-Event-ID. */
  readonly lastEventId: () => string;
  /** Resolves at the `ready` event (the stream is live). */
  readonly ready: Promise<void>;
  /** Resolves when the connection ended (from either side). */
  readonly closed: Promise<void>;
  /** Resolves once `count` notices arrived; rejects after `timeoutMs`. */
  waitFor(count: number, timeoutMs?: number): Promise<void>;
  /** Stops reading (the socket's buffers fill up: a slow client). */
  pause(): void;
  resume(): void;
  close(): void;
}

const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });

export function connectSse(
  baseUrl: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<SseConnection> {
  return new Promise((resolve, reject) => {
    const request = http.get(new URL(path, baseUrl), {
      headers: { accept: 'text/event-stream', ...headers },
      agent,
    });
    request.on('error', reject);
    request.on('response', (res) => {
      const notices: ReceivedNotice[] = [];
      const resets: unknown[] = [];
      let lastEventId = headers['last-event-id'] ?? '';
      let buffer = '';
      let body = '';
      let markReady!: () => void;
      const ready = new Promise<void>((r) => (markReady = r));
      let markClosed!: () => void;
      const closed = new Promise<void>((r) => (markClosed = r));
      const waiters = new Set<{ count: number; resolve: () => void }>();
      const wake = () => {
        for (const w of waiters) if (notices.length >= w.count) w.resolve();
      };
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        if (res.statusCode !== 200) {
          body += chunk;
          return;
        }
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) !== -1) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          let event = 'message';
          let data = '';
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) continue;
            const colon = line.indexOf(':');
            const field = colon === -1 ? line : line.slice(0, colon);
            const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
            if (field === 'id') lastEventId = value;
            else if (field === 'event') event = value;
            else if (field === 'data') data = data === '' ? value : `${data}\n${value}`;
          }
          if (event === 'ready') markReady();
          else if (event === 'notice') notices.push(JSON.parse(data) as ReceivedNotice);
          else if (event === 'reset') resets.push(JSON.parse(data));
        }
        wake();
      });
      const finish = () => markClosed();
      res.on('end', finish);
      res.on('close', finish);
      res.on('error', finish);
      const connection: SseConnection = {
        status: res.statusCode ?? 0,
        headers: res.headers,
        get body() {
          return body;
        },
        notices,
        resets,
        lastEventId: () => lastEventId,
        ready,
        closed,
        waitFor(count, timeoutMs = 20_000) {
          if (notices.length >= count) return Promise.resolve();
          return new Promise<void>((resolveWait, rejectWait) => {
            const waiter = {
              count,
              resolve: () => {
                clearTimeout(timer);
                waiters.delete(waiter);
                resolveWait();
              },
            };
            const timer = setTimeout(() => {
              waiters.delete(waiter);
              rejectWait(new Error(`got ${notices.length} notices of ${count} in ${timeoutMs} ms`));
            }, timeoutMs);
            waiters.add(waiter);
          });
        },
        pause: () => res.pause(),
        resume: () => res.resume(),
        close: () => {
          request.destroy();
          res.destroy();
        },
      };
      if (res.statusCode !== 200) {
        res.on('end', () => resolve(connection));
      } else resolve(connection);
    });
  });
}
