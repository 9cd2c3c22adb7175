import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ttlMillis } from './ttl.js';

describe('ttlMillis', () => {
  it('passes no TTL through and rounds fractions up, so a key never expires early', () => {
    assert.equal(ttlMillis(undefined), undefined);
    assert.equal(ttlMillis(200), 200);
    assert.equal(ttlMillis(0.2), 1);
    assert.equal(ttlMillis(199.01), 200);
  });

  it('refuses zero, negative and non-finite TTLs', () => {
    for (const ttl of [0, -5, Number.NaN, Number.POSITIVE_INFINITY])
      assert.throws(() => ttlMillis(ttl), RangeError);
  });
});
