import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodePayload, inlinePayload, notifyChannel } from './notify-channel.js';

describe('notifyChannel', () => {
  it('maps any string to a lower-case identifier of at most 63 bytes', () => {
    for (const name of ['replies/gw-1', 'Ünïcödé 🚀 "quoted"; DROP', 'x'.repeat(5000), '']) {
      const channel = notifyChannel(name);
      assert.match(channel, /^[a-z][a-z0-9_]*$/);
      assert.ok(Buffer.byteLength(channel) <= 63, channel);
    }
  });

  it('keeps names apart that differ only in case, punctuation or beyond the readable head', () => {
    const names = ['Topic', 'topic', 'to-pic', 'to_pic', `${'a'.repeat(40)}1`, `${'a'.repeat(40)}2`];
    assert.equal(new Set(names.map(notifyChannel)).size, names.length);
  });

  it('is stable, so every process listens where the others notify', () => {
    assert.equal(notifyChannel('replies/gw-1'), notifyChannel('replies/gw-1'));
  });
});

describe('payloads', () => {
  it('round-trips inline messages, including empty ones and ones that look like markers', () => {
    for (const message of ['', 'hello', '#12', '=x']) {
      assert.deepEqual(decodePayload(inlinePayload(message)), { message });
    }
  });

  it('reads stored-message ids and rejects anything else', () => {
    assert.deepEqual(decodePayload('#42'), { storedId: '42' });
    assert.equal(decodePayload('#4x'), null);
    assert.equal(decodePayload('hello'), null);
  });
});
