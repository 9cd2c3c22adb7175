import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AppError } from '@optic-mart/platform';
import { retryDelayMs } from './backoff.js';
import {
  deliver,
  describeFailure,
  MAX_DELIVERIES_CODE,
  resolveConsumeOptions,
  type Settlement,
} from './delivery.js';

function recorder(fail: Partial<Record<keyof Settlement, boolean>> = {}) {
  const calls: string[] = [];
  const settle: Settlement = {
    ack: async () => {
      if (fail.ack) throw new Error('connection lost');
      calls.push('ack');
    },
    retry: async (delayMs) => {
      if (fail.retry) throw new Error('connection lost');
      calls.push(`retry:${delayMs >= 0}`);
    },
    deadLetter: async (failure, attempts) => {
      if (fail.deadLetter) throw new Error('connection lost');
      calls.push(`dead:${failure.code}:${attempts}`);
    },
  };
  return { calls, settle };
}

const options = (handler: () => Promise<void>) =>
  resolveConsumeOptions({ concurrency: 1, maxDeliveries: 3, backoffMs: 10, handler });

describe('deliver', () => {
  it('acks only after the handler resolved', async () => {
    const { calls, settle } = recorder();
    let ran = false;
    const outcome = await deliver(
      'm',
      1,
      options(async () => {
        assert.deepEqual(calls, [], 'nothing settled while the handler runs');
        ran = true;
      }),
      settle,
      undefined,
    );
    assert.ok(ran);
    assert.equal(outcome, 'acked');
    assert.deepEqual(calls, ['ack']);
  });

  it('retries a retryable failure before the last attempt, dead-letters it at the last', async () => {
    const busy = options(async () => {
      throw new AppError('service_unavailable');
    });
    const first = recorder();
    assert.equal(await deliver('m', 2, busy, first.settle, undefined), 'retried');
    assert.deepEqual(first.calls, ['retry:true']);
    const last = recorder();
    assert.equal(await deliver('m', 3, busy, last.settle, undefined), 'dead_lettered');
    assert.deepEqual(last.calls, ['dead:service_unavailable:3']);
  });

  it('dead-letters a non-retryable error at the first attempt', async () => {
    for (const [err, code] of [[new AppError('validation_failed'), 'validation_failed']] as const) {
      const { calls, settle } = recorder();
      const handler = async () => {
        throw err;
      };
      assert.equal(await deliver('m', 1, options(handler), settle, undefined), 'dead_lettered');
      assert.deepEqual(calls, [`dead:${code}:1`]);
    }
  });

  it('retries an error that is not an AppError (infrastructure trouble) until the last attempt', async () => {
    const handler = async () => {
      throw new Error('connection terminated');
    };
    const first = recorder();
    assert.equal(await deliver('m', 1, options(handler), first.settle, undefined), 'retried');
    assert.deepEqual(first.calls, ['retry:true']);
    const last = recorder();
    assert.equal(await deliver('m', 3, options(handler), last.settle, undefined), 'dead_lettered');
    assert.deepEqual(last.calls, ['dead:internal:3']);
  });

  it('dead-letters a delivery past the limit without running the handler', async () => {
    const { calls, settle } = recorder();
    let ran = false;
    const outcome = await deliver(
      'm',
      4,
      options(async () => {
        ran = true;
      }),
      settle,
      undefined,
    );
    assert.equal(outcome, 'dead_lettered');
    assert.equal(ran, false);
    assert.deepEqual(calls, [`dead:${MAX_DELIVERIES_CODE}:4`]);
  });

  it('never acks when settling fails: the message is left to be redelivered', async () => {
    const failing = recorder({ deadLetter: true, ack: true });
    const handler = async () => {
      throw new AppError('bad_request');
    };
    assert.equal(await deliver('m', 1, options(handler), failing.settle, undefined), 'unsettled');
    assert.deepEqual(failing.calls, []);
    const ackLost = recorder({ ack: true });
    assert.equal(
      await deliver(
        'm',
        1,
        options(async () => undefined),
        ackLost.settle,
        undefined,
      ),
      'unsettled',
    );
  });

  it('rejects nonsense options', () => {
    const handler = async () => undefined;
    assert.throws(() => resolveConsumeOptions({ concurrency: 0, handler }), RangeError);
    assert.throws(() => resolveConsumeOptions({ concurrency: 1, maxDeliveries: 0, handler }), RangeError);
  });
});

describe('describeFailure', () => {
  it('keeps an AppError’s code and detail, and only the message of anything else', () => {
    assert.deepEqual(describeFailure(new AppError('conflict', 'taken')), {
      code: 'conflict',
      detail: 'taken',
    });
    const other = describeFailure(new TypeError('x is undefined'));
    assert.deepEqual(other, { code: 'internal', detail: 'TypeError: x is undefined' });
  });
});

describe('retryDelayMs', () => {
  it('doubles per attempt with jitter between half and the whole', () => {
    assert.equal(
      retryDelayMs(1, 200, () => 0),
      100,
    );
    assert.equal(
      retryDelayMs(1, 200, () => 1),
      200,
    );
    assert.equal(
      retryDelayMs(3, 200, () => 1),
      800,
    );
    assert.equal(
      retryDelayMs(40, 200, () => 1),
      60_000,
      'capped',
    );
  });
});
