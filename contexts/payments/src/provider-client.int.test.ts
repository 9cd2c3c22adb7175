// PaymentProviderClient against a real payment provider (started in-process, real HTTP, real
// PostgreSQL): idempotency keys, typed outcomes, timeouts.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { start } from '@optic-mart/app-payment-provider';
import { createTestDatabase, freePort, type TestDatabase } from '@optic-mart/testkit';
import {
  PaymentDeclinedError,
  PaymentProviderClient,
  ProviderRejectedError,
  ProviderTimeoutError,
  ProviderUnavailableError,
} from './provider-client.js';

let db: TestDatabase;
const stops: (() => Promise<void>)[] = [];
let client: PaymentProviderClient;

async function provider(env: Record<string, string> = {}): Promise<PaymentProviderClient> {
  const role = await start({
    DATABASE_URL: db.url,
    LOG_LEVEL: 'silent',
    PAYMENT_PROVIDER_PORT: String(await freePort()),
    ...env,
  });
  stops.push(() => role.stop());
  return new PaymentProviderClient({ baseUrl: role.url, timeoutMs: 2000 });
}

before(async () => {
  db = await createTestDatabase('payments_client');
  client = await provider();
});

after(async () => {
  for (const stop of stops) await stop();
  await db.drop();
});

const order = () => ({ amountCents: 1999, currency: 'USD', reference: randomUUID() });

describe('PaymentProviderClient', () => {
  it('authorizes, captures and refunds, each once per idempotency key', async () => {
    const input = order();
    const key = `${input.reference}:authorize`;
    const payment = await client.authorize(input, key);
    assert.equal(payment.status, 'authorized');
    assert.equal((await client.authorize(input, key)).id, payment.id, 'a retry gets the same payment');

    const captured = await client.capture(payment.id, `${input.reference}:capture`);
    assert.equal(captured.status, 'captured');
    assert.equal((await client.capture(payment.id, `${input.reference}:capture`)).status, 'captured');

    const refund = await client.refund(payment.id, 1999, `${input.reference}:refund`);
    assert.equal(refund.payment.status, 'refunded');
    assert.equal((await client.refund(payment.id, 1999, `${input.reference}:refund`)).id, refund.id);

    const got = await client.get(payment.id);
    assert.deepEqual(
      got.history.map((h) => h.kind),
      ['authorization', 'capture', 'refund'],
      'one of each, however often called',
    );
  });

  it('voids an authorization', async () => {
    const input = order();
    const payment = await client.authorize(input, randomUUID());
    assert.equal((await client.void(payment.id, randomUUID())).status, 'voided');
  });

  it('reports a refusal as ProviderRejectedError with the provider’s code', async () => {
    const payment = await client.authorize(order(), randomUUID());
    await assert.rejects(client.refund(payment.id, 1, randomUUID()), (err: unknown) => {
      assert.ok(err instanceof ProviderRejectedError);
      assert.equal(err.code, 'payment_invalid_state');
      assert.equal(err.retryable, false);
      return true;
    });
    await assert.rejects(
      client.get('pay_none'),
      (err: unknown) => err instanceof ProviderRejectedError && err.status === 404,
    );
    // The same key with another request.
    const key = randomUUID();
    await client.authorize(order(), key);
    await assert.rejects(
      client.authorize(order(), key),
      (err: unknown) => err instanceof ProviderRejectedError && err.code === 'idempotency_key_reused',
    );
  });

  it('reports a decline as PaymentDeclinedError, with the declined payment', async () => {
    const declining = await provider({ PSP_DECLINE_RATE: '1' });
    await assert.rejects(declining.authorize(order(), randomUUID()), (err: unknown) => {
      assert.ok(err instanceof PaymentDeclinedError);
      assert.equal(err.kind, 'declined');
      assert.equal(err.payment.status, 'declined');
      assert.match(err.payment.id, /^pay_/);
      assert.equal(err.retryable, false);
      return true;
    });
  });

  it('reports 500s as retryable ProviderUnavailableError; the same key then succeeds', async () => {
    const failing = await provider({ PSP_ERROR_RATE: '1' });
    const input = order();
    const key = randomUUID();
    await assert.rejects(failing.authorize(input, key), (err: unknown) => {
      assert.ok(err instanceof ProviderUnavailableError);
      assert.equal(err.status, 500);
      assert.equal(err.retryable, true);
      return true;
    });
    assert.equal((await client.authorize(input, key)).status, 'authorized');
    const unreachable = new PaymentProviderClient({ baseUrl: `http://127.0.0.1:${await freePort()}` });
    await assert.rejects(unreachable.get('pay_x'), ProviderUnavailableError);
  });

  it('gives up after the timeout with ProviderTimeoutError', async () => {
    const role = await start({
      DATABASE_URL: db.url,
      LOG_LEVEL: 'silent',
      PAYMENT_PROVIDER_PORT: String(await freePort()),
      PSP_LATENCY_MS: '800-900',
    });
    stops.push(() => role.stop());
    const impatient = new PaymentProviderClient({ baseUrl: role.url, timeoutMs: 200 });
    await assert.rejects(impatient.authorize(order(), randomUUID()), (err: unknown) => {
      assert.ok(err instanceof ProviderTimeoutError);
      assert.equal(err.retryable, true);
      return true;
    });
  });

  it('returns pending payments as values (their result comes by webhook)', async () => {
    const async = await provider({ PSP_ASYNC_RATE: '1' });
    const payment = await async.authorize(order(), randomUUID());
    assert.equal(payment.status, 'pending');
  });
});
