import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { given } from '@optic-mart/runtime';
import { OrderId, PetId } from './ids.js';
import { MAX_PET_PHOTOS, petDecider, type PetCommand, type PetEvent } from './pet.js';

const petId = PetId('42');
const order = OrderId('order-1');
const other = OrderId('order-2');

const rex = {
  petId,
  name: 'Rex',
  category: { id: 1, name: 'Dogs' },
  tags: [{ name: 'friendly' }],
  photoUrls: ['https://img.example/rex.jpg'],
};

const created: PetEvent = {
  type: 'PetCreated',
  data: { ...rex, status: 'available' },
};
const reserved: PetEvent = { type: 'PetReserved', data: { petId, orderId: order } };
const released: PetEvent = { type: 'PetReleased', data: { petId, orderId: order } };
const sold: PetEvent = { type: 'PetSold', data: { petId, orderId: order } };
const deleted: PetEvent = { type: 'PetDeleted', data: { petId } };
const soldOutsideTheShop: PetEvent = { type: 'PetUpdated', data: { ...rex, status: 'sold' } };

const create = (data: Partial<Extract<PetCommand, { type: 'CreatePet' }>['data']> = {}): PetCommand => ({
  type: 'CreatePet',
  data: { ...rex, ...data },
});
const update = (data: Partial<Extract<PetCommand, { type: 'UpdatePet' }>['data']> = {}): PetCommand => ({
  type: 'UpdatePet',
  data: { ...rex, ...data },
});
const remove: PetCommand = { type: 'DeletePet', data: { petId } };
const reserve = (orderId = order): PetCommand => ({ type: 'ReservePet', data: { petId, orderId } });
const release = (orderId = order): PetCommand => ({ type: 'ReleasePet', data: { petId, orderId } });
const markSold = (orderId = order): PetCommand => ({ type: 'MarkPetSold', data: { petId, orderId } });

describe('CreatePet', () => {
  it('creates an available pet', () => {
    given(petDecider).when(create()).then([created]);
  });

  it('fills in what is omitted: no category, no tags, no photos, available', () => {
    given(petDecider)
      .when({ type: 'CreatePet', data: { petId, name: 'Rex' } })
      .then([
        {
          type: 'PetCreated',
          data: { petId, name: 'Rex', category: null, tags: [], photoUrls: [], status: 'available' },
        },
      ]);
  });

  it('keeps only the id and name of a category and of tags', () => {
    const extra = { name: 'Dogs', colour: 'brown' } as { name: string };
    given(petDecider)
      .when(create({ category: extra, tags: [extra] }))
      .then([
        {
          type: 'PetCreated',
          data: { ...rex, category: { name: 'Dogs' }, tags: [{ name: 'Dogs' }], status: 'available' },
        },
      ]);
  });

  it('may create a pet that is sold already', () => {
    given(petDecider)
      .when(create({ status: 'sold' }))
      .then([{ type: 'PetCreated', data: { ...rex, status: 'sold' } }]);
  });

  it('refuses pending: only an order reserves a pet', () => {
    given(petDecider)
      .when(create({ status: 'pending' }))
      .thenThrows('invalid_status_transition');
  });

  it('refuses an existing pet', () => {
    given(petDecider, [created]).when(create()).thenThrows('pet_already_exists');
  });

  it('refuses the id of a deleted pet: its stream keeps that history', () => {
    given(petDecider, [created, deleted]).when(create()).thenThrows('pet_already_exists');
  });
});

describe('UpdatePet', () => {
  it('replaces the mutable fields', () => {
    given(petDecider, [created])
      .when(update({ name: 'Max', category: null, tags: [], photoUrls: ['https://img.example/max.jpg'] }))
      .then([
        {
          type: 'PetUpdated',
          data: {
            petId,
            name: 'Max',
            category: null,
            tags: [],
            photoUrls: ['https://img.example/max.jpg'],
            status: 'available',
          },
        },
      ]);
  });

  it('treats omitted optional fields as empty, and an omitted status as unchanged', () => {
    given(petDecider, [created])
      .when({ type: 'UpdatePet', data: { petId, name: 'Rex' } })
      .then([
        {
          type: 'PetUpdated',
          data: { petId, name: 'Rex', category: null, tags: [], photoUrls: [], status: 'available' },
        },
      ]);
  });

  it('decides nothing when nothing changes', () => {
    given(petDecider, [created]).when(update()).then([]);
    given(petDecider, [created])
      .when(update({ status: 'available' }))
      .then([]);
    given(petDecider, [created, reserved])
      .when(update({ status: 'pending' }))
      .then([]);
  });

  it('sees a change in a category id or in the order of tags', () => {
    given(petDecider, [created])
      .when(update({ category: { id: 2, name: 'Dogs' } }))
      .then([
        { type: 'PetUpdated', data: { ...rex, category: { id: 2, name: 'Dogs' }, status: 'available' } },
      ]);
    const two = [{ name: 'a' }, { name: 'b' }];
    given(petDecider, [created, { type: 'PetUpdated', data: { ...rex, tags: two, status: 'available' } }])
      .when(update({ tags: [...two].reverse() }))
      .then([{ type: 'PetUpdated', data: { ...rex, tags: [...two].reverse(), status: 'available' } }]);
  });

  it('may sell an available pet (a sale outside the shop)', () => {
    given(petDecider, [created])
      .when(update({ status: 'sold' }))
      .then([soldOutsideTheShop]);
  });

  it('updates the details of a reserved pet, which stays reserved', () => {
    given(petDecider, [created, reserved])
      .when(update({ name: 'Max' }))
      .then([{ type: 'PetUpdated', data: { ...rex, name: 'Max', status: 'pending' } }]);
    given(petDecider, [
      created,
      reserved,
      { type: 'PetUpdated', data: { ...rex, name: 'Max', status: 'pending' } },
    ])
      .when(markSold())
      .then([sold]);
  });

  it('refuses to set pending: only an order reserves a pet', () => {
    given(petDecider, [created])
      .when(update({ status: 'pending' }))
      .thenThrows('invalid_status_transition');
  });

  it("refuses to change a reserved pet's status: its order releases or buys it", () => {
    given(petDecider, [created, reserved])
      .when(update({ status: 'available' }))
      .thenThrows('pet_reserved');
    given(petDecider, [created, reserved])
      .when(update({ status: 'sold' }))
      .thenThrows('pet_reserved');
  });

  it('refuses to make a sold pet available (or pending) again', () => {
    given(petDecider, [created, reserved, sold])
      .when(update({ status: 'available' }))
      .thenThrows('invalid_status_transition');
    given(petDecider, [created, soldOutsideTheShop])
      .when(update({ status: 'pending' }))
      .thenThrows('invalid_status_transition');
  });

  it('updates the details of a sold pet', () => {
    given(petDecider, [created, reserved, sold])
      .when(update({ name: 'Max' }))
      .then([{ type: 'PetUpdated', data: { ...rex, name: 'Max', status: 'sold' } }]);
  });

  it('refuses a missing or deleted pet', () => {
    given(petDecider).when(update()).thenThrows('pet_not_found');
    given(petDecider, [created, deleted]).when(update()).thenThrows('pet_not_found');
  });
});

describe('DeletePet', () => {
  it('deletes an available pet', () => {
    given(petDecider, [created]).when(remove).then([deleted]);
  });

  it('deletes a sold pet', () => {
    given(petDecider, [created, reserved, sold]).when(remove).then([deleted]);
  });

  it('refuses a reserved pet (seed 002)', () => {
    given(petDecider, [created, reserved]).when(remove).thenThrows('pet_reserved');
  });

  it('deletes a pet whose reservation was released', () => {
    given(petDecider, [created, reserved, released]).when(remove).then([deleted]);
  });

  it('refuses a missing or deleted pet', () => {
    given(petDecider).when(remove).thenThrows('pet_not_found');
    given(petDecider, [created, deleted]).when(remove).thenThrows('pet_not_found');
  });
});

describe('ReservePet', () => {
  it('reserves an available pet for the order', () => {
    given(petDecider, [created]).when(reserve()).then([reserved]);
  });

  it('reserves a pet whose reservation was released, for another order', () => {
    given(petDecider, [created, reserved, released])
      .when(reserve(other))
      .then([{ type: 'PetReserved', data: { petId, orderId: other } }]);
  });

  it('refuses a reserved pet, for another order and for the same one (invariant 5: one order)', () => {
    given(petDecider, [created, reserved]).when(reserve(other)).thenThrows('pet_not_available');
    given(petDecider, [created, reserved]).when(reserve()).thenThrows('pet_not_available');
  });

  it('refuses a sold pet', () => {
    given(petDecider, [created, reserved, sold]).when(reserve(other)).thenThrows('pet_not_available');
    given(petDecider, [created, soldOutsideTheShop]).when(reserve()).thenThrows('pet_not_available');
  });

  it('refuses a missing or deleted pet', () => {
    given(petDecider).when(reserve()).thenThrows('pet_not_found');
    given(petDecider, [created, deleted]).when(reserve()).thenThrows('pet_not_found');
  });
});

describe('ReleasePet', () => {
  it('releases the reservation of the order that holds it', () => {
    given(petDecider, [created, reserved]).when(release()).then([released]);
  });

  it('refuses another order', () => {
    const err = given(petDecider, [created, reserved])
      .when(release(other))
      .thenThrows('reservation_mismatch');
    assert.doesNotMatch(err.detail, /order-1/, "another order's id is not told");
  });

  it('refuses a pet that is not reserved: available, released already, or sold', () => {
    given(petDecider, [created]).when(release()).thenThrows('reservation_mismatch');
    given(petDecider, [created, reserved, released]).when(release()).thenThrows('reservation_mismatch');
    given(petDecider, [created, reserved, sold]).when(release()).thenThrows('reservation_mismatch');
  });

  it('refuses a missing or deleted pet', () => {
    given(petDecider).when(release()).thenThrows('pet_not_found');
    given(petDecider, [created, deleted]).when(release()).thenThrows('pet_not_found');
  });
});

describe('MarkPetSold', () => {
  it('sells the pet to the order that reserved it', () => {
    given(petDecider, [created, reserved]).when(markSold()).then([sold]);
  });

  it('refuses another order', () => {
    given(petDecider, [created, reserved]).when(markSold(other)).thenThrows('reservation_mismatch');
  });

  it('refuses a pet that is not reserved: available, or sold already', () => {
    given(petDecider, [created]).when(markSold()).thenThrows('reservation_mismatch');
    given(petDecider, [created, reserved, sold]).when(markSold()).thenThrows('reservation_mismatch');
  });

  it('refuses a missing or deleted pet', () => {
    given(petDecider).when(markSold()).thenThrows('pet_not_found');
    given(petDecider, [created, deleted]).when(markSold()).thenThrows('pet_not_found');
  });
});

describe('AddPetPhoto', () => {
  const photoId = 'ab'.repeat(32);
  const photo = { petId, photoId, contentType: 'image/png', url: `/api/photos/${photoId}` };
  const addPhoto: PetCommand = { type: 'AddPetPhoto', data: photo };
  const photoAdded: PetEvent = { type: 'PetPhotoAdded', data: photo };

  it('adds the photo to the pet, whatever its status', () => {
    given(petDecider, [created]).when(addPhoto).then([photoAdded]);
    given(petDecider, [created, reserved]).when(addPhoto).then([photoAdded]);
    given(petDecider, [created, reserved, sold]).when(addPhoto).then([photoAdded]);
  });

  it('does nothing for a photo the pet lists already (an upload sent twice)', () => {
    given(petDecider, [created, photoAdded]).when(addPhoto).then([]);
  });

  it('lists the photo after the earlier photoUrls, and UpdatePet keeps it when sent back', () => {
    given(petDecider, [created, photoAdded])
      .when(update({ photoUrls: [...rex.photoUrls, photo.url] }))
      .then([]);
  });

  it(`refuses a photo beyond ${MAX_PET_PHOTOS}`, () => {
    const full: PetEvent = {
      type: 'PetCreated',
      data: {
        ...rex,
        photoUrls: Array.from({ length: MAX_PET_PHOTOS }, (_, i) => `https://img.example/${i}.jpg`),
        status: 'available',
      },
    };
    given(petDecider, [full]).when(addPhoto).thenThrows('pet_photo_limit');
  });

  it('refuses a missing or deleted pet', () => {
    given(petDecider).when(addPhoto).thenThrows('pet_not_found');
    given(petDecider, [created, deleted]).when(addPhoto).thenThrows('pet_not_found');
  });
});

describe('the decider', () => {
  it('throws a plain Error (not a DomainError) for a command it does not know', () => {
    const unknown = { type: 'FeedPet', data: { petId } } as unknown as PetCommand;
    assert.throws(
      () => petDecider.decide(unknown, petDecider.initialState()),
      (err) => err instanceof Error && err.name === 'Error' && /unknown command/.test(err.message),
    );
  });

  it('ignores an event type it does not know', () => {
    const state = [created, reserved].reduce(petDecider.evolve, petDecider.initialState());
    const unknown = { type: 'PetGroomed', data: { petId } } as unknown as PetEvent;
    assert.deepEqual(petDecider.evolve(state, unknown), state);
  });

  it('folds the whole lifecycle into the state', () => {
    const state = [created, reserved, released, reserved, sold].reduce(
      petDecider.evolve,
      petDecider.initialState(),
    );
    assert.deepEqual(state, {
      kind: 'listed',
      id: petId,
      ...{ name: rex.name, category: rex.category, tags: rex.tags, photoUrls: rex.photoUrls },
      status: 'sold',
      orderId: order,
    });
  });
});
