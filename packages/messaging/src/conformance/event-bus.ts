// The events bus's conformance suite: every EventBus transport runs it, unchanged.
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AppError } from '@optic-mart/platform';
import type { BusEvent } from '../ports.js';
import {
  Instances,
  busEvent,
  gate,
  sleep,
  unique,
  waitFor,
  type ConformanceOptions,
  type TransportFactory,
} from './support.js';

/** Registers the event bus conformance tests for one transport. */
export function runEventBusConformance(
  name: string,
  factory: TransportFactory,
  options: ConformanceOptions,
): void {
  const instances = new Instances(factory);
  const settleMs = 300;
  const ids = (events: readonly BusEvent[]): string[] => events.map((e) => e.id);

  describe(`EventBus conformance: ${name}`, () => {
    afterEach(() => instances.closeAll());

    it('delivers every event to each of two groups once, in publish order', async () => {
      const a = await instances.open();
      const b = await instances.open();
      const got = { one: [] as BusEvent[], two: [] as BusEvent[] };
      await a.events.subscribe(unique('one'), {
        concurrency: 1,
        handler: async (e) => {
          got.one.push(e);
        },
      });
      await b.events.subscribe(unique('two'), {
        concurrency: 1,
        handler: async (e) => {
          got.two.push(e);
          await sleep(2);
        },
      });
      const published = Array.from({ length: 30 }, (_, i) =>
        busEvent(i % 2 ? 'PetCreated' : 'PetRenamed', { i }),
      );
      for (let i = 0; i < 30; i += 10) await a.events.publish(published.slice(i, i + 10));
      await waitFor('both groups', () => got.one.length >= 30 && got.two.length >= 30);
      await sleep(settleMs);
      assert.deepEqual(ids(got.one), ids(published));
      assert.deepEqual(ids(got.two), ids(published));
      assert.deepEqual(got.one[7], published[7]);
    });

    it('gives each event of a group to one member, in order across members', async () => {
      const a = await instances.open();
      const b = await instances.open();
      const group = unique('shared');
      const handled: { id: string; by: string }[] = [];
      let inFlight = 0;
      let maxInFlight = 0;
      const handler = (by: string) => async (e: BusEvent) => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        // Uneven handling times: any overlap between members would reorder the completions.
        await sleep(1 + Math.random() * 8);
        handled.push({ id: e.id, by });
        inFlight--;
      };
      await a.events.subscribe(group, { concurrency: 1, handler: handler('a') });
      await b.events.subscribe(group, { concurrency: 1, handler: handler('b') });
      const published = Array.from({ length: 20 }, () => busEvent('PetCreated'));
      await a.events.publish(published);
      await waitFor('20 events', () => handled.length >= 20);
      await sleep(settleMs);
      assert.deepEqual(
        handled.map((h) => h.id),
        ids(published),
      );
      assert.equal(maxInFlight, 1, 'concurrency 1 holds for the group, across its members');
    });

    it('drops a republished event id', async () => {
      const { events } = await instances.open();
      const got: BusEvent[] = [];
      await events.subscribe(unique('dedup'), {
        concurrency: 1,
        handler: async (e) => {
          got.push(e);
        },
      });
      const [e1, e2, e3] = [busEvent('A'), busEvent('B'), busEvent('C')];
      await events.publish([e1, e2]);
      await events.publish([e2, e3]);
      await events.publish([e3]);
      await waitFor('three events', () => got.length >= 3);
      await sleep(settleMs);
      assert.deepEqual(ids(got), ids([e1, e2, e3]));
    });

    it('starts a group at what is published after its creation, and resumes where it stopped', async () => {
      const a = await instances.open();
      const group = unique('resume');
      const before = busEvent('Early');
      await a.events.publish([before]);
      const got: BusEvent[] = [];
      const handler = async (e: BusEvent): Promise<void> => {
        got.push(e);
      };
      const first = await a.events.subscribe(group, { concurrency: 1, handler });
      const [e1, e2, e3, e4] = [busEvent('X'), busEvent('X'), busEvent('X'), busEvent('X')];
      await a.events.publish([e1, e2]);
      await waitFor('two events', () => got.length >= 2);
      await first.stop();
      await a.events.publish([e3, e4]);
      await sleep(settleMs);
      assert.equal(got.length, 2, 'a stopped subscription received events');
      const b = await instances.open();
      await b.events.subscribe(group, { concurrency: 1, handler });
      await waitFor('the events published while stopped', () => got.length >= 4);
      await sleep(settleMs);
      assert.deepEqual(ids(got), ids([e1, e2, e3, e4]));
    });

    it('filters by event type', async () => {
      const { events } = await instances.open();
      const filtered: BusEvent[] = [];
      const all: BusEvent[] = [];
      await events.subscribe(unique('typed'), {
        concurrency: 1,
        types: ['A', 'C'],
        handler: async (e) => {
          filtered.push(e);
        },
      });
      await events.subscribe(unique('untyped'), {
        concurrency: 1,
        handler: async (e) => {
          all.push(e);
        },
      });
      const published = ['A', 'B', 'C', 'B', 'A'].map((t) => busEvent(t));
      await events.publish(published);
      await waitFor('all five in the unfiltered group', () => all.length >= 5);
      await waitFor('three in the filtered group', () => filtered.length >= 3);
      await sleep(settleMs);
      assert.deepEqual(
        filtered.map((e) => e.type),
        ['A', 'C', 'A'],
      );
      assert.deepEqual(ids(all), ids(published));
    });

    it('retries a failing event in place: the next one waits (concurrency 1)', async () => {
      const { events } = await instances.open();
      const seen: string[] = [];
      const [e1, e2, e3] = [busEvent('X'), busEvent('X'), busEvent('X')];
      await events.subscribe(unique('retry'), {
        concurrency: 1,
        backoffMs: 20,
        handler: async (e, delivery) => {
          seen.push(`${e.id === e1.id ? 1 : e.id === e2.id ? 2 : 3}#${delivery.attempt}`);
          if (e.id === e2.id && delivery.attempt < 3) throw new AppError('service_unavailable', 'busy');
        },
      });
      await events.publish([e1, e2, e3]);
      await waitFor('the third event', () => seen.includes('3#1'));
      await sleep(settleMs);
      assert.deepEqual(seen, ['1#1', '2#1', '2#2', '2#3', '3#1']);
    });

    it('dead-letters per group; later events flow; a replay reaches that group only', async () => {
      const { events } = await instances.open();
      const broken = unique('broken');
      const healthy = unique('healthy');
      let failing = true;
      const got = { broken: [] as string[], healthy: [] as string[] };
      const [e1, e2, e3] = [busEvent('X'), busEvent('Poison'), busEvent('X')];
      await events.subscribe(broken, {
        concurrency: 1,
        handler: async (e) => {
          if (e.type === 'Poison' && failing) throw new AppError('bad_request', 'cannot apply');
          got.broken.push(e.id);
        },
      });
      await events.subscribe(healthy, {
        concurrency: 1,
        handler: async (e) => {
          got.healthy.push(e.id);
        },
      });
      await events.publish([e1, e2, e3]);
      await waitFor(
        'the later event past the poison',
        () => got.broken.length >= 2 && got.healthy.length >= 3,
      );
      assert.deepEqual(got.broken, [e1.id, e3.id]);
      const dead = events.deadLetters(broken);
      await waitFor('a dead letter', async () => (await dead.list()).length === 1);
      const [letter] = await dead.list();
      assert.ok(letter);
      assert.deepEqual(letter.message, e2);
      assert.deepEqual(letter.error, { code: 'bad_request', detail: 'cannot apply' });
      assert.equal(letter.attempts, 1);
      assert.deepEqual(await events.deadLetters(healthy).list(), []);

      failing = false;
      await events.deadLetters(broken).replay(letter.id);
      await waitFor('the replayed event', () => got.broken.length >= 3);
      await sleep(settleMs);
      assert.deepEqual(got.broken, [e1.id, e3.id, e2.id]);
      assert.deepEqual(got.healthy, ids([e1, e2, e3]));
      assert.deepEqual(await dead.list(), []);
    });

    it('redelivers the event of a member killed mid-handler to another member, before later ones', async () => {
      const doomed = await instances.open();
      const group = unique('crash');
      const hold = gate();
      const firstAttempts: number[] = [];
      try {
        await doomed.events.subscribe(group, {
          concurrency: 1,
          handler: async (_e, delivery) => {
            firstAttempts.push(delivery.attempt);
            await hold.promise;
          },
        });
        const [e1, e2] = [busEvent('X'), busEvent('X')];
        await doomed.events.publish([e1, e2]);
        await waitFor('the handler to start', () => firstAttempts.length === 1);
        await doomed.abandon();

        const survivor = await instances.open();
        const got: string[] = [];
        await survivor.events.subscribe(group, {
          concurrency: 1,
          handler: async (e, delivery) => {
            got.push(`${e.id === e1.id ? 1 : 2}#${delivery.attempt}`);
          },
        });
        await waitFor('both events', () => got.length >= 2, options.redeliveryMs * 5 + 5_000);
        await sleep(settleMs);
        assert.deepEqual(got, ['1#2', '2#1']);
      } finally {
        hold.open();
      }
    });
  });
}
