import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Ajv } from 'ajv';
import addFormatsPlugin from 'ajv-formats';
import { petCommandSchemas } from './commands.js';

const addFormats = addFormatsPlugin as unknown as (ajv: Ajv) => Ajv;
// Configured as the gateway's body validator is (packages/platform http-server).
const ajv = new Ajv({ allErrors: true, removeAdditional: false, useDefaults: true, coerceTypes: false });
addFormats(ajv);

function check(type: keyof typeof petCommandSchemas, body: unknown): boolean {
  return ajv.validate(petCommandSchemas[type], body);
}

const valid = {
  name: 'Rex',
  category: { id: 1, name: 'Dogs' },
  tags: [{ id: 7, name: 'friendly' }, { name: 'small' }],
  photoUrls: ['https://img.example/rex.jpg', 'http://img.example/a/b.png?x=1'],
  status: 'available',
};

describe('pet command schemas', () => {
  it('accept a full and a minimal CreatePet / UpdatePet body', () => {
    for (const type of ['CreatePet', 'UpdatePet'] as const) {
      assert.ok(check(type, valid), type);
      assert.ok(check(type, { name: 'R' }), type);
      for (const status of ['available', 'pending', 'sold']) assert.ok(check(type, { name: 'Rex', status }));
    }
  });

  it('default a CreatePet status to available, and leave an UpdatePet status unset', () => {
    const created: Record<string, unknown> = { name: 'Rex' };
    check('CreatePet', created);
    assert.equal(created.status, 'available');
    const updated: Record<string, unknown> = { name: 'Rex' };
    check('UpdatePet', updated);
    assert.equal(updated.status, undefined);
  });

  it('refuse bad names: missing, empty, blank, too long, not a string', () => {
    for (const type of ['CreatePet', 'UpdatePet'] as const) {
      for (const name of [undefined, '', '   ', 'x'.repeat(101), 42, null]) {
        assert.equal(check(type, { ...valid, name }), false, `${type} name ${JSON.stringify(name)}`);
      }
      assert.ok(check(type, { ...valid, name: 'x'.repeat(100) }));
    }
  });

  it('refuse bad categories and tags', () => {
    const bad = [
      {},
      { name: '' },
      { name: 'x'.repeat(101) },
      { id: -1, name: 'Dogs' },
      { id: 1.5, name: 'Dogs' },
      { id: '1', name: 'Dogs' },
      { name: 'Dogs', colour: 'brown' },
      'Dogs',
    ];
    for (const label of bad) {
      assert.equal(check('CreatePet', { name: 'Rex', category: label }), false, JSON.stringify(label));
      assert.equal(check('CreatePet', { name: 'Rex', tags: [label] }), false, JSON.stringify(label));
    }
    assert.equal(check('CreatePet', { name: 'Rex', tags: { name: 'a' } }), false);
    assert.equal(check('CreatePet', { name: 'Rex', category: null }), false);
  });

  it('refuse photoUrls that are not http(s) URLs', () => {
    for (const url of ['not a url', '/relative.jpg', 'ftp://x.example/a.jpg', 'javascript:alert(1)', '', 7]) {
      assert.equal(check('CreatePet', { name: 'Rex', photoUrls: [url] }), false, String(url));
    }
    assert.equal(check('CreatePet', { name: 'Rex', photoUrls: 'https://x.example/a.jpg' }), false);
  });

  it('accept the path of a photo stored here, and nothing else relative', () => {
    const stored = `/api/photos/${'ab'.repeat(32)}`;
    assert.ok(check('CreatePet', { name: 'Rex', photoUrls: [stored] }));
    for (const url of [`${stored}/x`, '/api/photos/abc', `/api/photos/${'AB'.repeat(32)}`, 'https://a b']) {
      assert.equal(check('CreatePet', { name: 'Rex', photoUrls: [url] }), false, url);
    }
  });

  it('need a sha-256 id, an image type and the stored path for AddPetPhoto', () => {
    const photoId = 'c0'.repeat(32);
    const photo = { photoId, contentType: 'image/png', url: `/api/photos/${photoId}` };
    assert.ok(check('AddPetPhoto', photo));
    assert.equal(check('AddPetPhoto', { ...photo, contentType: 'text/html' }), false);
    assert.equal(check('AddPetPhoto', { ...photo, photoId: 'x' }), false);
    assert.equal(check('AddPetPhoto', { ...photo, url: 'https://img.example/a.png' }), false);
    assert.equal(check('AddPetPhoto', { ...photo, extra: 1 }), false);
  });

  it('refuse an unknown status and unknown properties', () => {
    assert.equal(check('CreatePet', { name: 'Rex', status: 'lost' }), false);
    assert.equal(check('CreatePet', { name: 'Rex', id: 10 }), false);
    assert.equal(check('UpdatePet', { name: 'Rex', owner: 'me' }), false);
    assert.equal(check('DeletePet', { force: true }), false);
    assert.equal(check('ReservePet', { orderId: 'o-1', quantity: 1 }), false);
  });

  it('take an empty DeletePet body', () => {
    assert.ok(check('DeletePet', {}));
  });

  it('need a plain order id for ReservePet, ReleasePet and MarkPetSold', () => {
    for (const type of ['ReservePet', 'ReleasePet', 'MarkPetSold'] as const) {
      assert.ok(check(type, { orderId: 'order-1' }));
      assert.ok(check(type, { orderId: '0b8e1b8c-64a5-4bd4-9e29-2d3f5b3f6f1a' }));
      for (const orderId of [undefined, '', 'a b', '-x', 'x'.repeat(101), 12, 'ünï']) {
        assert.equal(check(type, { orderId }), false, `${type} ${JSON.stringify(orderId)}`);
      }
    }
  });
});
