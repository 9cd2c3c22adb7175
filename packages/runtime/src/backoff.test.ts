import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { backoffDelay } from './backoff.js';

describe('backoffDelay', () => {
  it('grows its cap exponentially from the base up to the maximum', () => {
    const top = () => 0.999999;
    const options = { baseDelayMs: 10, maxDelayMs: 100 };
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6].map((n) => backoffDelay(n, options, top)),
      [9, 19, 39, 79, 99, 99],
    );
  });

  it('spreads waits uniformly below the cap (full jitter)', () => {
    assert.equal(
      backoffDelay(3, { baseDelayMs: 10 }, () => 0),
      0,
    );
    assert.equal(
      backoffDelay(3, { baseDelayMs: 10 }, () => 0.5),
      20,
    );
  });
});
