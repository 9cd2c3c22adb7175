// The payment provider over real HTTP against a real PostgreSQL: idempotency keys, the state
// rules, the ledger, signed webhooks retried until acknowledged, and fault injection at 100%.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { verifyWebhookSignature } from '@optic-mart/payments';
import { createTestDatabase, freePort, waitUntil, type TestDatabase } from '@optic-mart/testkit';
import { start } from './main.js';

const SECRET = 'whsec_provider_test_0123456789';

interface Received {
  readonly body: string;
  readonly headers: IncomingHttpHeaders;
}

let db: TestDatabase;
let receiver: Server;
let received: Received[] = [];
/** Event ids the receiver refuses (500) this many more times before acknowledging. */
const refuseTimes = new Map<string, number>();
/** References whose events the receiver refuses this many times each (set before the payment exists). */
const refuseForReference = new Map<string, number>();
const roles: { stop(): Promise<void> }[] = [];
let psp: string;

async function startProvider(
  extra: Record<string, string> = {},
): Promise<{ url: string; stop(): Promise<void> }> {
  const role = await start({
    DATABASE_URL: db.url,
    LOG_LEVEL: 'silent',
    PAYMENT_PROVIDER_PORT: String(await freePort()),
    PSP_WEBHOOK_URL: `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hook`,
    PSP_WEBHOOK_SECRET: SECRET,
    PSP_WEBHOOK_RETRY_MS: '50',
    PSP_WEBHOOK_MAX_DELAY_MS: '200',
    PSP_POLL_MS: '25',
    PSP_ASYNC_DELAY_MS: '100',
    ...extra,
  });
  let stopped: Promise<void> | undefined;
  const once = { url: role.url, stop: () => (stopped ??= role.stop()) };
  roles.push(once);
  return once;
}

before(async () => {
  db = await createTestDatabase('payment_provider');
  receiver = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      const id = String(req.headers['x-optic-event-id']);
      const reference = (JSON.parse(body) as { data?: { reference?: string } }).data?.reference ?? '';
      const refuse = refuseForReference.get(reference);
      if (!refuseTimes.has(id) && refuse !== undefined) refuseTimes.set(id, refuse);
      received.push({ body, headers: req.headers });
      const left = refuseTimes.get(id) ?? 0;
      if (left > 0) {
        refuseTimes.set(id, left - 1);
        res.writeHead(500).end();
      } else res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  psp = (await startProvider()).url;
});

after(async () => {
  for (const role of roles) await role.stop();
  await new Promise<void>((resolve) => receiver.close(() => resolve()));
  await db.drop();
});

interface Reply {
  readonly status: number;
  readonly body: Record<string, unknown>;
  readonly headers: Headers;
}

async function call(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  key?: string,
): Promise<Reply> {
  const response = await fetch(base + path, {
    method,
    headers: {
      ...(body !== undefined && { 'content-type': 'application/json' }),
      ...(key !== undefined && { 'idempotency-key': key }),
    },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  return {
    status: response.status,
    body: (await response.json()) as Record<string, unknown>,
    headers: response.headers,
  };
}

const post = (path: string, body: unknown, key: string = randomUUID(), base = psp) =>
  call(base, 'POST', path, body, key);
const get = (path: string, base = psp) => call(base, 'GET', path);

async function authorized(amount = 1000, reference = randomUUID()): Promise<string> {
  const r = await post('/v1/payments', { amount, currency: 'USD', reference });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.equal(r.body.status, 'authorized');
  return r.body.id as string;
}

describe('payment provider: idempotency keys', () => {
  it('answers a repeated request with the first answer and changes nothing', async () => {
    const key = randomUUID();
    const reference = randomUUID();
    const body = { amount: 2500, currency: 'EUR', reference };
    const first = await post('/v1/payments', body, key);
    const second = await post('/v1/payments', { reference, currency: 'EUR', amount: 2500 }, key);
    assert.equal(first.status, 201);
    assert.deepEqual(second.body, first.body);
    assert.equal(second.status, 201);
    assert.equal(second.headers.get('idempotent-replayed'), 'true');
    const ledger = await get(`/v1/ledger?reference=${reference}`);
    assert.equal((ledger.body.entries as unknown[]).length, 1, 'one authorization only');
  });

  it('refuses the same key with another body (422), and a POST without a key (400)', async () => {
    const key = randomUUID();
    await post('/v1/payments', { amount: 100, currency: 'USD', reference: randomUUID() }, key);
    const reused = await post('/v1/payments', { amount: 101, currency: 'USD', reference: randomUUID() }, key);
    assert.equal(reused.status, 422);
    assert.equal(reused.body.code, 'idempotency_key_reused');
    const id = await authorized();
    const otherPath = await post(`/v1/payments/${id}/void`, {}, key);
    assert.equal(otherPath.body.code, 'idempotency_key_reused');
    const none = await call(psp, 'POST', '/v1/payments', { amount: 1, currency: 'USD', reference: 'x' });
    assert.equal(none.status, 400);
    assert.equal((none.body.errors as { field: string }[])[0]?.field, 'headers.idempotency-key');
  });

  it('replays a refusal too, and runs a concurrent repeat once', async () => {
    const id = await authorized(300);
    const key = randomUUID();
    const refusals = await Promise.all(
      [1, 2].map(() => post(`/v1/payments/${id}/refunds`, { amount: 1 }, key)),
    );
    for (const r of refusals) assert.equal(r.body.code, 'payment_invalid_state');
    const captureKey = randomUUID();
    const captures = await Promise.all(
      Array.from({ length: 5 }, () => post(`/v1/payments/${id}/capture`, {}, captureKey)),
    );
    for (const c of captures) assert.equal(c.status, 200);
    const ledger = await get(`/v1/payments/${id}`);
    assert.equal((ledger.body.history as { kind: string }[]).filter((e) => e.kind === 'capture').length, 1);
  });

  it('refuses a bad body naming the field', async () => {
    const r = await post('/v1/payments', { amount: -5, currency: 'usd', reference: 'r' });
    assert.equal(r.status, 400);
    const fields = (r.body.errors as { field: string }[]).map((e) => e.field).sort();
    assert.deepEqual(fields, ['body.amount', 'body.currency']);
  });
});

describe('payment provider: state rules', () => {
  it('captures an authorized payment once; never a voided or captured one', async () => {
    const id = await authorized(1000);
    const captured = await post(`/v1/payments/${id}/capture`, {});
    assert.equal(captured.status, 200);
    assert.equal(captured.body.status, 'captured');
    assert.equal(captured.body.capturedAmount, 1000);
    const again = await post(`/v1/payments/${id}/capture`, {});
    assert.equal(again.status, 409);
    assert.equal(again.body.code, 'payment_invalid_state');
    const voidCaptured = await post(`/v1/payments/${id}/void`, {});
    assert.equal(voidCaptured.body.code, 'payment_invalid_state');

    const other = await authorized(500);
    assert.equal((await post(`/v1/payments/${other}/void`, {})).body.status, 'voided');
    assert.equal((await post(`/v1/payments/${other}/capture`, {})).body.code, 'payment_invalid_state');
    assert.equal(
      (await post(`/v1/payments/${other}/refunds`, { amount: 1 })).body.code,
      'payment_invalid_state',
    );
  });

  it('refunds at most what was captured, in parts', async () => {
    const id = await authorized(1000);
    assert.equal((await post(`/v1/payments/${id}/capture`, { amount: 800 })).body.capturedAmount, 800);
    const part = await post(`/v1/payments/${id}/refunds`, { amount: 300 });
    assert.equal(part.status, 201);
    assert.match(part.body.id as string, /^re_/);
    assert.equal((part.body.payment as { status: string }).status, 'partially_refunded');
    const tooMuch = await post(`/v1/payments/${id}/refunds`, { amount: 501 });
    assert.equal(tooMuch.status, 422);
    assert.equal(tooMuch.body.code, 'refund_exceeds_captured');
    const rest = await post(`/v1/payments/${id}/refunds`, { amount: 500 });
    assert.equal((rest.body.payment as { status: string }).status, 'refunded');
    assert.equal(
      (await post(`/v1/payments/${id}/refunds`, { amount: 1 })).body.code,
      'payment_invalid_state',
    );
  });

  it('refuses capturing more than authorized, and unknown payments (404)', async () => {
    const id = await authorized(100);
    const r = await post(`/v1/payments/${id}/capture`, { amount: 101 });
    assert.equal(r.status, 400);
    assert.equal((await post('/v1/payments/pay_nope/capture', {})).status, 404);
    assert.equal((await get('/v1/payments/pay_nope')).body.code, 'payment_not_found');
  });

  it('captures at once with capture: true', async () => {
    const r = await post('/v1/payments', {
      amount: 700,
      currency: 'GBP',
      reference: randomUUID(),
      capture: true,
    });
    assert.equal(r.body.status, 'captured');
    assert.equal(r.body.capturedAmount, 700);
  });
});

describe('payment provider: the ledger', () => {
  it('records every movement of a reference, with totals', async () => {
    const reference = randomUUID();
    const id = await authorized(1200, reference);
    await post(`/v1/payments/${id}/capture`, {});
    await post(`/v1/payments/${id}/refunds`, { amount: 200 });
    const voided = await authorized(50, reference);
    await post(`/v1/payments/${voided}/void`, {});
    const ledger = await get(`/v1/ledger?reference=${reference}`);
    assert.deepEqual(
      (ledger.body.entries as { kind: string; amount: number }[]).map((e) => [e.kind, e.amount]),
      [
        ['authorization', 1200],
        ['capture', 1200],
        ['refund', 200],
        ['authorization', 50],
        ['void', 50],
      ],
    );
    assert.deepEqual(ledger.body.totals, { authorized: 1250, captured: 1200, voided: 50, refunded: 200 });
    const one = await get(`/v1/payments/${id}`);
    assert.equal(one.body.status, 'partially_refunded');
    assert.equal((one.body.history as unknown[]).length, 3);
    assert.equal((await get('/v1/ledger')).status, 400);
  });
});

describe('payment provider: webhooks', () => {
  it('signs every event and retries until the receiver acknowledges it', async () => {
    received = [];
    const reference = randomUUID();
    refuseForReference.set(reference, 2); // its event is refused twice, then acknowledged
    const id = await authorized(900, reference);
    const forPayment = () =>
      received.filter((r) => (JSON.parse(r.body) as { data: { paymentId: string } }).data.paymentId === id);
    await waitUntil('the webhook acknowledged', () => forPayment().length >= 3, 10_000);
    const deliveries = forPayment();
    assert.equal(
      new Set(deliveries.map((d) => d.headers['x-optic-event-id'])).size,
      1,
      'the same event each time',
    );
    for (const d of deliveries) {
      const result = verifyWebhookSignature(d.body, d.headers['x-optic-signature'] as string, SECRET, 300);
      assert.equal(result.ok, true);
      assert.equal(
        verifyWebhookSignature(d.body, d.headers['x-optic-signature'] as string, 'wrong-secret-000000', 300)
          .ok,
        false,
      );
    }
    const event = JSON.parse(deliveries[0]?.body ?? '{}') as {
      id: string;
      type: string;
      data: Record<string, unknown>;
    };
    assert.equal(event.type, 'payment.authorized');
    assert.equal(event.data.reference, reference);
    assert.equal(event.data.amount, 900);
    // Acknowledged: not sent again.
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(forPayment().length, 3);
  });
});

describe('payment provider: fault injection at 100%', () => {
  it('PSP_ERROR_RATE=1: every call is a 500 and nothing is done', async () => {
    // Each faulty instance is stopped after its test: replicas share the ledger, and its settle loop too.
    const faulty = await startProvider({ PSP_ERROR_RATE: '1' });
    const failing = faulty.url;
    const reference = randomUUID();
    const key = randomUUID();
    const r = await post('/v1/payments', { amount: 10, currency: 'USD', reference }, key, failing);
    assert.equal(r.status, 500);
    assert.equal((await get(`/v1/ledger?reference=${reference}`)).body.entries instanceof Array, true);
    assert.deepEqual((await get(`/v1/ledger?reference=${reference}`)).body.entries, []);
    // The key was not used up: the same request succeeds at a healthy replica.
    assert.equal((await post('/v1/payments', { amount: 10, currency: 'USD', reference }, key)).status, 201);
    await faulty.stop();
  });

  it('PSP_DECLINE_RATE=1: every payment is declined, with a reason, in the ledger', async () => {
    const decliner = await startProvider({ PSP_DECLINE_RATE: '1' });
    const declining = decliner.url;
    const reference = randomUUID();
    const r = await post('/v1/payments', { amount: 10, currency: 'USD', reference }, randomUUID(), declining);
    assert.equal(r.status, 201);
    assert.equal(r.body.status, 'declined');
    assert.equal(typeof r.body.declineReason, 'string');
    const ledger = await get(`/v1/ledger?reference=${reference}`);
    assert.deepEqual(
      (ledger.body.entries as { kind: string }[]).map((e) => e.kind),
      ['decline'],
    );
    assert.equal(
      (await post(`/v1/payments/${r.body.id as string}/capture`, {})).body.code,
      'payment_invalid_state',
    );
    await decliner.stop();
  });

  it('PSP_ASYNC_RATE=1: pending, then settled and reported by webhook only', async () => {
    const slow = (await startProvider({ PSP_ASYNC_RATE: '1', PSP_LATENCY_MS: '5-20' })).url;
    received = [];
    const r = await post(
      '/v1/payments',
      { amount: 40, currency: 'USD', reference: randomUUID() },
      randomUUID(),
      slow,
    );
    assert.equal(r.body.status, 'pending');
    const id = r.body.id as string;
    assert.equal((await post(`/v1/payments/${id}/capture`, {})).body.code, 'payment_invalid_state');
    await waitUntil(
      'the pending payment settled and reported',
      () => received.some((d) => d.body.includes(id) && d.body.includes('payment.authorized')),
      10_000,
    );
    assert.equal((await get(`/v1/payments/${id}`)).body.status, 'authorized');
  });
});
