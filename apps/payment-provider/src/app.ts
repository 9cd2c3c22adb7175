// The provider's HTTP API (a stand-in for an external PSP):
//   POST /v1/payments {amount, currency, reference, capture?}  → 201 {id, status, …}
//   POST /v1/payments/{id}/capture {amount?} · /void · /refunds {amount}
//   GET  /v1/payments/{id} (status + history) · GET /v1/ledger?reference=
// Every POST needs an Idempotency-Key: the same key and body get the first answer (refusals
// included) and change nothing; the same key with another request is 422. Faults are injected
// before anything is done: latency, 500s, declines, and `pending` answers settled later.
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type pg from 'pg';
import { AppError, isAppError, PROBLEM_CONTENT_TYPE, toProblem, type HttpServer } from '@optic-mart/platform';
import type { Authorization, Ledger, PspPayment } from './ledger.js';

/** How the provider misbehaves; rates are 0–1. */
export interface FaultOptions {
  readonly latencyMs: { readonly min: number; readonly max: number };
  readonly declineRate: number;
  readonly errorRate: number;
  readonly asyncRate: number;
  readonly asyncDelayMs: number;
  /** Defaults to Math.random (tests may pin it). */
  readonly random?: () => number;
}

const idParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9_]+$' } },
} as const;

const amount = { type: 'integer', minimum: 1, maximum: 100_000_000_000 } as const;

const createBody = {
  type: 'object',
  additionalProperties: false,
  required: ['amount', 'currency', 'reference'],
  properties: {
    amount,
    currency: { type: 'string', pattern: '^[A-Z]{3}$' },
    reference: { type: 'string', minLength: 1, maxLength: 200 },
    capture: { type: 'boolean', default: false },
  },
} as const;

const captureBody = {
  type: 'object',
  additionalProperties: false,
  properties: { amount },
} as const;

const emptyBody = { type: 'object', additionalProperties: false, properties: {} } as const;

const refundBody = {
  type: 'object',
  additionalProperties: false,
  required: ['amount'],
  properties: { amount },
} as const;

const ledgerQuery = {
  type: 'object',
  additionalProperties: false,
  required: ['reference'],
  properties: { reference: { type: 'string', minLength: 1, maxLength: 200 } },
} as const;

const DECLINE_REASONS = ['insufficient_funds', 'card_declined', 'do_not_honor'] as const;

function idempotencyKey(request: FastifyRequest): string {
  const raw = request.headers['idempotency-key'];
  const key = Array.isArray(raw) ? raw[0] : raw;
  if (key === undefined || key.length === 0 || key.length > 255 || !/^[\x21-\x7e]+$/.test(key)) {
    throw new AppError(
      'validation_failed',
      'Every POST needs an Idempotency-Key (1 to 255 visible ASCII characters).',
      {
        errors: [
          { field: 'headers.idempotency-key', message: 'is required: 1 to 255 visible ASCII characters' },
        ],
      },
    );
  }
  return key;
}

// Key order does not change a request: `{"a":1,"b":2}` and `{"b":2,"a":1}` are the same body.
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

interface Answer {
  readonly status: number;
  readonly body: unknown;
}

/**
 * Runs a POST once per Idempotency-Key, in one transaction with the key's row: a concurrent repeat
 * waits on the row and then replays the answer. A refusal (4xx) is kept as well, as real PSPs do;
 * an unexpected error keeps nothing, so a retry runs again.
 */
async function once(
  ledger: Ledger,
  request: FastifyRequest,
  reply: FastifyReply,
  work: (tx: pg.PoolClient) => Promise<Answer>,
): Promise<FastifyReply> {
  const key = idempotencyKey(request);
  const fingerprint = createHash('sha256')
    .update(`${request.method} ${request.url} ${canonical(request.body)}`)
    .digest('hex');
  const answer = await ledger.transaction(async (tx) => {
    const claimed = await tx.query(
      `INSERT INTO psp.idempotency (key, fingerprint, status, body) VALUES ($1, $2, 0, 'null') ON CONFLICT (key) DO NOTHING`,
      [key, fingerprint],
    );
    if (claimed.rowCount === 0) {
      const { rows } = await tx.query<{ fingerprint: string; status: number; body: unknown }>(
        'SELECT fingerprint, status, body FROM psp.idempotency WHERE key = $1',
        [key],
      );
      const kept = rows[0];
      if (kept === undefined) throw new AppError('idempotency_key_in_progress', 'Try again.');
      if (kept.fingerprint !== fingerprint) {
        throw new AppError(
          'idempotency_key_reused',
          'This Idempotency-Key was used with a different request.',
        );
      }
      return { status: kept.status, body: kept.body, replayed: true };
    }
    await tx.query('SAVEPOINT work');
    let result: Answer;
    try {
      result = await work(tx);
    } catch (err) {
      if (!isAppError(err) || err.status >= 500) throw err;
      await tx.query('ROLLBACK TO SAVEPOINT work');
      result = { status: err.status, body: toProblem(err, request.url.split('?')[0]) };
    }
    await tx.query('UPDATE psp.idempotency SET status = $2, body = $3 WHERE key = $1', [
      key,
      result.status,
      JSON.stringify(result.body),
    ]);
    return { ...result, replayed: false };
  });
  if (answer.replayed) reply.header('idempotent-replayed', 'true');
  if (answer.status >= 400) {
    return reply.code(answer.status).type(PROBLEM_CONTENT_TYPE).send(JSON.stringify(answer.body));
  }
  return reply.code(answer.status).send(answer.body);
}

/** Registers the provider's API and its fault injection on `app`. */
export function registerProviderRoutes(app: HttpServer, ledger: Ledger, faults: FaultOptions): void {
  const random = faults.random ?? Math.random;

  app.addHook('onRequest', async (request) => {
    if (!request.url.startsWith('/v1/')) return;
    const { min, max } = faults.latencyMs;
    if (max > 0) await sleep(min + Math.floor(random() * (max - min + 1)));
    if (faults.errorRate > 0 && random() < faults.errorRate) {
      throw new AppError('internal', 'Injected failure (PSP_ERROR_RATE): nothing was done.');
    }
  });

  const authorization = (): Authorization => {
    if (faults.asyncRate > 0 && random() < faults.asyncRate) return { kind: 'pending' };
    if (faults.declineRate > 0 && random() < faults.declineRate) {
      const reason = DECLINE_REASONS[Math.floor(random() * DECLINE_REASONS.length)] ?? 'card_declined';
      return { kind: 'decline', reason };
    }
    return { kind: 'approve' };
  };

  app.post<{ Body: { amount: number; currency: string; reference: string; capture: boolean } }>(
    '/v1/payments',
    { schema: { body: createBody } },
    async (request, reply) =>
      once(ledger, request, reply, async (tx) => {
        const payment = await ledger.create(
          tx,
          request.body,
          authorization(),
          new Date(Date.now() + faults.asyncDelayMs),
        );
        return { status: 201, body: payment };
      }),
  );

  app.post<{ Params: { id: string }; Body: { amount?: number } | undefined }>(
    '/v1/payments/:id/capture',
    { schema: { params: idParams, body: captureBody } },
    async (request, reply) =>
      once(ledger, request, reply, async (tx) => ({
        status: 200,
        body: await ledger.capture(tx, request.params.id, request.body?.amount),
      })),
  );

  app.post<{ Params: { id: string } }>(
    '/v1/payments/:id/void',
    { schema: { params: idParams, body: emptyBody } },
    async (request, reply) =>
      once(ledger, request, reply, async (tx) => ({
        status: 200,
        body: await ledger.void(tx, request.params.id),
      })),
  );

  app.post<{ Params: { id: string }; Body: { amount: number } }>(
    '/v1/payments/:id/refunds',
    { schema: { params: idParams, body: refundBody } },
    async (request, reply) =>
      once(ledger, request, reply, async (tx) => {
        const { refundId, payment } = await ledger.refund(tx, request.params.id, request.body.amount);
        const body: { id: string; amount: number; status: 'succeeded'; payment: PspPayment } = {
          id: refundId,
          amount: request.body.amount,
          status: 'succeeded',
          payment,
        };
        return { status: 201, body };
      }),
  );

  app.get<{ Params: { id: string } }>(
    '/v1/payments/:id',
    { schema: { params: idParams } },
    async (request) => {
      const found = await ledger.get(request.params.id);
      if (found === null)
        throw new AppError('payment_not_found', `There is no payment ${request.params.id}.`);
      return { ...found.payment, history: found.history };
    },
  );

  app.get<{ Querystring: { reference: string } }>(
    '/v1/ledger',
    { schema: { querystring: ledgerQuery } },
    async (request) => {
      const entries = await ledger.entries(request.query.reference);
      const sum = (kind: string) => entries.filter((e) => e.kind === kind).reduce((s, e) => s + e.amount, 0);
      return {
        reference: request.query.reference,
        entries,
        totals: {
          authorized: sum('authorization'),
          captured: sum('capture'),
          voided: sum('void'),
          refunded: sum('refund'),
        },
      };
    },
  );
}
