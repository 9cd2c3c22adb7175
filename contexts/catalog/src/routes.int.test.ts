// The catalog's routes through the runtime's command handler, against a real PostgreSQL.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { EventStore } from '@optic-mart/eventstore';
import { errorSpec, isErrorCode } from '@optic-mart/platform';
import { createCommandHandler, type CommandHandler, type CommandInput } from '@optic-mart/runtime';
import { createTestDatabase, type TestDatabase } from '@optic-mart/testkit';
import { petErrorCodes } from './domain/pet.js';
import { catalogCommandRoutes, petIdOf, petStreamId } from './routes.js';

let db: TestDatabase;
let store: EventStore;
let handle: CommandHandler;

before(async () => {
  db = await createTestDatabase('catalog');
  store = new EventStore({ connectionString: db.url, poolSize: 20 });
  await store.start();
  handle = createCommandHandler({ store, routes: catalogCommandRoutes });
});

after(async () => {
  await store.close();
  await db.drop();
});

const command = (aggregateId: string, type: string, data: unknown): CommandInput => ({
  commandId: randomUUID(),
  type,
  aggregateId,
  data,
  metadata: { correlationId: randomUUID() },
});

describe('catalog command routes', () => {
  it('runs a pet through its lifecycle into its pet-<id> stream', async () => {
    const id = randomUUID();
    const stream = petStreamId(id);
    const results = [
      await handle(command(stream, 'CreatePet', { name: 'Rex', tags: [{ name: 'dog' }] })),
      await handle(command(stream, 'ReservePet', { orderId: 'order-1' })),
      await handle(command(stream, 'MarkPetSold', { orderId: 'order-1' })),
    ];
    assert.deepEqual(
      results.map((r) => r.ok && r.version),
      [1, 2, 3],
    );
    const events = await store.readStream(stream);
    assert.deepEqual(
      events.map((e) => e.type),
      ['PetCreated', 'PetReserved', 'PetSold'],
    );
    assert.deepEqual(events[0]?.data, {
      petId: id,
      name: 'Rex',
      category: null,
      tags: [{ name: 'dog' }],
      photoUrls: [],
      status: 'available',
    });
  });

  it('lets exactly one of 10 concurrent orders reserve a pet (invariant 5)', async () => {
    const stream = petStreamId(randomUUID());
    assert.equal((await handle(command(stream, 'CreatePet', { name: 'Rex' }))).ok, true);
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => handle(command(stream, 'ReservePet', { orderId: `order-${i}` }))),
    );
    assert.equal(results.filter((r) => r.ok).length, 1);
    for (const r of results.filter((r) => !r.ok)) assert.equal(!r.ok && r.error.code, 'pet_not_available');
    const reserved = (await store.readStream(stream)).filter((e) => e.type === 'PetReserved');
    assert.equal(reserved.length, 1);
  });

  it('refuses a malformed command from a producer other than the gateway, writing nothing', async () => {
    const stream = petStreamId(randomUUID());
    const r = await handle(command(stream, 'CreatePet', { name: '', colour: 'brown' }));
    assert.equal(!r.ok && r.error.code, 'validation_failed');
    assert.match(!r.ok ? r.error.detail : '', /\/name/);
    const notPet = await handle(command('order-1', 'CreatePet', { name: 'Rex' }));
    assert.equal(!notPet.ok && notPet.error.code, 'validation_failed');
    assert.equal(await store.streamExists(stream), false);
  });

  it('reports domain refusals with their codes', async () => {
    const stream = petStreamId(randomUUID());
    const r = await handle(command(stream, 'DeletePet', {}));
    assert.deepEqual(r, {
      ok: false,
      error: { code: 'pet_not_found', detail: `pet ${petIdOf(stream)} does not exist` },
    });
  });

  it('uses only codes of the error table, each a non-retryable 4xx', () => {
    for (const code of petErrorCodes) {
      assert.ok(isErrorCode(code), code);
      const spec = errorSpec(code);
      assert.ok(spec.status >= 400 && spec.status < 500 && !spec.retryable, code);
    }
  });
});

describe('petIdOf', () => {
  it('takes the id out of a pet stream id, and nothing else', () => {
    assert.equal(petIdOf('pet-42'), '42');
    assert.equal(petIdOf(petStreamId('a-b_c')), 'a-b_c');
    for (const s of ['order-42', 'pet-', 'pet', 'pet- 1', `pet-${'x'.repeat(101)}`])
      assert.equal(petIdOf(s), null, s);
  });
});
