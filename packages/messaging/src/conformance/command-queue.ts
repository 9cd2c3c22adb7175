// The command queue's conformance suite: every CommandQueue transport runs it, unchanged.
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AppError } from '@optic-mart/platform';
import type { CommandEnvelope, Delivery } from '../ports.js';
import {
  Instances,
  command,
  gate,
  sleep,
  unique,
  waitFor,
  type ConformanceOptions,
  type TransportFactory,
} from './support.js';

/** Registers the command queue conformance tests for one transport. */
export function runCommandQueueConformance(
  name: string,
  factory: TransportFactory,
  options: ConformanceOptions,
): void {
  const instances = new Instances(factory);
  /** Long enough for a wrongly redelivered or wrongly taken message to show up. */
  const settleMs = 300;

  describe(`CommandQueue conformance: ${name}`, () => {
    afterEach(() => instances.closeAll());

    it('delivers each command once, intact', async () => {
      const { commands } = await instances.open();
      const context = unique('once');
      const sent = Array.from({ length: 10 }, (_, i) => command(context, { i }));
      for (const c of sent) await commands.send(c);
      const received: CommandEnvelope[] = [];
      await commands.consume(context, {
        concurrency: 4,
        handler: async (c) => {
          received.push(c);
        },
      });
      await waitFor('10 commands', () => received.length >= 10);
      await sleep(settleMs);
      assert.equal(received.length, 10);
      const byId = new Map(received.map((c) => [c.commandId, c]));
      for (const c of sent) assert.deepEqual(byId.get(c.commandId), c);
      await waitFor('an empty queue', async () => (await commands.depth(context)) === 0);
    });

    it('does not enqueue a repeated commandId, before or after it was handled', async () => {
      const { commands } = await instances.open();
      const context = unique('dedup');
      const c = command(context);
      assert.deepEqual(await commands.send(c), { duplicate: false });
      assert.deepEqual(await commands.send({ ...c, data: { changed: true } }), { duplicate: true });
      assert.equal(await commands.depth(context), 1);
      const received: CommandEnvelope[] = [];
      await commands.consume(context, {
        concurrency: 1,
        handler: async (m) => {
          received.push(m);
        },
      });
      await waitFor('the command', () => received.length === 1);
      assert.deepEqual(received[0], c);
      await waitFor('an empty queue', async () => (await commands.depth(context)) === 0);
      assert.deepEqual(await commands.send(c), { duplicate: true });
      await sleep(settleMs);
      assert.equal(received.length, 1);
      assert.equal(await commands.depth(context), 0);
    });

    it('shares a context between two consumers, never giving both the same command', async () => {
      const a = await instances.open();
      const b = await instances.open();
      const context = unique('share');
      const seen = new Map<string, string[]>();
      const handler = (who: string) => async (c: CommandEnvelope) => {
        seen.set(c.commandId, [...(seen.get(c.commandId) ?? []), who]);
        await sleep(20);
      };
      await a.commands.consume(context, { concurrency: 2, handler: handler('a') });
      await b.commands.consume(context, { concurrency: 2, handler: handler('b') });
      for (let i = 0; i < 30; i++) await a.commands.send(command(context, { i }));
      await waitFor('30 commands', () => seen.size === 30);
      await sleep(settleMs);
      const takers = [...seen.values()];
      assert.ok(
        takers.every((t) => t.length === 1),
        'a command was delivered twice',
      );
      const counts = {
        a: takers.filter((t) => t[0] === 'a').length,
        b: takers.filter((t) => t[0] === 'b').length,
      };
      assert.ok(counts.a > 0 && counts.b > 0, `both consumers get work: ${JSON.stringify(counts)}`);
    });

    it('keeps at most `concurrency` commands in flight', async () => {
      const { commands } = await instances.open();
      const context = unique('bound');
      for (let i = 0; i < 12; i++) await commands.send(command(context, { i }));
      let inFlight = 0;
      let maxInFlight = 0;
      let done = 0;
      await commands.consume(context, {
        concurrency: 3,
        handler: async () => {
          inFlight++;
          maxInFlight = Math.max(maxInFlight, inFlight);
          await sleep(40);
          inFlight--;
          done++;
        },
      });
      await waitFor('12 commands', () => done === 12);
      assert.ok(maxInFlight <= 3, `in flight ${maxInFlight} > concurrency 3`);
      assert.equal(maxInFlight, 3, 'with a backlog, every slot is used');
    });

    it('acks only after success: a failing handler sees attempt 2, 3 …', async () => {
      const { commands } = await instances.open();
      const context = unique('retry');
      const attempts: number[] = [];
      await commands.consume(context, {
        concurrency: 1,
        maxDeliveries: 5,
        backoffMs: 20,
        handler: async (_c, delivery: Delivery) => {
          attempts.push(delivery.attempt);
          if (delivery.attempt < 3) throw new AppError('service_unavailable', 'try later');
        },
      });
      await commands.send(command(context));
      await waitFor('the third attempt', () => attempts.length >= 3);
      await sleep(settleMs);
      assert.deepEqual(attempts, [1, 2, 3]);
      assert.equal(await commands.depth(context), 0);
      assert.deepEqual(await commands.deadLetters(context).list(), []);
    });

    it('dead-letters a command that keeps failing after maxDeliveries, never acking it silently', async () => {
      const { commands } = await instances.open();
      const context = unique('exhaust');
      const attempts: number[] = [];
      await commands.consume(context, {
        concurrency: 1,
        maxDeliveries: 3,
        backoffMs: 20,
        handler: async (_c, delivery) => {
          attempts.push(delivery.attempt);
          throw new AppError('timeout', 'the provider did not answer');
        },
      });
      const c = command(context);
      await commands.send(c);
      const dead = commands.deadLetters(context);
      await waitFor('a dead letter', async () => (await dead.list()).length === 1);
      await sleep(settleMs);
      assert.deepEqual(attempts, [1, 2, 3]);
      const [letter] = await dead.list();
      assert.ok(letter);
      assert.deepEqual(letter.message, c);
      assert.deepEqual(letter.error, { code: 'timeout', detail: 'the provider did not answer' });
      assert.equal(letter.attempts, 3);
      assert.ok(!Number.isNaN(Date.parse(letter.deadAt)));
      assert.equal(await commands.depth(context), 0);
    });

    it('dead-letters a non-retryable error at once, and any other error after its retries', async () => {
      const { commands } = await instances.open();
      const context = unique('fatal');
      const attempts = new Map<string, number[]>();
      await commands.consume(context, {
        concurrency: 2,
        maxDeliveries: 5,
        backoffMs: 20,
        handler: async (c, delivery) => {
          attempts.set(c.commandId, [...(attempts.get(c.commandId) ?? []), delivery.attempt]);
          if (c.type === 'Invalid') throw new AppError('validation_failed', 'no name');
          throw new TypeError('cannot read properties of undefined');
        },
      });
      const invalid = command(context, {}, 'Invalid');
      const buggy = command(context, {}, 'Buggy');
      await commands.send(invalid);
      await commands.send(buggy);
      const dead = commands.deadLetters(context);
      await waitFor('two dead letters', async () => (await dead.list()).length === 2);
      await sleep(settleMs);
      assert.deepEqual(attempts.get(invalid.commandId), [1]);
      assert.deepEqual(attempts.get(buggy.commandId), [1, 2, 3, 4, 5]);
      const letters = new Map((await dead.list()).map((l) => [l.message.commandId, l]));
      assert.deepEqual(letters.get(invalid.commandId)?.error, {
        code: 'validation_failed',
        detail: 'no name',
      });
      assert.equal(letters.get(buggy.commandId)?.error.code, 'internal');
      assert.match(letters.get(buggy.commandId)?.error.detail ?? '', /cannot read properties/);
    });

    it('lists and replays a dead letter, which is delivered again and leaves the list', async () => {
      const { commands } = await instances.open();
      const context = unique('replay');
      let broken = true;
      const deliveries: { commandId: string; attempt: number }[] = [];
      await commands.consume(context, {
        concurrency: 1,
        handler: async (c, delivery) => {
          deliveries.push({ commandId: c.commandId, attempt: delivery.attempt });
          if (broken) throw new AppError('conflict', 'not yet');
        },
      });
      const c = command(context);
      await commands.send(c);
      const dead = commands.deadLetters(context);
      await waitFor('a dead letter', async () => (await dead.list()).length === 1);
      const [letter] = await dead.list();
      assert.ok(letter);
      broken = false;
      await dead.replay(letter.id);
      await waitFor('the replayed command', () => deliveries.length === 2);
      assert.deepEqual(deliveries[1], { commandId: c.commandId, attempt: 1 });
      assert.deepEqual(await dead.list(), []);
      await waitFor('an empty queue', async () => (await commands.depth(context)) === 0);
      await assert.rejects(
        dead.replay(letter.id),
        (err: unknown) => err instanceof AppError && err.code === 'not_found',
      );
      await assert.rejects(
        dead.replay('00000000-0000-4000-8000-000000000000'),
        (err: unknown) => err instanceof AppError && err.code === 'not_found',
      );
      await sleep(settleMs);
      assert.equal(deliveries.length, 2);
    });

    it('stop() waits for in-flight handlers; a stopped consumer takes no more', async () => {
      const a = await instances.open();
      const context = unique('stop');
      const hold = gate();
      const handled: string[] = [];
      let entered = 0;
      const consumer = await a.commands.consume(context, {
        concurrency: 2,
        handler: async (c) => {
          entered++;
          await hold.promise;
          handled.push(c.commandId);
        },
      });
      const first = command(context);
      await a.commands.send(first);
      await waitFor('the handler to start', () => entered === 1);
      let stopped = false;
      const stopping = consumer.stop().then(() => (stopped = true));
      await sleep(150);
      assert.equal(stopped, false, 'stop() returned while a handler was running');
      hold.open();
      await stopping;
      assert.deepEqual(handled, [first.commandId]);
      assert.equal(
        await a.commands.depth(context),
        0,
        'the in-flight command was acked before stop() resolved',
      );

      const second = command(context);
      await a.commands.send(second);
      await sleep(settleMs);
      assert.equal(entered, 1, 'a stopped consumer took a command');
      assert.equal(await a.commands.depth(context), 1);
      const b = await instances.open();
      const later: string[] = [];
      await b.commands.consume(context, {
        concurrency: 1,
        handler: async (c) => {
          later.push(c.commandId);
        },
      });
      await waitFor('another consumer to take it', () => later.length === 1);
      assert.deepEqual(later, [second.commandId]);
    });

    it('redelivers the command of a consumer killed mid-handler to another consumer', async () => {
      const doomed = await instances.open();
      const context = unique('crash');
      const hold = gate();
      const first: number[] = [];
      try {
        await doomed.commands.consume(context, {
          concurrency: 1,
          handler: async (_c, delivery) => {
            first.push(delivery.attempt);
            await hold.promise;
          },
        });
        const c = command(context);
        await doomed.commands.send(c);
        await waitFor('the handler to start', () => first.length === 1);
        await doomed.abandon();

        const survivor = await instances.open();
        const redelivered: { commandId: string; attempt: number }[] = [];
        await survivor.commands.consume(context, {
          concurrency: 1,
          handler: async (m, delivery) => {
            redelivered.push({ commandId: m.commandId, attempt: delivery.attempt });
          },
        });
        await waitFor('the redelivery', () => redelivered.length === 1, options.redeliveryMs * 5 + 5_000);
        assert.deepEqual(redelivered, [{ commandId: c.commandId, attempt: 2 }]);
        await waitFor('an empty queue', async () => (await survivor.commands.depth(context)) === 0);
      } finally {
        hold.open();
      }
    });

    it('keeps a slow handler’s command past the ack-wait / lease (no redelivery while it runs)', async () => {
      const a = await instances.open();
      const b = await instances.open();
      const context = unique('slow');
      const deliveries: string[] = [];
      const handler = (who: string) => async () => {
        deliveries.push(who);
        await sleep(options.redeliveryMs * 3);
      };
      await a.commands.consume(context, { concurrency: 1, handler: handler('a') });
      await b.commands.consume(context, { concurrency: 1, handler: handler('b') });
      await a.commands.send(command(context));
      await waitFor(
        'an empty queue',
        async () => (await a.commands.depth(context)) === 0,
        options.redeliveryMs * 10,
      );
      await sleep(settleMs);
      assert.equal(deliveries.length, 1, `delivered to ${deliveries.join(', ')}`);
    });

    it('counts waiting commands in depth', async () => {
      const { commands } = await instances.open();
      const context = unique('depth');
      assert.equal(await commands.depth(context), 0);
      for (let i = 0; i < 3; i++) await commands.send(command(context, { i }));
      assert.equal(await commands.depth(context), 3);
      assert.equal(await commands.depth(unique('other')), 0);
      let done = 0;
      await commands.consume(context, {
        concurrency: 3,
        handler: async () => {
          done++;
        },
      });
      await waitFor('all handled', () => done === 3);
      await waitFor('depth 0', async () => (await commands.depth(context)) === 0);
    });
  });
}
