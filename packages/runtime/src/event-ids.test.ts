import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { COMMAND_EVENT_NAMESPACE, eventIdFor, uuidV5 } from './event-ids.js';

describe('uuidV5', () => {
  it('matches RFC 9562 reference values (checked against Python uuid.uuid5)', () => {
    assert.equal(
      uuidV5('www.example.com', '6ba7b810-9dad-11d1-80b4-00c04fd430c8'),
      '2ed6657d-e927-568b-95e1-2665a8aea6a2',
    );
    assert.equal(
      uuidV5('https://optic-mart.dev/pets/Ünïcode', '6ba7b811-9dad-11d1-80b4-00c04fd430c8'),
      '30b9f02f-6313-5962-b9e4-2a8d973a58af',
    );
  });

  it('refuses a namespace that is not a UUID', () => {
    assert.throws(() => uuidV5('x', 'not-a-uuid'), /not a UUID/);
  });
});

describe('eventIdFor', () => {
  it('derives the same id for the same command and index, different ones otherwise', () => {
    assert.equal(eventIdFor('cmd-1', 0), uuidV5('cmd-1/0', COMMAND_EVENT_NAMESPACE));
    assert.equal(eventIdFor('cmd-1', 0), '74e42aae-cf79-5849-b61f-ee3dd6882b62');
    assert.equal(eventIdFor('cmd-1', 0), eventIdFor('cmd-1', 0));
    const ids = new Set([eventIdFor('cmd-1', 0), eventIdFor('cmd-1', 1), eventIdFor('cmd-2', 0)]);
    assert.equal(ids.size, 3);
  });
});
