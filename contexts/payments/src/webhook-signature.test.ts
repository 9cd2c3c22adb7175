import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { signWebhookBody, verifyWebhookSignature } from './webhook-signature.js';

const SECRET = 'whsec_test_0123456789abcdef';
const BODY = JSON.stringify({
  id: 'evt_1',
  type: 'payment.captured',
  data: { paymentId: 'pay_1', amount: 500 },
});
const NOW = 1_800_000_000;

describe('verifyWebhookSignature', () => {
  it('accepts the body as signed, at the signed time', () => {
    const header = signWebhookBody(BODY, SECRET, NOW);
    assert.deepEqual(verifyWebhookSignature(BODY, header, SECRET, 300, NOW + 10), {
      ok: true,
      timestamp: NOW,
    });
    assert.equal(verifyWebhookSignature(Buffer.from(BODY), header, SECRET, 300, NOW).ok, true);
  });

  it('refuses a tampered body, even a re-serialized one', () => {
    const header = signWebhookBody(BODY, SECRET, NOW);
    const tampered = BODY.replace('500', '50000');
    assert.deepEqual(verifyWebhookSignature(tampered, header, SECRET, 300, NOW), {
      ok: false,
      reason: 'mismatch',
    });
    const reserialized = JSON.stringify(JSON.parse(BODY) as unknown, null, 1);
    assert.equal(verifyWebhookSignature(reserialized, header, SECRET, 300, NOW).ok, false);
  });

  it('refuses a signature made with another secret', () => {
    const header = signWebhookBody(BODY, 'another-secret-0123456789', NOW);
    assert.deepEqual(verifyWebhookSignature(BODY, header, SECRET, 300, NOW), {
      ok: false,
      reason: 'mismatch',
    });
  });

  it('refuses a stale timestamp, and one from the future beyond the tolerance', () => {
    const header = signWebhookBody(BODY, SECRET, NOW);
    assert.deepEqual(verifyWebhookSignature(BODY, header, SECRET, 300, NOW + 301), {
      ok: false,
      reason: 'stale',
    });
    assert.deepEqual(verifyWebhookSignature(BODY, header, SECRET, 300, NOW - 301), {
      ok: false,
      reason: 'stale',
    });
  });

  it('refuses a replay: an old message cannot be given a fresh timestamp', () => {
    const captured = signWebhookBody(BODY, SECRET, NOW);
    // Replayed an hour later as captured: stale.
    assert.equal(verifyWebhookSignature(BODY, captured, SECRET, 300, NOW + 3600).ok, false);
    // Replayed with the timestamp rewritten to now: the MAC covers the timestamp, so it no longer matches.
    const refreshed = captured.replace(`t=${NOW}`, `t=${NOW + 3600}`);
    assert.deepEqual(verifyWebhookSignature(BODY, refreshed, SECRET, 300, NOW + 3600), {
      ok: false,
      reason: 'mismatch',
    });
  });

  it('refuses a missing or malformed header', () => {
    for (const header of [undefined, '', 't=abc,v1=00', `t=${NOW}`, 'v1=' + 'a'.repeat(64), 'garbage']) {
      assert.deepEqual(verifyWebhookSignature(BODY, header, SECRET, 300, NOW), {
        ok: false,
        reason: 'malformed',
      });
    }
  });

  it('accepts any of several v1 signatures (secret rotation)', () => {
    const good = signWebhookBody(BODY, SECRET, NOW).split('v1=')[1] ?? '';
    const header = `t=${NOW},v1=${'0'.repeat(64)},v1=${good}`;
    assert.equal(verifyWebhookSignature(BODY, header, SECRET, 300, NOW).ok, true);
  });
});
