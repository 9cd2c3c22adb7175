import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError, type HttpServer } from '@optic-mart/platform';
import type { KeyValueStore } from '@optic-mart/messaging';

const HEADER = 'idempotency-key';
const KEPT_HEADERS = ['content-type', 'location', 'etag'] as const;

interface Stored {
  readonly state: 'in_progress' | 'done';
  readonly fingerprint: string;
  readonly status?: number;
  readonly headers?: Record<string, string>;
  readonly body?: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    idempotencyKey?: string;
  }
}

/**
 * `Idempotency-Key` on writes: the first request with a key runs and its response is kept; a
 * repeat of the same request gets that response back and changes nothing; the same key with a
 * different request is refused. A 5xx is not kept, so the client may retry with the key; nor is a
 * response marked `Cache-Control: no-store` (a login's token is never written to the store).
 */
export function registerIdempotency(app: HttpServer, kv: KeyValueStore, options: { ttlMs: number }): void {
  app.addHook('preHandler', async (request: FastifyRequest, reply: FastifyReply) => {
    const raw = request.headers[HEADER];
    if (raw === undefined || request.method === 'GET' || request.method === 'HEAD') return;
    const key = Array.isArray(raw) ? raw[0] : raw;
    if (!key || key.length > 200 || !/^[\x21-\x7e]+$/.test(key)) {
      throw new AppError('validation_failed', 'Idempotency-Key must be 1 to 200 visible ASCII characters', {
        errors: [{ field: 'headers.idempotency-key', message: 'must be 1 to 200 visible ASCII characters' }],
      });
    }
    // Keys are the client's: scoped to the user (who may log in again between retries), so one
    // user's key never replays another's response.
    const storeKey = `idempotency/${request.principal?.userId ?? 'anonymous'}/${key}`;
    const fingerprint = hash(`${request.method} ${request.url} ${JSON.stringify(request.body ?? null)}`);
    const first: Stored = { state: 'in_progress', fingerprint };
    if (await kv.setIfAbsent(storeKey, JSON.stringify(first), { ttlMs: options.ttlMs })) {
      request.idempotencyKey = storeKey;
      return;
    }
    const storedRaw = await kv.get(storeKey);
    const stored = storedRaw ? (JSON.parse(storedRaw) as Stored) : null;
    if (!stored)
      throw new AppError('idempotency_key_in_progress', 'Try again in a moment.', {
        extra: { retryAfter: 1 },
      });
    if (stored.fingerprint !== fingerprint) {
      throw new AppError('idempotency_key_reused', 'This Idempotency-Key was used with a different request.');
    }
    if (stored.state === 'in_progress') {
      throw new AppError('idempotency_key_in_progress', 'The first request with this key is still running.', {
        extra: { retryAfter: 1 },
      });
    }
    for (const [name, value] of Object.entries(stored.headers ?? {})) reply.header(name, value);
    reply.header('idempotent-replayed', 'true');
    return reply.code(stored.status ?? 200).send(stored.body ?? '');
  });

  app.addHook('onSend', async (request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    const storeKey = request.idempotencyKey;
    if (!storeKey) return payload;
    // A 5xx may be retried; a response marked no-store (a login's token) must never be kept.
    if (reply.statusCode >= 500 || /no-store/i.test(String(reply.getHeader('cache-control') ?? ''))) {
      await kv.delete(storeKey);
      return payload;
    }
    const headers: Record<string, string> = {};
    for (const name of KEPT_HEADERS) {
      const value = reply.getHeader(name);
      if (value !== undefined) headers[name] = String(value);
    }
    const fingerprint = hash(`${request.method} ${request.url} ${JSON.stringify(request.body ?? null)}`);
    const body =
      typeof payload === 'string' ? payload : Buffer.isBuffer(payload) ? payload.toString('utf8') : '';
    const done: Stored = { state: 'done', fingerprint, status: reply.statusCode, headers, body };
    await kv.set(storeKey, JSON.stringify(done), { ttlMs: options.ttlMs });
    return payload;
  });
}

function hash(value: string): string {
  return createHash('sha256').update(value).digest('hex').slice(0, 32);
}
