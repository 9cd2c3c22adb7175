// The Petstore's XML and form representations, read and written by the contract's schemas.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AppError } from '@optic-mart/platform';
import type { OpenApiSchema } from './contract.js';
import { fromForm, fromXml, toXml } from './representations.js';

const Pet: OpenApiSchema = { $ref: '#/components/schemas/Pet' };
const Pets: OpenApiSchema = { type: 'array', items: Pet };
const User: OpenApiSchema = { $ref: '#/components/schemas/User' };

const pet = {
  id: 10,
  name: 'doggie <&> "q"',
  category: { id: 1, name: 'Dogs' },
  photoUrls: ['https://img.example/a.jpg', 'https://img.example/b.jpg'],
  tags: [{ id: 3, name: 'friendly' }],
  status: 'available',
};

const badRequest = (fn: () => unknown) =>
  assert.throws(fn, (err: unknown) => err instanceof AppError && err.code === 'bad_request');

describe('XML', () => {
  it('writes a pet as the contract names it: <pet>, wrapped photoUrls and tags, escaped text', () => {
    assert.equal(
      toXml(pet, Pet),
      '<?xml version="1.0" encoding="UTF-8"?><pet><id>10</id><name>doggie &lt;&amp;&gt; &quot;q&quot;</name>' +
        '<category><id>1</id><name>Dogs</name></category>' +
        '<photoUrls><photoUrl>https://img.example/a.jpg</photoUrl><photoUrl>https://img.example/b.jpg</photoUrl></photoUrls>' +
        '<tags><tag><id>3</id><name>friendly</name></tag></tags><status>available</status></pet>',
    );
  });

  it('reads back what it writes, for one pet and for a list', () => {
    assert.deepEqual(fromXml(toXml(pet, Pet), Pet), pet);
    assert.deepEqual(fromXml(toXml([pet, { ...pet, id: 11 }], Pets), Pets), [pet, { ...pet, id: 11 }]);
    assert.deepEqual(fromXml(toXml([], Pets), Pets), []);
  });

  it('reads one-item and empty wrapped arrays as arrays', () => {
    assert.deepEqual(
      fromXml('<pet><name>x</name><photoUrls><photoUrl>u</photoUrl></photoUrls><tags/></pet>', Pet),
      {
        name: 'x',
        photoUrls: ['u'],
        tags: [],
      },
    );
  });

  it('leaves what does not convert for validation to name: text ids, unknown elements', () => {
    assert.deepEqual(fromXml('<pet><id>ten</id><name>x</name><owner>me</owner></pet>', Pet), {
      id: 'ten',
      name: 'x',
      owner: 'me',
    });
    assert.deepEqual(fromXml('<user><username>u</username><userStatus>1</userStatus></user>', User), {
      username: 'u',
      userStatus: 1,
    });
  });

  it('refuses malformed XML, a DOCTYPE (entity expansion), another root element, deep nesting', () => {
    badRequest(() => fromXml('<pet><name>x</name>', Pet));
    badRequest(() => fromXml('<!DOCTYPE pet [<!ENTITY a "aaaa">]><pet><name>&a;</name></pet>', Pet));
    badRequest(() => fromXml('<dog><name>x</name></dog>', Pet));
    badRequest(() => fromXml(`<pet>${'<a>'.repeat(50)}${'</a>'.repeat(50)}</pet>`, Pet));
    badRequest(() => fromXml('', Pet));
  });
});

describe('forms', () => {
  it('reads flat fields, repeated keys as arrays, and nested fields in bracket or dot notation', () => {
    const body = new URLSearchParams([
      ['id', '7'],
      ['name', 'Formy'],
      ['category.id', '2'],
      ['category[name]', 'Birds'],
      ['photoUrls', 'u1'],
      ['photoUrls', 'u2'],
      ['tags[1][name]', 'second'],
      ['tags[0][name]', 'first'],
      ['status', 'sold'],
    ]).toString();
    assert.deepEqual(fromForm(body, Pet), {
      id: 7,
      name: 'Formy',
      category: { id: 2, name: 'Birds' },
      photoUrls: ['u1', 'u2'],
      tags: [{ name: 'first' }, { name: 'second' }],
      status: 'sold',
    });
  });

  it('takes a structured field as JSON text, and one value for a one-item array', () => {
    const body = new URLSearchParams({
      name: 'x',
      category: '{"id":1,"name":"Dogs"}',
      tags: '[{"name":"a"}]',
      photoUrls: 'only',
    }).toString();
    assert.deepEqual(fromForm(body, Pet), {
      name: 'x',
      category: { id: 1, name: 'Dogs' },
      tags: [{ name: 'a' }],
      photoUrls: ['only'],
    });
  });

  it('refuses prototype keys and too many fields', () => {
    badRequest(() => fromForm('__proto__[polluted]=1&name=x', Pet));
    badRequest(() => fromForm(Array.from({ length: 201 }, (_, i) => `f${i}=1`).join('&'), Pet));
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });
});
