import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { commandValidator, streamIds } from './command-input.js';

type ItemId = string & { readonly __brand: 'ItemId' };
const ItemId = (id: string): ItemId => id as ItemId;

const itemStreams = streamIds({
  name: 'an item',
  prefix: 'item-',
  idName: 'id',
  id: { pattern: '^[a-z0-9]+$', minLength: 2, maxLength: 5 },
  brand: ItemId,
});

describe('streamIds', () => {
  it('makes stream ids and reads back the ids that meet the schema', () => {
    assert.equal(itemStreams.streamId('ab1'), 'item-ab1');
    assert.equal(itemStreams.idOf('item-ab1'), 'ab1');
    assert.equal(itemStreams.isId('ab1'), true);
  });

  it('reads no id from another stream or from an id the schema refuses', () => {
    for (const streamId of ['other-ab1', 'item-', 'item-a', 'item-abcdef', 'item-AB', 'ab1']) {
      assert.equal(itemStreams.idOf(streamId), null, streamId);
    }
    assert.equal(itemStreams.isId('abcdef'), false);
  });

  it('refuses a command on a stream that is not one with validation_failed naming the form', () => {
    assert.equal(itemStreams.requireIdOf('item-ab1'), 'ab1');
    assert.throws(() => itemStreams.requireIdOf('other-1'), {
      name: 'DomainError',
      code: 'validation_failed',
      detail: 'other-1 is not an item stream id (item-<id>)',
    });
    const carts = streamIds({
      name: 'a cart',
      prefix: 'cart-',
      idName: 'userId',
      id: { pattern: '^[0-9]+$' },
    });
    assert.throws(() => carts.requireIdOf('cart-x'), {
      detail: 'cart-x is not a cart stream id (cart-<userId>)',
    });
  });
});

const schemas = {
  Rename: {
    type: 'object',
    additionalProperties: false,
    required: ['name'],
    properties: { name: { type: 'string', minLength: 1 } },
  },
  Archive: {
    type: 'object',
    additionalProperties: false,
    properties: { reason: { type: 'string', default: 'archived' } },
  },
} as const;

const contactSchemas = {
  SetEmail: { type: 'object', properties: { email: { type: 'string', format: 'email' } } },
} as const;

describe('commandValidator', () => {
  it('knows its command types', () => {
    const commands = commandValidator(schemas);
    assert.equal(commands.has('Rename'), true);
    assert.equal(commands.has('toString'), false);
  });

  it('returns the type and the data as checked', () => {
    const commands = commandValidator(schemas);
    assert.deepEqual(commands.check('Rename', { name: 'Ann' }), { type: 'Rename', data: { name: 'Ann' } });
  });

  it('refuses bad data with validation_failed naming every problem', () => {
    const commands = commandValidator(schemas);
    assert.throws(() => commands.check('Rename', { name: 7, extra: 1 }), {
      code: 'validation_failed',
      detail: 'Invalid Rename: (body) must NOT have additional properties; /name must be string.',
    });
  });

  it('refuses a type it does not know with bad_request', () => {
    assert.throws(() => commandValidator(schemas).check('Delete', {}), {
      code: 'bad_request',
      detail: 'Delete is not a command here',
    });
    assert.throws(() => commandValidator(schemas, { unknownType: 'an item command' }).check('Delete', {}), {
      detail: 'Delete is not an item command',
    });
  });

  it('fills in defaults on a copy, leaving the data it was given alone', () => {
    const given = {};
    const { data } = commandValidator(schemas, { useDefaults: true }).check('Archive', given);
    assert.deepEqual(data, { reason: 'archived' });
    assert.deepEqual(given, {});
  });

  it('fills in no defaults unless asked', () => {
    const { data } = commandValidator(schemas).check('Archive', {});
    assert.deepEqual(data, {});
  });

  it('knows formats only when asked (strict schemas refuse an unknown one)', () => {
    assert.throws(() => commandValidator(contactSchemas), /unknown format "email"/);
    assert.throws(
      () => commandValidator(contactSchemas, { formats: true }).check('SetEmail', { email: 'x' }),
      {
        code: 'validation_failed',
        detail: 'Invalid SetEmail: /email must match format "email".',
      },
    );
  });
});
