// The Swagger Petstore contract test: a gateway, workers for every context and a projector run
// in-process on a fresh database, and every operation of contracts/petstore3-openapi.yaml is
// called over real HTTP as a Petstore client would call it; every response (status, content
// type, body) is checked against the contract document itself. Plus the XML and form variants,
// the photo round trip and the API documents.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomInt, randomUUID } from 'node:crypto';
import { EventStore } from '@optic-mart/eventstore';
import { connectMessaging, type Messaging } from '@optic-mart/messaging';
import { createLogger, createMetricsRegistry, type HttpServer } from '@optic-mart/platform';
import { startProjector, type Projector } from '@optic-mart/runtime';
import { createTestDatabase, type TestDatabase } from '@optic-mart/testkit';
import { projections } from '../../../projector/src/projections.js';
import { knownContexts } from '../../../worker/src/contexts.js';
import { start as startWorker } from '../../../worker/src/main.js';
import { buildGatewayApp } from '../app.js';
import type { Auth } from '../auth/index.js';
import { loginAs, type TestLogin } from '../auth/test-support.js';
import { loadGatewayConfig } from '../config.js';
import {
  createResponseValidator,
  petstoreContract,
  petstoreOperation,
  petstoreOperations,
  responseSchema,
} from './contract.js';
import { fromXml } from './representations.js';

const PHOTO_MAX_BYTES = 64 * 1024;
// A 1×1 PNG.
const png = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==',
  'base64',
);
const gif = Buffer.from('R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==', 'base64');

interface Call {
  readonly status: number;
  readonly contentType: string;
  readonly headers: Headers;
  readonly text: string;
  readonly body: unknown;
}

interface CallOptions {
  /** Path parameters, by name. */
  readonly params?: Readonly<Record<string, string | number>>;
  readonly query?: string;
  readonly body?: string | Buffer;
  readonly contentType?: string;
  readonly accept?: string;
  readonly token?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

interface Pet {
  id: number;
  name: string;
  category?: { id?: number; name: string };
  photoUrls: string[];
  tags: { id?: number; name: string }[];
  status: string;
}

describe('the Swagger Petstore API at /api/v3, against its contract', () => {
  let db: TestDatabase;
  let messaging: Messaging;
  let app: HttpServer;
  let auth: Auth;
  let base: string;
  let worker: { stop(): Promise<void> };
  let projectorStore: EventStore;
  let projector: Projector;
  let seller: TestLogin;
  let customer: TestLogin;
  const validate = createResponseValidator();
  const called = new Set<string>();

  before(async () => {
    db = await createTestDatabase('petstore');
    const prefix = `p${randomUUID().slice(0, 8)}`;
    const env = { DATABASE_URL: db.url, MESSAGING_PREFIX: prefix };
    messaging = await connectMessaging({ databaseUrl: db.url, prefix });
    const config = loadGatewayConfig({
      ...env,
      LOG_LEVEL: 'warn',
      GATEWAY_REPLY_TIMEOUT_MS: '10000',
      GATEWAY_READ_WAIT_MS: '10000',
      PHOTO_MAX_BYTES: String(PHOTO_MAX_BYTES),
    });
    ({ app, auth } = await buildGatewayApp({
      config,
      messaging,
      logger: createLogger({ name: 'petstore-test', level: 'warn' }),
      metrics: createMetricsRegistry({ service: 'petstore-test' }),
    }));
    base = await app.listen({ host: '127.0.0.1', port: 0 });
    worker = await startWorker({ ...env, LOG_LEVEL: 'warn', WORKER_HEARTBEAT_MS: '1000' }, [
      '--context',
      knownContexts.join(','),
    ]);
    projectorStore = new EventStore({ connectionString: db.url, poolSize: 3, sweepIntervalMs: 0 });
    projector = await startProjector({
      store: projectorStore,
      connectionString: db.url,
      projections,
      kv: messaging.kv,
      logger: createLogger({ name: 'petstore-projector', level: 'warn' }),
      contendEveryMs: 200,
    });
    seller = await loginAs(auth, 'seller');
    customer = await loginAs(auth, 'customer');
  });

  after(async () => {
    await projector?.stop();
    await projectorStore?.close();
    await worker?.stop();
    await app?.close();
    await messaging?.close();
    await db?.drop();
  });

  /**
   * Calls an operation as a Petstore client would (the method and path from the contract) and
   * checks the response against the contract: a listed status (or default), a listed content type
   * with a body that fits its schema; an error as problem+json.
   */
  async function call(operationId: string, options: CallOptions = {}): Promise<Call> {
    const op = petstoreOperation(operationId);
    const path = op.path.replace(/\{(\w+)\}/g, (_, name: string) =>
      encodeURIComponent(String(options.params?.[name] ?? `{${name}}`)),
    );
    const headers: Record<string, string> = { ...options.headers };
    if (options.contentType) headers['content-type'] = options.contentType;
    if (options.accept) headers.accept = options.accept;
    if (options.token) headers.api_key = options.token;
    const res = await fetch(`${base}/api/v3${path}${options.query ? `?${options.query}` : ''}`, {
      method: op.method,
      headers,
      ...(options.body !== undefined ? { body: options.body } : {}),
    });
    const text = await res.text();
    const contentType = res.headers.get('content-type') ?? '';
    const mediaType = contentType.split(';')[0]!.trim();
    let body: unknown;
    if (text === '') body = undefined;
    else if (mediaType.endsWith('json')) body = JSON.parse(text) as unknown;
    else if (mediaType === 'application/xml') {
      const schema = responseSchema(operationId, res.status, mediaType);
      assert.ok(schema, `${operationId} ${res.status} lists no XML`);
      body = fromXml(text, schema);
    } else body = text;
    called.add(operationId);
    assert.deepEqual(validate({ operationId, status: res.status, contentType, body }), [], text);
    if (res.status >= 400) {
      assert.equal(mediaType, 'application/problem+json', `${operationId} ${res.status}: ${text}`);
    }
    return { status: res.status, contentType: mediaType, headers: res.headers, text, body };
  }

  const json = (value: unknown) => ({ body: JSON.stringify(value), contentType: 'application/json' });
  const problemCode = (c: Call) => (c.body as { code: string }).code;
  const problemFields = (c: Call) =>
    ((c.body as { errors?: { field: string }[] }).errors ?? []).map((e) => e.field);
  const newId = () => randomInt(1, 2 ** 48 - 1);

  const addPet = async (pet: Partial<Pet>) => {
    const res = await call('addPet', { ...json({ photoUrls: [], ...pet }), token: seller.token });
    assert.equal(res.status, 200, res.text);
    return res.body as Pet;
  };

  describe('pet', () => {
    it('addPet: honours the client id and answers the pet as the contract shapes it', async () => {
      const id = newId();
      const pet = await addPet({
        id,
        name: 'doggie',
        category: { id: 1, name: 'Dogs' },
        photoUrls: ['https://img.example/doggie.jpg'],
        tags: [{ id: 3, name: 'friendly' }],
        status: 'available',
      });
      assert.deepEqual(pet, {
        id,
        name: 'doggie',
        category: { id: 1, name: 'Dogs' },
        photoUrls: ['https://img.example/doggie.jpg'],
        tags: [{ id: 3, name: 'friendly' }],
        status: 'available',
      });
      // Read your write: the next request sees it.
      const read = await call('getPetById', { params: { petId: id } });
      assert.equal(read.status, 200);
      assert.deepEqual(read.body, pet);
    });

    it('addPet: mints an id when the client sends none, or 0', async () => {
      const minted = await addPet({ name: 'nameless' });
      assert.ok(Number.isSafeInteger(minted.id) && minted.id > 0);
      const zero = await addPet({ id: 0, name: 'zero' });
      assert.ok(zero.id > 0 && zero.id !== minted.id);
      assert.equal(zero.status, 'available');
    });

    it('addPet: refuses an id that exists (409), whatever the body', async () => {
      const pet = await addPet({ name: 'first' });
      const again = await call('addPet', {
        ...json({ id: pet.id, name: 'second', photoUrls: [] }),
        token: seller.token,
      });
      assert.equal(again.status, 409);
      assert.equal(problemCode(again), 'pet_already_exists');
      const read = await call('getPetById', { params: { petId: pet.id } });
      assert.equal((read.body as Pet).name, 'first');
    });

    it('addPet with an XML body, answering XML when Accept asks for it', async () => {
      const id = newId();
      const xml =
        `<?xml version="1.0" encoding="UTF-8"?><pet><id>${id}</id><name>Kitty &amp; Co</name>` +
        '<category><id>2</id><name>Cats</name></category>' +
        '<photoUrls><photoUrl>https://img.example/k1.jpg</photoUrl><photoUrl>https://img.example/k2.jpg</photoUrl></photoUrls>' +
        '<tags><tag><id>5</id><name>calm</name></tag></tags><status>available</status></pet>';
      const res = await call('addPet', {
        body: xml,
        contentType: 'application/xml',
        accept: 'application/xml',
        token: seller.token,
      });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.contentType, 'application/xml');
      assert.match(
        res.text,
        /^<\?xml version="1.0" encoding="UTF-8"\?><pet><id>\d+<\/id><name>Kitty &amp; Co<\/name>/,
      );
      assert.match(res.text, /<photoUrls><photoUrl>https:\/\/img.example\/k1.jpg<\/photoUrl><photoUrl>/);
      assert.deepEqual(res.body, {
        id,
        name: 'Kitty & Co',
        category: { id: 2, name: 'Cats' },
        photoUrls: ['https://img.example/k1.jpg', 'https://img.example/k2.jpg'],
        tags: [{ id: 5, name: 'calm' }],
        status: 'available',
      });
      const asXml = await call('getPetById', { params: { petId: id }, accept: 'application/xml' });
      assert.equal(asXml.contentType, 'application/xml');
      assert.deepEqual(asXml.body, res.body);
    });

    it('addPet with a form body (application/x-www-form-urlencoded)', async () => {
      const id = newId();
      const form = new URLSearchParams([
        ['id', String(id)],
        ['name', 'Formy'],
        ['category[name]', 'Birds'],
        ['photoUrls', 'https://img.example/f1.jpg'],
        ['photoUrls', 'https://img.example/f2.jpg'],
        ['tags[0][name]', 'loud'],
        ['tags[1][name]', 'small'],
        ['status', 'sold'],
      ]);
      const res = await call('addPet', {
        body: form.toString(),
        contentType: 'application/x-www-form-urlencoded',
        token: seller.token,
      });
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.body, {
        id,
        name: 'Formy',
        category: { name: 'Birds' },
        photoUrls: ['https://img.example/f1.jpg', 'https://img.example/f2.jpg'],
        tags: [{ name: 'loud' }, { name: 'small' }],
        status: 'sold',
      });
    });

    it('addPet: a body breaking the schema is 422 naming each field (JSON, XML, form); malformed is 400', async () => {
      const bad = await call('addPet', {
        ...json({ name: '', status: 'lost', photoUrls: ['javascript:alert(1)'], extra: 1, id: -4 }),
        token: seller.token,
      });
      assert.equal(bad.status, 422);
      assert.equal(problemCode(bad), 'validation_exception');
      for (const field of ['body.name', 'body.status', 'body.photoUrls[0]', 'body.extra', 'body.id']) {
        assert.ok(problemFields(bad).includes(field), `${field} in ${bad.text}`);
      }
      const missing = await call('addPet', { ...json({ name: 'x' }), token: seller.token });
      assert.equal(missing.status, 422);
      assert.deepEqual(problemFields(missing), ['body.photoUrls']);
      const huge = await call('addPet', {
        ...json({ id: 2 ** 60, name: 'x'.repeat(101), photoUrls: [] }),
        token: seller.token,
      });
      assert.equal(huge.status, 422);
      assert.deepEqual(problemFields(huge).sort(), ['body.id', 'body.name']);
      const xml = await call('addPet', {
        body: '<pet><name>x</name><photoUrls/><owner>me</owner><status>lost</status></pet>',
        contentType: 'application/xml',
        token: seller.token,
      });
      assert.equal(xml.status, 422);
      assert.deepEqual(problemFields(xml).sort(), ['body.owner', 'body.status']);
      const form = await call('addPet', {
        body: 'name=x&photoUrls=https://a.example/x.png&tags[0][id]=abc&tags[0][name]=t',
        contentType: 'application/x-www-form-urlencoded',
        token: seller.token,
      });
      assert.equal(form.status, 422);
      assert.deepEqual(problemFields(form), ['body.tags[0].id']);
      for (const [body, contentType] of [
        ['{"name":', 'application/json'],
        ['<pet><name>x</name>', 'application/xml'],
        ['<!DOCTYPE pet [<!ENTITY x "y">]><pet><name>&x;</name></pet>', 'application/xml'],
        ['<dog><name>x</name></dog>', 'application/xml'],
      ]) {
        const res = await call('addPet', { body: body!, contentType: contentType!, token: seller.token });
        assert.equal(res.status, 400, body);
      }
      const text = await call('addPet', { body: 'name=x', contentType: 'text/csv', token: seller.token });
      assert.equal(text.status, 415);
    });

    it('pet writes need a seller or an admin: anonymous 401, a customer 403, and nothing changes', async () => {
      const id = newId();
      const anonymous = await call('addPet', json({ id, name: 'x', photoUrls: [] }));
      assert.equal(anonymous.status, 401);
      const byCustomer = await call('addPet', {
        ...json({ id, name: 'x', photoUrls: [] }),
        token: customer.token,
      });
      assert.equal(byCustomer.status, 403);
      const tampered = await call('addPet', {
        ...json({ id, name: 'x', photoUrls: [] }),
        token: `${seller.token}x`,
      });
      assert.equal(tampered.status, 401);
      assert.equal((await call('getPetById', { params: { petId: id } })).status, 404);
      const admin = await loginAs(auth, 'admin');
      const byAdmin = await call('addPet', { ...json({ id, name: 'x', photoUrls: [] }), token: admin.token });
      assert.equal(byAdmin.status, 200);
    });

    it('getPetById: 404 for a missing pet, 400 for an id that is not a positive int64', async () => {
      assert.equal((await call('getPetById', { params: { petId: newId() } })).status, 404);
      for (const petId of ['abc', '-1', '0', '1.5', '99999999999999999999', "1' OR '1'='1"]) {
        const res = await call('getPetById', { params: { petId } });
        assert.equal(res.status, 400, petId);
        assert.equal(problemCode(res), 'validation_failed');
      }
    });

    it('updatePet: replaces the details; 400 without an id, 404 for a missing pet, 422 for a bad body', async () => {
      const pet = await addPet({ name: 'before', tags: [{ name: 'old' }] });
      const res = await call('updatePet', {
        ...json({
          id: pet.id,
          name: 'after',
          photoUrls: ['https://img.example/after.png'],
          tags: [{ name: 'new' }],
          status: 'sold',
        }),
        token: seller.token,
      });
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.body, {
        id: pet.id,
        name: 'after',
        photoUrls: ['https://img.example/after.png'],
        tags: [{ name: 'new' }],
        status: 'sold',
      });
      assert.deepEqual((await call('getPetById', { params: { petId: pet.id } })).body, res.body);
      const xml = await call('updatePet', {
        body: `<pet><id>${pet.id}</id><name>xml</name><photoUrls></photoUrls></pet>`,
        contentType: 'application/xml',
        accept: 'application/xml',
        token: seller.token,
      });
      assert.equal(xml.status, 200, xml.text);
      assert.equal((xml.body as Pet).name, 'xml');
      const noId = await call('updatePet', { ...json({ name: 'x', photoUrls: [] }), token: seller.token });
      assert.equal(noId.status, 400);
      assert.deepEqual(problemFields(noId), ['body.id']);
      const missing = await call('updatePet', {
        ...json({ id: newId(), name: 'x', photoUrls: [] }),
        token: seller.token,
      });
      assert.equal(missing.status, 404);
      const bad = await call('updatePet', {
        ...json({ id: pet.id, name: 7, photoUrls: [] }),
        token: seller.token,
      });
      assert.equal(bad.status, 422);
      assert.deepEqual(problemFields(bad), ['body.name']);
    });

    it('updatePetWithForm: name and status from the query; the rest stays', async () => {
      const pet = await addPet({
        name: 'formless',
        tags: [{ name: 'keep' }],
        photoUrls: ['https://img.example/keep.png'],
      });
      const res = await call('updatePetWithForm', {
        params: { petId: pet.id },
        query: 'name=renamed&status=sold',
        token: seller.token,
      });
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.body, { ...pet, name: 'renamed', status: 'sold' });
      const v2 = await addPet({ name: 'v2' });
      const form = await call('updatePetWithForm', {
        params: { petId: v2.id },
        body: 'name=v2%20form',
        contentType: 'application/x-www-form-urlencoded',
        accept: 'application/xml',
        token: seller.token,
      });
      assert.equal(form.status, 200, form.text);
      assert.equal((form.body as Pet).name, 'v2 form');
      const bad = await call('updatePetWithForm', {
        params: { petId: pet.id },
        query: 'status=lost',
        token: seller.token,
      });
      assert.equal(bad.status, 400);
      const missing = await call('updatePetWithForm', {
        params: { petId: newId() },
        query: 'name=x',
        token: seller.token,
      });
      assert.equal(missing.status, 404);
    });

    it('findPetsByStatus: one status, several (repeated or comma-separated), the default; 400 for an unknown one', async () => {
      const available = await addPet({ name: 'avail' });
      const sold = await addPet({ name: 'gone', status: 'sold' });
      const ids = (c: Call) => (c.body as Pet[]).map((p) => p.id);
      const onlyAvailable = await call('findPetsByStatus', { query: 'status=available' });
      assert.equal(onlyAvailable.status, 200);
      assert.ok(ids(onlyAvailable).includes(available.id));
      assert.ok(!ids(onlyAvailable).includes(sold.id));
      assert.ok(ids(await call('findPetsByStatus')).includes(available.id));
      for (const query of ['status=available,sold', 'status=available&status=sold']) {
        const both = await call('findPetsByStatus', { query });
        assert.ok(ids(both).includes(available.id) && ids(both).includes(sold.id), query);
      }
      const xml = await call('findPetsByStatus', { query: 'status=sold', accept: 'application/xml' });
      assert.equal(xml.contentType, 'application/xml');
      assert.match(xml.text, /^<\?xml[^>]*\?><pets><pet>/);
      assert.ok(ids(xml).includes(sold.id));
      const bad = await call('findPetsByStatus', { query: 'status=lost' });
      assert.equal(bad.status, 400);
      assert.deepEqual(problemFields(bad), ['query.status']);
    });

    it('findPetsByTags: pets with any of the tags', async () => {
      const tag = `t${randomUUID().slice(0, 8)}`;
      const a = await addPet({ name: 'a', tags: [{ name: tag }] });
      const b = await addPet({ name: 'b', tags: [{ name: `${tag}-other` }] });
      await addPet({ name: 'c', tags: [{ name: 'unrelated' }] });
      const one = await call('findPetsByTags', { query: `tags=${tag}` });
      assert.equal(one.status, 200);
      assert.deepEqual(
        (one.body as Pet[]).map((p) => p.id),
        [a.id],
      );
      const both = await call('findPetsByTags', { query: `tags=${tag},${tag}-other` });
      assert.deepEqual((both.body as Pet[]).map((p) => p.id).sort(), [a.id, b.id].sort());
      const none = await call('findPetsByTags', { query: 'tags=nobody-has-this' });
      assert.deepEqual(none.body, []);
    });

    it('uploadFile: stores the bytes, lists their URL on the pet, and serves them back identical', async () => {
      const pet = await addPet({ name: 'photogenic', photoUrls: ['https://img.example/first.jpg'] });
      const res = await call('uploadFile', {
        params: { petId: pet.id },
        query: 'additionalMetadata=front%20view',
        body: png,
        contentType: 'application/octet-stream',
        token: seller.token,
      });
      assert.equal(res.status, 200, res.text);
      const answer = res.body as { code: number; type: string; message: string };
      assert.equal(answer.code, 200);
      assert.equal(answer.type, 'image/png');
      assert.match(answer.message, /front view/);
      const read = (await call('getPetById', { params: { petId: pet.id } })).body as Pet;
      assert.equal(read.photoUrls.length, 2);
      assert.equal(read.photoUrls[0], 'https://img.example/first.jpg');
      const url = read.photoUrls[1]!;
      assert.match(url, /^\/api\/photos\/[0-9a-f]{64}$/);
      const served = await fetch(base + url);
      assert.equal(served.status, 200);
      assert.equal(served.headers.get('content-type'), 'image/png');
      assert.match(served.headers.get('cache-control') ?? '', /immutable/);
      assert.deepEqual(Buffer.from(await served.arrayBuffer()), png);
      const etag = served.headers.get('etag')!;
      const revalidated = await fetch(base + url, { headers: { 'if-none-match': etag } });
      assert.equal(revalidated.status, 304);
      // The same bytes again: stored once, listed once.
      const again = await call('uploadFile', {
        params: { petId: pet.id },
        body: png,
        contentType: 'application/octet-stream',
        token: seller.token,
      });
      assert.equal(again.status, 200);
      assert.equal(
        ((await call('getPetById', { params: { petId: pet.id } })).body as Pet).photoUrls.length,
        2,
      );
    });

    it('uploadFile refuses: no bytes 400, not an image 415, too large 413, a missing pet 404, a customer 403', async () => {
      const pet = await addPet({ name: 'camera-shy' });
      const upload = (body: Buffer, token = seller.token, petId = pet.id) =>
        call('uploadFile', { params: { petId }, body, contentType: 'application/octet-stream', token });
      assert.equal((await upload(Buffer.alloc(0))).status, 400);
      assert.equal((await upload(Buffer.from('<svg onload="alert(1)"></svg>'))).status, 415);
      const tooLarge = Buffer.concat([png, Buffer.alloc(PHOTO_MAX_BYTES)]);
      assert.equal((await upload(tooLarge)).status, 413);
      assert.equal((await upload(png, seller.token, newId())).status, 404);
      assert.equal((await upload(png, customer.token)).status, 403);
      assert.deepEqual(((await call('getPetById', { params: { petId: pet.id } })).body as Pet).photoUrls, []);
    });

    it('the native POST /api/pets/{id}/photos stores a photo the same way', async () => {
      const pet = await addPet({ name: 'native' });
      const res = await fetch(`${base}/api/pets/${pet.id}/photos`, {
        method: 'POST',
        headers: { 'content-type': 'image/gif', authorization: `Bearer ${seller.token}` },
        body: gif,
      });
      assert.equal(res.status, 201, await res.clone().text());
      const body = (await res.json()) as { url: string; contentType: string; photoId: string };
      assert.equal(body.contentType, 'image/gif');
      assert.equal(res.headers.get('location'), body.url);
      const served = await fetch(base + body.url);
      assert.equal(served.headers.get('content-type'), 'image/gif');
      assert.deepEqual(Buffer.from(await served.arrayBuffer()), gif);
      const missing = await fetch(`${base}/api/photos/${'0'.repeat(64)}`);
      assert.equal(missing.status, 404);
      const badId = await fetch(`${base}/api/photos/..%2F..%2Fetc%2Fpasswd`);
      assert.equal(badId.status, 400);
    });

    it('bad input to any pet operation: a 4xx problem+json, never a 500, and nothing changes', async () => {
      const pet = await addPet({ name: 'steady', tags: [{ name: 'steady' }] });
      const before = (await call('getPetById', { params: { petId: pet.id } })).body;
      const token = seller.token;
      const valid = { id: pet.id, name: 'x', photoUrls: [] };
      const cases: [string, CallOptions][] = [
        ['addPet', { ...json([valid]), token }],
        ['addPet', { ...json('x'), token }],
        ['addPet', { ...json(null), token }],
        ['addPet', { ...json({ name: 'x'.repeat(2 * 1024 * 1024), photoUrls: [] }), token }],
        ['addPet', { ...json({ ...valid, id: pet.id }), token }],
        ['updatePet', { ...json({ ...valid, status: "pending'; DROP TABLE pets; --" }), token }],
        ['updatePet', { ...json({ ...valid, id: String(pet.id) }), token }],
        ['updatePet', { ...json({ ...valid, id: 1.5 }), token }],
        ['updatePet', { ...json({ ...valid, photoUrls: ['<script>alert(1)</script>'] }), token }],
        ['updatePet', { ...json({ ...valid, category: { name: 7 } }), token }],
        ['updatePet', { ...json({ ...valid, tags: 'steady' }), token }],
        ['updatePet', { ...json({ ...valid, tags: Array(51).fill({ name: 't' }) }), token }],
        ['updatePet', { ...json({ ...valid, status: 'pending' }), token }],
        ['updatePetWithForm', { params: { petId: pet.id }, query: "status=sold' OR '1'='1", token }],
        ['updatePetWithForm', { params: { petId: pet.id }, query: 'name=', token }],
        ['updatePetWithForm', { params: { petId: pet.id }, query: 'name=x&owner=me', token }],
        ['findPetsByStatus', { query: "status=available' OR 1=1--" }],
        ['findPetsByStatus', { query: 'status=<script>alert(1)</script>' }],
        ['findPetsByStatus', { query: 'status=available&limit=5' }],
        ['findPetsByTags', { query: `tags=${'x'.repeat(101)}` }],
        ['findPetsByTags', { query: Array.from({ length: 21 }, (_, i) => `tags=t${i}`).join('&') }],
        ['getPetById', { params: { petId: '1;DROP TABLE pets' } }],
        ['deletePet', { params: { petId: '-5' }, token }],
        [
          'uploadFile',
          {
            params: { petId: pet.id },
            query: `additionalMetadata=${'x'.repeat(1001)}`,
            body: png,
            contentType: 'application/octet-stream',
            token,
          },
        ],
        ['uploadFile', { params: { petId: pet.id }, ...json({ file: 'x' }), token }],
      ];
      for (const [operationId, options] of cases) {
        const res = await call(operationId, options);
        assert.ok(
          res.status >= 400 && res.status < 500,
          `${operationId} ${JSON.stringify(options).slice(0, 200)}: ${res.status} ${res.text}`,
        );
      }
      assert.deepEqual((await call('getPetById', { params: { petId: pet.id } })).body, before);
    });

    it('deletePet: 200 with the api_key header as the token, then 404; a customer 403', async () => {
      const pet = await addPet({ name: 'leaving' });
      const byCustomer = await call('deletePet', { params: { petId: pet.id }, token: customer.token });
      assert.equal(byCustomer.status, 403);
      const res = await call('deletePet', { params: { petId: pet.id }, token: seller.token });
      assert.equal(res.status, 200, res.text);
      assert.equal((await call('getPetById', { params: { petId: pet.id } })).status, 404);
      assert.equal((await call('deletePet', { params: { petId: pet.id }, token: seller.token })).status, 404);
      assert.equal((await call('deletePet', { params: { petId: 'x' }, token: seller.token })).status, 400);
    });
  });

  describe('store', () => {
    let pet: Pet;
    let orderId: number;

    before(async () => {
      pet = await addPet({ name: 'for sale' });
    });

    it('placeOrder: a customer orders an available pet; it becomes pending', async () => {
      const res = await call('placeOrder', {
        ...json({ petId: pet.id, quantity: 1, status: 'placed', complete: false }),
        token: customer.token,
      });
      assert.equal(res.status, 200, res.text);
      const order = res.body as { id: number; petId: number; status: string };
      assert.equal(order.petId, pet.id);
      assert.equal(order.status, 'placed');
      orderId = order.id;
      const read = await call('getPetById', { params: { petId: pet.id } });
      assert.equal((read.body as Pet).status, 'pending');
    });

    it('deletePet: a reserved pet is refused (409) and stays', async () => {
      const res = await call('deletePet', { params: { petId: pet.id }, token: seller.token });
      assert.equal(res.status, 409, res.text);
      assert.equal(problemCode(res), 'pet_reserved');
      assert.equal(((await call('getPetById', { params: { petId: pet.id } })).body as Pet).status, 'pending');
    });

    it('placeOrder with an XML and a form body; getOrderById as XML', async () => {
      const other = await addPet({ name: 'xml order' });
      const xml = await call('placeOrder', {
        body: `<order><petId>${other.id}</petId><quantity>1</quantity><status>placed</status><complete>false</complete></order>`,
        contentType: 'application/xml',
        token: customer.token,
      });
      assert.equal(xml.status, 200, xml.text);
      const placed = xml.body as { id: number; petId: number };
      assert.equal(placed.petId, other.id);
      const asXml = await call('getOrderById', {
        params: { orderId: placed.id },
        accept: 'application/xml',
        token: customer.token,
      });
      assert.equal(asXml.status, 200, asXml.text);
      assert.equal(asXml.contentType, 'application/xml');
      assert.match(asXml.text, /^<\?xml[^>]*\?><order><id>\d+<\/id><petId>/);
      const third = await addPet({ name: 'form order' });
      const form = await call('placeOrder', {
        body: new URLSearchParams({ petId: String(third.id), quantity: '1' }).toString(),
        contentType: 'application/x-www-form-urlencoded',
        token: customer.token,
      });
      assert.equal(form.status, 200, form.text);
      assert.equal((form.body as { petId: number }).petId, third.id);
    });

    it('placeOrder: refuses a bad body (422) and a second order for the same pet', async () => {
      const bad = await call('placeOrder', {
        ...json({ petId: pet.id, quantity: -1 }),
        token: customer.token,
      });
      assert.equal(bad.status, 422);
      const second = await call('placeOrder', {
        ...json({ petId: pet.id, quantity: 1 }),
        token: customer.token,
      });
      assert.ok(second.status >= 400 && second.status < 500, second.text);
    });

    it('getOrderById: the order; 404 for a missing one, 400 for a bad id', async () => {
      const res = await call('getOrderById', { params: { orderId }, token: customer.token });
      assert.equal(res.status, 200, res.text);
      assert.equal((res.body as { id: number }).id, orderId);
      assert.equal(
        (await call('getOrderById', { params: { orderId: newId() }, token: customer.token })).status,
        404,
      );
      assert.equal(
        (await call('getOrderById', { params: { orderId: 'abc' }, token: customer.token })).status,
        400,
      );
    });

    it('getInventory: a count per status', async () => {
      const res = await call('getInventory', { token: seller.token });
      assert.equal(res.status, 200, res.text);
      const inventory = res.body as Record<string, number>;
      assert.ok((inventory.pending ?? 0) >= 1);
      assert.ok((inventory.available ?? 0) >= 1);
    });

    it('deleteOrder: cancels the order and frees the pet', async () => {
      const res = await call('deleteOrder', { params: { orderId }, token: customer.token });
      assert.equal(res.status, 200, res.text);
      assert.equal((await call('getOrderById', { params: { orderId }, token: customer.token })).status, 404);
      const read = await call('getPetById', { params: { petId: pet.id } });
      assert.equal((read.body as Pet).status, 'available');
      assert.equal(
        (await call('deleteOrder', { params: { orderId: 'abc' }, token: customer.token })).status,
        400,
      );
    });
  });

  describe('user', () => {
    const username = `u${randomUUID().slice(0, 8)}`;
    const password = 'correct horse battery staple';
    let token: string;

    it('createUser: registers a user (JSON) and answers it', async () => {
      const res = await call('createUser', {
        ...json({
          username,
          firstName: 'Ada',
          lastName: 'Lovelace',
          email: `${username}@example.com`,
          password,
          phone: '12345',
          userStatus: 1,
        }),
      });
      assert.equal(res.status, 200, res.text);
      assert.equal((res.body as { username: string }).username, username);
      assert.equal((res.body as { password?: string }).password, undefined, 'never echo a password');
    });

    it('createUser with an XML body, and createUsersWithListInput', async () => {
      const xmlName = `x${randomUUID().slice(0, 8)}`;
      const xml = await call('createUser', {
        body: `<user><username>${xmlName}</username><email>${xmlName}@example.com</email><password>${password}</password></user>`,
        contentType: 'application/xml',
        accept: 'application/xml',
      });
      assert.equal(xml.status, 200, xml.text);
      assert.equal((xml.body as { username: string }).username, xmlName);
      const names = [`l${randomUUID().slice(0, 8)}`, `l${randomUUID().slice(0, 8)}`];
      const list = await call(
        'createUsersWithListInput',
        json(names.map((n) => ({ username: n, password }))),
      );
      assert.equal(list.status, 200, list.text);
    });

    it('loginUser: a token (a JSON string) with X-Rate-Limit and X-Expires-After; 400 for a bad password', async () => {
      const res = await call('loginUser', { query: new URLSearchParams({ username, password }).toString() });
      assert.equal(res.status, 200, res.text);
      assert.equal(typeof res.body, 'string');
      token = res.body as string;
      assert.ok(Number(res.headers.get('x-rate-limit')) > 0);
      assert.ok(!Number.isNaN(Date.parse(res.headers.get('x-expires-after') ?? '')));
      const bad = await call('loginUser', {
        query: new URLSearchParams({ username, password: 'wrong' }).toString(),
      });
      assert.equal(bad.status, 400);
    });

    it('getUserByName: the user, with the api_key header; 404 for a missing one', async () => {
      const res = await call('getUserByName', { params: { username }, token });
      assert.equal(res.status, 200, res.text);
      assert.equal((res.body as { username: string }).username, username);
      const asXml = await call('getUserByName', { params: { username }, token, accept: 'application/xml' });
      assert.equal(asXml.contentType, 'application/xml');
      assert.equal((await call('getUserByName', { params: { username: 'nobody-here' }, token })).status, 404);
    });

    it('updateUser: changes the user (JSON and form)', async () => {
      const res = await call('updateUser', {
        params: { username },
        ...json({ username, firstName: 'Augusta', email: `${username}@example.com` }),
        token,
      });
      assert.equal(res.status, 200, res.text);
      const form = await call('updateUser', {
        params: { username },
        body: new URLSearchParams({ username, lastName: 'King' }).toString(),
        contentType: 'application/x-www-form-urlencoded',
        token,
      });
      assert.equal(form.status, 200, form.text);
      const read = await call('getUserByName', { params: { username }, token });
      assert.equal((read.body as { lastName?: string }).lastName, 'King');
    });

    it('logoutUser: ends the session', async () => {
      const res = await call('logoutUser', { token });
      assert.equal(res.status, 200, res.text);
      assert.equal((await call('getUserByName', { params: { username }, token })).status, 401);
    });

    it('deleteUser: deletes the user, then 404', async () => {
      const login = await call('loginUser', {
        query: new URLSearchParams({ username, password }).toString(),
      });
      const fresh = login.body as string;
      const res = await call('deleteUser', { params: { username }, token: fresh });
      assert.equal(res.status, 200, res.text);
      const admin = await loginAs(auth, 'admin');
      assert.equal((await call('getUserByName', { params: { username }, token: admin.token })).status, 404);
    });
  });

  describe('the documents', () => {
    it('GET /api/v3/openapi.json and .yaml serve the contract, pointing at this server', async () => {
      const res = await fetch(`${base}/api/v3/openapi.json`);
      assert.equal(res.status, 200);
      const doc = (await res.json()) as typeof petstoreContract & { servers: { url: string }[] };
      assert.deepEqual(doc.paths, petstoreContract.paths);
      assert.deepEqual(doc.components, petstoreContract.components);
      assert.deepEqual(doc.servers, [{ url: '/api/v3' }]);
      const yaml = await fetch(`${base}/api/v3/openapi.yaml`);
      assert.equal(yaml.status, 200);
      assert.match(yaml.headers.get('content-type') ?? '', /yaml/);
      const text = await yaml.text();
      assert.match(text, /^openapi: 3\.0\.4/);
      assert.match(text, /servers:\n {2}- url: \/api\/v3\n/);
    });

    it('GET /api/openapi.json documents the native API from its route schemas, without /api/v3', async () => {
      const res = await fetch(`${base}/api/openapi.json`);
      assert.equal(res.status, 200);
      const doc = (await res.json()) as { openapi: string; paths: Record<string, Record<string, unknown>> };
      assert.match(doc.openapi, /^3\./);
      const paths = Object.keys(doc.paths);
      for (const path of [
        '/api/pets',
        '/api/pets/{petId}',
        '/api/pets/{petId}/photos',
        '/api/photos/{photoId}',
      ]) {
        assert.ok(paths.includes(path), `${path} in ${paths.join(' ')}`);
      }
      assert.ok(!paths.some((p) => p.startsWith('/api/v3') || p.startsWith('/docs')));
      const create = doc.paths['/api/pets']!.post as { requestBody?: unknown };
      assert.ok(create.requestBody, 'the body schema the route validates with is documented');
    });

    it('GET /docs serves the explorer listing both documents, from local files', async () => {
      const page = await fetch(`${base}/docs`);
      assert.equal(page.status, 200);
      assert.match(page.headers.get('content-type') ?? '', /text\/html/);
      const html = await page.text();
      assert.ok(!/https?:\/\//.test(html.replace(/<!doctype[^>]*>/i, '')), 'no CDN');
      const scripts = [...html.matchAll(/src="([^"]+)"/g)].map((m) => m[1]!);
      assert.ok(scripts.includes('/docs/swagger-ui-bundle.js'));
      for (const src of scripts) assert.equal((await fetch(base + src)).status, 200, src);
      const init = await (await fetch(`${base}/docs/initializer.js`)).text();
      assert.match(init, /\/api\/openapi\.json/);
      assert.match(init, /\/api\/v3\/openapi\.json/);
      assert.equal((await fetch(`${base}/docs/package.json`)).status, 404);
    });
  });

  it('called every operation of the contract', () => {
    assert.deepEqual([...called].sort(), [...petstoreOperations.keys()].sort());
  });
});
