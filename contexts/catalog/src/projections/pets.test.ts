// The pets projection as Given (events) / Then (document, columns, counters, topics).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ProjectedEvent } from '@optic-mart/runtime';
import { OrderId, PetId } from '../domain/ids.js';
import type { PetEvent } from '../domain/pet.js';
import { petsProjection, type PetView } from './pets.js';

const petId = PetId('42');
const order = OrderId('order-1');
const rex = {
  petId,
  name: 'Rex',
  category: { id: 1, name: 'Dogs' },
  tags: [{ name: 'friendly' }, { id: 7, name: 'small' }],
  photoUrls: ['https://img.example/rex.jpg'],
};

const created: PetEvent = { type: 'PetCreated', data: { ...rex, status: 'available' } };
const updated: PetEvent = {
  type: 'PetUpdated',
  data: { ...rex, name: 'Rexy', category: null, tags: [{ name: 'calm' }], status: 'available' },
};
const reserved: PetEvent = { type: 'PetReserved', data: { petId, orderId: order } };
const released: PetEvent = { type: 'PetReleased', data: { petId, orderId: order } };
const sold: PetEvent = { type: 'PetSold', data: { petId, orderId: order } };
const deleted: PetEvent = { type: 'PetDeleted', data: { petId } };

/** The pet's stream as recorded: versions 1, 2, … and positions far apart from them. */
const recorded = (events: readonly PetEvent[], streamId = `pet-${petId}`): ProjectedEvent[] =>
  events.map((e, i) => ({
    id: `e${i}`,
    streamId,
    type: e.type,
    data: e.data,
    metadata: {},
    version: i + 1,
    position: 1000 + i * 3,
    recordedAt: new Date(0),
  }));

/** The document the given events fold into, checked to be what a JSON column stores. */
function given(events: readonly PetEvent[]): PetView | null {
  const doc = recorded(events).reduce<PetView | null>((d, e) => {
    assert.equal(petsProjection.documentId(e), petId, `${e.type} addresses the pet's document`);
    return petsProjection.apply(d, e);
  }, null);
  assert.deepStrictEqual(JSON.parse(JSON.stringify(doc)) as unknown, doc, 'the document is plain JSON');
  return doc;
}

const columns = (doc: PetView) =>
  Object.fromEntries(Object.entries(petsProjection.columns ?? {}).map(([name, c]) => [name, c.value(doc)]));

describe('pets projection', () => {
  it('declares the pet events of the pet category', () => {
    assert.equal(petsProjection.category, 'pet');
    assert.deepEqual([...petsProjection.events].sort(), [
      'PetCreated',
      'PetDeleted',
      'PetPhotoAdded',
      'PetReleased',
      'PetReserved',
      'PetSold',
      'PetUpdated',
    ]);
  });

  it('Given PetCreated: the pet as the API shows it, at version 1', () => {
    assert.deepEqual(given([created]), {
      id: petId,
      name: 'Rex',
      category: { id: 1, name: 'Dogs' },
      tags: [{ name: 'friendly' }, { id: 7, name: 'small' }],
      photoUrls: ['https://img.example/rex.jpg'],
      status: 'available',
      orderId: null,
      version: 1,
    });
  });

  it('Given PetUpdated: the details replaced, version 2', () => {
    const doc = given([created, updated]);
    assert.equal(doc?.name, 'Rexy');
    assert.equal(doc?.category, null);
    assert.deepEqual(doc?.tags, [{ name: 'calm' }]);
    assert.equal(doc?.version, 2);
  });

  it('Given a reservation: pending with the order; released: available with none', () => {
    assert.deepEqual(
      [given([created, reserved]), given([created, reserved, released])].map((d) => [
        d?.status,
        d?.orderId,
        d?.version,
      ]),
      [
        ['pending', order, 2],
        ['available', null, 3],
      ],
    );
  });

  it('Given a sale: sold, keeping the buying order', () => {
    const doc = given([created, reserved, sold]);
    assert.equal(doc?.status, 'sold');
    assert.equal(doc?.orderId, order);
    assert.equal(doc?.version, 3);
  });

  it('Given PetPhotoAdded: the photo URL after the others, the version advanced', () => {
    const photoId = 'ab'.repeat(32);
    const url = `/api/photos/${photoId}`;
    const photoAdded: PetEvent = {
      type: 'PetPhotoAdded',
      data: { petId, photoId, contentType: 'image/png', url },
    };
    const doc = given([created, photoAdded]);
    assert.deepEqual(doc?.photoUrls, [...rex.photoUrls, url]);
    assert.equal(doc?.version, 2);
  });

  it('Given PetDeleted: no document', () => {
    assert.equal(given([created, deleted]), null);
    assert.equal(given([created, reserved, released, deleted]), null);
  });

  it('ignores a change to a pet it has no document for (deleted, or never created)', () => {
    const { apply } = petsProjection;
    for (const event of [updated, reserved, released, sold, deleted]) {
      assert.equal(apply(null, recorded([event])[0]!), null, event.type);
    }
  });

  it('leaves the document as it is for an event type it does not know', () => {
    const doc = given([created]);
    const unknown = { ...recorded([created])[0]!, type: 'PetGroomed', version: 2 };
    assert.equal(petsProjection.apply(doc, unknown), doc);
  });

  it('addresses no document for an event without a pet id', () => {
    const [event] = recorded([created]);
    assert.equal(petsProjection.documentId({ ...event!, data: {} }), null);
    assert.equal(petsProjection.documentId({ ...event!, data: null }), null);
  });

  it('extracts the filter columns: status, tag names (once each), name, category name', () => {
    const doc = given([created])!;
    assert.deepEqual(columns(doc), {
      status: 'available',
      tags: ['friendly', 'small'],
      name: 'Rex',
      category: 'Dogs',
    });
    const twice = { ...doc, category: null, tags: [{ name: 'a' }, { id: 2, name: 'a' }] };
    assert.deepEqual(columns(twice), { status: 'available', tags: ['a'], name: 'Rex', category: null });
  });

  it('counts pets by status', () => {
    const byStatus = petsProjection.counters?.status;
    assert.ok(byStatus);
    assert.equal(byStatus(given([created])!), 'available');
    assert.equal(byStatus(given([created, reserved])!), 'pending');
    assert.equal(byStatus(given([created, reserved, sold])!), 'sold');
  });

  it('notifies pets and the pet, and the inventory only when a count changes', () => {
    const topics = petsProjection.topics;
    assert.ok(topics);
    const available = given([created]);
    const pending = given([created, reserved]);
    const renamed = given([created, updated]);
    assert.deepEqual(topics(petId, null, available), ['pets', 'pets/42', 'inventory']);
    assert.deepEqual(topics(petId, available, renamed), ['pets', 'pets/42']);
    assert.deepEqual(topics(petId, available, pending), ['pets', 'pets/42', 'inventory']);
    assert.deepEqual(topics(petId, available, null), ['pets', 'pets/42', 'inventory']);
  });
});
