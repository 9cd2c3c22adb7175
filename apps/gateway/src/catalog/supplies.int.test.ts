// Supplies and reviews over real HTTP: gateway → queue → catalog worker → event store → projector
// → read models, on PostgreSQL alone, with users of each role holding real access tokens.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { EventStore } from '@optic-mart/eventstore';
import { connectMessaging, type Messaging } from '@optic-mart/messaging';
import { createLogger, createMetricsRegistry, type HttpServer } from '@optic-mart/platform';
import { startProjector, type Projector } from '@optic-mart/runtime';
import { petsProjection, productsProjection, reviewsProjection } from '@optic-mart/catalog';
import { createTestDatabase, type TestDatabase } from '@optic-mart/testkit';
import { start as startWorker } from '../../../worker/src/main.js';
import { buildGatewayApp } from '../app.js';
import type { Auth, Role } from '../auth/index.js';
import { loadGatewayConfig } from '../config.js';

interface Written {
  version: number;
  position: number;
}
interface Problem {
  code: string;
  errors?: { field: string }[];
}
interface ProductDoc {
  sku: string;
  name: string;
  priceCents: number;
  currency: string;
  status: string;
  tags: string[];
  rating: { average: number | null; count: number };
  version: number;
}
interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

describe('supplies and reviews over HTTP', () => {
  let db: TestDatabase;
  let messaging: Messaging;
  let app: HttpServer;
  let auth: Auth;
  let store: EventStore;
  let base: string;
  let worker: { stop(): Promise<void> };
  let projectorStore: EventStore;
  let projector: Projector;
  const tokens: Record<string, string> = {};

  const login = async (name: string, userId: string, role: Role) => {
    const principal = await auth.sessions.open({ userId, username: name, role });
    tokens[name] = (await auth.tokens.issue(principal)).token;
  };

  before(async () => {
    db = await createTestDatabase('supplies');
    const env = { DATABASE_URL: db.url, MESSAGING_PREFIX: `t${randomUUID().slice(0, 8)}` };
    messaging = await connectMessaging({ databaseUrl: db.url, prefix: env.MESSAGING_PREFIX });
    ({ app, auth, store } = await buildGatewayApp({
      config: loadGatewayConfig({ ...env, LOG_LEVEL: 'warn', GATEWAY_REPLY_TIMEOUT_MS: '5000' }),
      messaging,
      logger: createLogger({ name: 'gateway-test', level: 'warn' }),
      metrics: createMetricsRegistry({ service: 'gateway-test' }),
    }));
    base = await app.listen({ host: '127.0.0.1', port: 0 });
    worker = await startWorker({ ...env, LOG_LEVEL: 'warn', WORKER_HEARTBEAT_MS: '1000' }, [
      '--context',
      'catalog',
    ]);
    projectorStore = new EventStore({ connectionString: db.url, poolSize: 3, sweepIntervalMs: 0 });
    projector = await startProjector({
      store: projectorStore,
      connectionString: db.url,
      projections: [petsProjection, productsProjection, reviewsProjection],
      kv: messaging.kv,
      logger: createLogger({ name: 'projector-test', level: 'warn' }),
      contendEveryMs: 200,
    });
    await login('admin', '1', 'admin');
    await login('seller', '2', 'seller');
    await login('alice', '3', 'customer');
    await login('bob', '4', 'customer');
  });

  after(async () => {
    await projector.stop();
    await projectorStore.close();
    await worker.stop();
    await app.close();
    await messaging.close();
    await db.drop();
  });

  const call = (
    method: string,
    path: string,
    options: { as?: string; body?: unknown; headers?: Record<string, string> } = {},
  ) =>
    fetch(base + path, {
      method,
      headers: {
        ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(options.as ? { authorization: `Bearer ${tokens[options.as]}` } : {}),
        ...options.headers,
      },
      ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
    });

  const ok = async <T>(res: Response, status = 200): Promise<T> => {
    const text = await res.text();
    assert.equal(res.status, status, text);
    return JSON.parse(text) as T;
  };

  const refused = async (res: Response, status: number, code: string): Promise<Problem> => {
    const text = await res.text();
    assert.equal(res.status, status, text);
    assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/);
    const problem = JSON.parse(text) as Problem;
    assert.equal(problem.code, code);
    return problem;
  };

  const kibble = { sku: 'FOOD-1', name: 'Kibble', priceCents: 1299, category: 'Food', tags: ['dog', 'dry'] };

  it('answers 401 to anonymous writes, before looking at the body', async () => {
    await refused(await call('POST', '/api/products', { body: kibble }), 401, 'unauthorized');
    await refused(await call('POST', '/api/products', { body: { bad: true } }), 401, 'unauthorized');
    await refused(await call('PUT', '/api/products/FOOD-1', { body: kibble }), 401, 'unauthorized');
    await refused(await call('DELETE', '/api/products/FOOD-1'), 401, 'unauthorized');
    await refused(
      await call('POST', '/api/products/FOOD-1/reviews', { body: { rating: 5 } }),
      401,
      'unauthorized',
    );
    await refused(
      await call('PUT', '/api/products/FOOD-1/reviews/mine', { body: { rating: 5 } }),
      401,
      'unauthorized',
    );
    await refused(await call('DELETE', '/api/products/FOOD-1/reviews/mine'), 401, 'unauthorized');
    await refused(await call('POST', '/api/pets', { body: { name: 'Rex' } }), 401, 'unauthorized');
    await refused(await call('PUT', '/api/pets/1', { body: { name: 'Rex' } }), 401, 'unauthorized');
    await refused(await call('DELETE', '/api/pets/1'), 401, 'unauthorized');
    await refused(
      await call('GET', '/api/products', { headers: { authorization: 'Bearer not.a.token' } }),
      401,
      'unauthorized',
    );
  });

  it('answers 403 to a customer creating, changing or discontinuing products or pets', async () => {
    await refused(await call('POST', '/api/products', { as: 'alice', body: kibble }), 403, 'forbidden');
    await refused(await call('PUT', '/api/products/FOOD-1', { as: 'alice', body: kibble }), 403, 'forbidden');
    await refused(await call('DELETE', '/api/products/FOOD-1', { as: 'alice' }), 403, 'forbidden');
    await refused(await call('POST', '/api/pets', { as: 'alice', body: { name: 'Rex' } }), 403, 'forbidden');
    await refused(await call('PUT', '/api/pets/1', { as: 'alice', body: { name: 'Rex' } }), 403, 'forbidden');
    await refused(await call('DELETE', '/api/pets/1', { as: 'alice' }), 403, 'forbidden');
  });

  it('lets sellers and admins create pets, recording who did it', async () => {
    const created = await ok<{ id: string }>(
      await call('POST', '/api/pets', { as: 'seller', body: { name: 'Rex' } }),
      201,
    );
    const [event] = await store.readStream(`pet-${created.id}`);
    assert.equal(event?.metadata.userId, '2');
    await ok(await call('DELETE', `/api/pets/${created.id}`, { as: 'admin' }));
  });

  it('products: a seller lists, reads (ETag), updates, filters, sorts, pages and discontinues', async () => {
    const created = await call('POST', '/api/products', { as: 'seller', body: kibble });
    const written = await ok<Written & { sku: string }>(created, 201);
    assert.equal(created.headers.get('location'), '/api/products/FOOD-1');
    assert.deepEqual([written.sku, written.version], ['FOOD-1', 1]);
    await refused(
      await call('POST', '/api/products', { as: 'seller', body: kibble }),
      409,
      'product_already_exists',
    );
    await ok(
      await call('POST', '/api/products', {
        as: 'admin',
        body: {
          sku: 'TOY-BALL',
          name: 'Ball',
          priceCents: 350,
          currency: 'EUR',
          category: 'Toys',
          tags: ['dog'],
        },
      }),
      201,
    );
    const last = await ok<Written>(
      await call('POST', '/api/products', {
        as: 'seller',
        body: { sku: 'FOOD-2', name: 'Catnip', priceCents: 500, category: 'Food', tags: ['cat'] },
      }),
      201,
    );

    const get = await call('GET', `/api/products/FOOD-1?after=${last.position}`);
    const product = await ok<ProductDoc>(get);
    assert.equal(product.name, 'Kibble');
    assert.equal(product.priceCents, 1299);
    assert.equal(product.currency, 'USD');
    assert.equal(product.status, 'active');
    assert.deepEqual(product.rating, { average: null, count: 0, sum: 0 });
    const etag = get.headers.get('etag')!;
    assert.equal(etag, '"1-0-0"');
    assert.equal(
      (await call('GET', '/api/products/FOOD-1', { headers: { 'if-none-match': etag } })).status,
      304,
    );
    await refused(await call('GET', '/api/products/NOPE-1'), 404, 'product_not_found');

    // An update names the version it read; a stale one is refused.
    const update = { name: 'Kibble', priceCents: 999, category: 'Food', tags: ['dog', 'dry', 'sale'] };
    const updated = await ok<Written>(
      await call('PUT', '/api/products/FOOD-1', {
        as: 'seller',
        body: update,
        headers: { 'if-match': etag },
      }),
    );
    assert.equal(updated.version, 2);
    await refused(
      await call('PUT', '/api/products/FOOD-1', {
        as: 'seller',
        body: update,
        headers: { 'if-match': etag },
      }),
      412,
      'version_mismatch',
    );
    await refused(
      await call('PUT', '/api/products/NOPE-1', { as: 'seller', body: update }),
      404,
      'product_not_found',
    );

    let seen = updated.position;
    const list = async (query: string) =>
      ok<Page<ProductDoc>>(await call('GET', `/api/products?after=${seen}&${query}`));
    assert.deepEqual(
      (await list('sort=price')).items.map((p) => p.sku),
      ['TOY-BALL', 'FOOD-2', 'FOOD-1'],
    );
    assert.deepEqual(
      (await list('sort=-price')).items.map((p) => p.sku),
      ['FOOD-1', 'FOOD-2', 'TOY-BALL'],
    );
    assert.deepEqual(
      (await list('sort=name')).items.map((p) => p.name),
      ['Ball', 'Catnip', 'Kibble'],
    );
    assert.deepEqual(
      (await list('category=Food&sort=name')).items.map((p) => p.sku),
      ['FOOD-2', 'FOOD-1'],
    );
    assert.deepEqual(
      (await list('tag=dog&sort=name')).items.map((p) => p.sku),
      ['TOY-BALL', 'FOOD-1'],
    );
    assert.deepEqual(
      (await list('tag=sale')).items.map((p) => p.priceCents),
      [999],
    );
    const first = await list('sort=price&limit=2');
    assert.equal(first.items.length, 2);
    assert.ok(first.nextCursor);
    const second = await list(`sort=price&limit=2&cursor=${first.nextCursor}`);
    assert.deepEqual(
      second.items.map((p) => p.sku),
      ['FOOD-1'],
    );
    assert.equal(second.nextCursor, null);
    await refused(
      await call('GET', `/api/products?sort=name&cursor=${first.nextCursor}`),
      400,
      'validation_failed',
    );

    const gone = await ok<Written>(await call('DELETE', '/api/products/FOOD-2', { as: 'seller' }));
    await refused(
      await call('DELETE', '/api/products/FOOD-2', { as: 'seller' }),
      409,
      'product_discontinued',
    );
    await refused(
      await call('PUT', '/api/products/FOOD-2', { as: 'seller', body: update }),
      409,
      'product_discontinued',
    );
    const discontinued = await ok<ProductDoc>(
      await call('GET', `/api/products/FOOD-2?after=${gone.position}`),
    );
    assert.equal(discontinued.status, 'discontinued');
    seen = gone.position;
    assert.deepEqual(
      (await list('sort=name')).items.map((p) => p.sku),
      ['TOY-BALL', 'FOOD-1'],
    );
    assert.deepEqual(
      (await list('status=discontinued')).items.map((p) => p.sku),
      ['FOOD-2'],
    );

    // The price is in the product's events, for orders to capture; the user in their metadata.
    const events = await store.readStream('product-FOOD-1');
    assert.deepEqual(
      events.map((e) => [e.type, (e.data as { priceCents: number }).priceCents, e.metadata.userId]),
      [
        ['ProductCreated', 1299, '2'],
        ['ProductUpdated', 999, '2'],
      ],
    );
  });

  it('reviews: one per user, the author edits or deletes theirs, an admin any; the average follows', async () => {
    const sku = 'REV-1';
    await ok(
      await call('POST', '/api/products', { as: 'seller', body: { sku, name: 'Brush', priceCents: 800 } }),
      201,
    );
    const review = (as: string, body: unknown) => call('POST', `/api/products/${sku}/reviews`, { as, body });
    const productAfter = async (w: Written) =>
      ok<ProductDoc>(await call('GET', `/api/products/${sku}?after=${w.position}`));

    const byAlice = await review('alice', { rating: 5, text: 'Great <b>brush</b>' });
    assert.equal(byAlice.headers.get('location'), `/api/products/${sku}/reviews/3`);
    await ok(byAlice, 201);
    const byBob = await ok<Written>(await review('bob', { rating: 2 }), 201);
    assert.deepEqual((await productAfter(byBob)).rating, { average: 3.5, count: 2, sum: 7 });

    const again = await refused(
      await review('alice', { rating: 1, text: 'changed my mind' }),
      409,
      'review_exists',
    );
    assert.ok(again);

    const edited = await ok<Written>(
      await call('PUT', `/api/products/${sku}/reviews/mine`, {
        as: 'alice',
        body: { rating: 3, text: 'Fine' },
      }),
    );
    assert.deepEqual((await productAfter(edited)).rating, { average: 2.5, count: 2, sum: 5 });

    const reviews = await ok<Page<{ userId: string; rating: number; text: string }>>(
      await call('GET', `/api/products/${sku}/reviews?after=${edited.position}&sort=-rating`),
    );
    assert.deepEqual(
      reviews.items.map((r) => [r.userId, r.rating, r.text]),
      [
        ['3', 3, 'Fine'],
        ['4', 2, ''],
      ],
    );
    const paged = await ok<Page<{ userId: string }>>(
      await call('GET', `/api/products/${sku}/reviews?limit=1`),
    );
    assert.equal(paged.items.length, 1);
    assert.ok(paged.nextCursor);
    const one = await call('GET', `/api/products/${sku}/reviews/3`);
    assert.equal((await ok<{ rating: number }>(one)).rating, 3);
    assert.equal(one.headers.get('etag'), '"2"');
    const mine = await call('GET', `/api/products/${sku}/reviews/mine`, { as: 'alice' });
    assert.equal((await ok<{ userId: string; text: string }>(mine)).text, 'Fine');
    await refused(
      await call('GET', `/api/products/${sku}/reviews/mine`, { as: 'seller' }),
      404,
      'review_not_found',
    );
    await refused(await call('GET', `/api/products/${sku}/reviews/mine`), 401, 'unauthorized');

    await refused(await call('DELETE', `/api/products/${sku}/reviews/3`, { as: 'bob' }), 403, 'forbidden');
    const bobGone = await ok<Written>(
      await call('DELETE', `/api/products/${sku}/reviews/mine`, { as: 'bob' }),
    );
    assert.deepEqual((await productAfter(bobGone)).rating, { average: 3, count: 1, sum: 3 });
    await refused(
      await call('DELETE', `/api/products/${sku}/reviews/mine`, { as: 'bob' }),
      404,
      'review_not_found',
    );
    await refused(
      await call('PUT', `/api/products/${sku}/reviews/mine`, { as: 'bob', body: { rating: 4 } }),
      404,
      'review_not_found',
    );
    const aliceGone = await ok<Written>(
      await call('DELETE', `/api/products/${sku}/reviews/3`, { as: 'admin' }),
    );
    assert.deepEqual((await productAfter(aliceGone)).rating, { average: null, count: 0, sum: 0 });
    const none = await ok<Page<unknown>>(
      await call('GET', `/api/products/${sku}/reviews?after=${aliceGone.position}`),
    );
    assert.deepEqual(none.items, []);

    // A deleted review may be written again: one review per user at a time.
    await ok(await review('bob', { rating: 4 }), 201);

    await refused(
      await call('POST', '/api/products/NOPE-9/reviews', { as: 'alice', body: { rating: 4 } }),
      404,
      'product_not_found',
    );
    await refused(await call('GET', '/api/products/NOPE-9/reviews'), 404, 'product_not_found');
    const discontinued = await ok<Written>(await call('DELETE', `/api/products/${sku}`, { as: 'seller' }));
    assert.ok(discontinued.position > 0);
    await refused(await review('alice', { rating: 4 }), 409, 'product_discontinued');
  });

  it('refuses bad product and review input with 400 naming the field', async () => {
    const bad = await refused(
      await call('POST', '/api/products', {
        as: 'seller',
        body: { sku: 'lower-case', name: '', priceCents: -1, currency: 'XYZ', extra: 1 },
      }),
      400,
      'validation_failed',
    );
    const fields = (bad.errors ?? []).map((e) => e.field).join(' ');
    for (const field of ['body.sku', 'body.name', 'body.priceCents', 'body.currency', 'body.extra']) {
      assert.ok(fields.includes(field), `${field} in ${fields}`);
    }
    const rating = await refused(
      await call('POST', '/api/products/FOOD-1/reviews', {
        as: 'alice',
        body: { rating: 6, text: 'x'.repeat(2001) },
      }),
      400,
      'validation_failed',
    );
    assert.deepEqual(rating.errors?.map((e) => e.field).sort(), ['body.rating', 'body.text']);
    await refused(await call('GET', '/api/products/not a sku'), 400, 'validation_failed');
    await refused(await call('GET', '/api/products?sort=colour'), 400, 'validation_failed');
  });
});
