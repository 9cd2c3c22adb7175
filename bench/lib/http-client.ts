// The load generator's HTTP client: node:http on a keep-alive agent, one socket per client. The
// load shares two cores with what it measures, so it should cost as little CPU as it can: `fetch`
// (undici, web streams) spent several times more per request than this, on both sides of a
// comparison, and its event-loop work delayed the gateway it shares a process with.
import { Agent, request } from 'node:http';

export interface HttpAnswer {
  readonly status: number;
  readonly body: string;
}

export class HttpClient {
  readonly #agent: Agent;
  readonly #host: string;
  readonly #port: number;

  /** `baseUrl`: http://host:port; `sockets`: at most this many requests at a time. */
  constructor(baseUrl: string, sockets: number) {
    const url = new URL(baseUrl);
    this.#host = url.hostname;
    this.#port = Number(url.port || 80);
    this.#agent = new Agent({ keepAlive: true, maxSockets: sockets, maxFreeSockets: sockets });
  }

  /** POSTs `body` (JSON) to `path`, and reads the answer to its end (so the socket is kept). */
  post(path: string, body: string, headers: Readonly<Record<string, string>> = {}): Promise<HttpAnswer> {
    return new Promise((resolve, reject) => {
      const req = request(
        {
          agent: this.#agent,
          host: this.#host,
          port: this.#port,
          method: 'POST',
          path,
          headers: {
            ...headers,
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }),
          );
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  close(): void {
    this.#agent.destroy();
  }
}
