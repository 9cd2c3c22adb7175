// The one conformance suite of the KeyValueStore port (DESIGN.md §4): the Redis and the
// PostgreSQL stores both run it, against real servers, from their *.int.test.ts files.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { sleep } from '@optic-mart/testkit';
import type { KeyValueStore } from '../ports.js';

/**
 * Opens a new store on the server under test, as another process would. Stores from calls with
 * the same `namespace` (none by default) share keys and channels; other namespaces are apart.
 */
export type KeyValueStoreFactory = (options?: { namespace?: string }) => Promise<KeyValueStore>;

/** Failures the suite injects; each implementation knows how to cause them on its server. */
export interface KeyValueFaults {
  /** Kills the store's subscriber (LISTEN) connection on the server side, as a network failure would. */
  dropSubscriberConnection(store: KeyValueStore): Promise<void>;
}

/** Generous bounds for things that must happen eventually; the suite asserts no speed. */
const EVENTUALLY_MS = 10_000;
const TTL_MS = 200;

const unique = (label: string): string => `${label}:${randomUUID()}`;

async function until(condition: () => boolean, what: string, timeoutMs = EVENTUALLY_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** A handler that records what it receives. */
function inbox(): { readonly messages: string[]; readonly handler: (message: string) => void } {
  const messages: string[] = [];
  return { messages, handler: (message) => messages.push(message) };
}

/** The resources keeping the event loop alive (sockets, timers …), counted by type. */
function activeResources(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const type of process.getActiveResourcesInfo()) counts.set(type, (counts.get(type) ?? 0) + 1);
  return counts;
}

/** Runs the KeyValueStore conformance suite against stores made by `factory`. */
export function runKeyValueConformance(
  name: string,
  factory: KeyValueStoreFactory,
  faults: KeyValueFaults,
): void {
  describe(`${name}: KeyValueStore conformance`, () => {
    // First, while no other store of this file is open: what close() leaves behind shows.
    it('close() releases every connection and timer, so the process can exit', async () => {
      const baseline = activeResources();
      const store = await factory();
      try {
        const channel = unique('close');
        const received = inbox();
        await store.set(unique('close'), 'v', { ttlMs: 60_000 });
        await store.setIfAbsent(unique('close'), 'v', { ttlMs: 60_000 });
        await store.setMember(unique('close'), 'm', 'v', { ttlMs: 60_000 });
        await store.members(unique('close'));
        await store.subscribe(channel, received.handler);
        await store.publish(channel, 'x'.repeat(20_000));
        await until(() => received.messages.length === 1, 'the message');
      } finally {
        // Also when a step above failed: a store left open would keep the test file from ending.
        await store.close();
      }
      await store.close(); // a second close is harmless
      const extra = (): string[] =>
        [...activeResources()].filter(([type, n]) => n > (baseline.get(type) ?? 0)).map(([type]) => type);
      await until(() => extra().length === 0, 'the store to release everything');
    });

    describe('with two stores (two processes)', () => {
      let a: KeyValueStore;
      let b: KeyValueStore;

      before(async () => {
        a = await factory();
        b = await factory();
      });

      after(async () => {
        await Promise.all([a?.close(), b?.close()]);
      });

      describe('get, set, delete', () => {
        it('reads what was set, from either store, until it is deleted', async () => {
          const key = unique('k');
          assert.equal(await a.get(key), null);
          await a.set(key, 'one');
          assert.equal(await a.get(key), 'one');
          assert.equal(await b.get(key), 'one');
          await b.set(key, 'two');
          assert.equal(await a.get(key), 'two');
          await a.delete(key);
          assert.equal(await a.get(key), null);
          assert.equal(await b.get(key), null);
          await a.delete(key); // deleting a missing key is no error
        });

        it('keeps empty and non-ASCII values exactly', async () => {
          const empty = unique('k');
          const unicode = unique('k');
          await a.set(empty, '');
          await a.set(unicode, 'Grüße 🐾 "quoted" \\ back\nslash');
          assert.equal(await b.get(empty), '');
          assert.equal(await b.get(unicode), 'Grüße 🐾 "quoted" \\ back\nslash');
        });
      });

      describe('expiry', () => {
        it('forgets a key after its TTL (checked at twice the TTL)', async () => {
          const key = unique('ttl');
          await a.set(key, 'v', { ttlMs: TTL_MS });
          await sleep(2 * TTL_MS);
          assert.equal(await a.get(key), null);
          assert.equal(await b.get(key), null);
        });

        it('a later set replaces the TTL: without one the key stays, with a longer one it lives on', async () => {
          const persistent = unique('ttl');
          const refreshed = unique('ttl');
          await a.set(persistent, 'v1', { ttlMs: TTL_MS });
          await a.set(persistent, 'v2');
          // A worker's heartbeat: the same key set again with a fresh TTL.
          await a.set(refreshed, 'beat1', { ttlMs: TTL_MS });
          await a.set(refreshed, 'beat2', { ttlMs: 60_000 });
          await sleep(2 * TTL_MS);
          assert.equal(await a.get(persistent), 'v2');
          assert.equal(await a.get(refreshed), 'beat2');
        });

        it('rejects a TTL that is not a positive number', async () => {
          for (const ttlMs of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
            await assert.rejects(a.set(unique('ttl'), 'v', { ttlMs }), RangeError);
            await assert.rejects(a.setIfAbsent(unique('ttl'), 'v', { ttlMs }), RangeError);
          }
        });
      });

      describe('setIfAbsent', () => {
        it('sets an absent key and leaves a present one alone', async () => {
          const key = unique('once');
          assert.equal(await a.setIfAbsent(key, 'first', { ttlMs: 60_000 }), true);
          assert.equal(await b.setIfAbsent(key, 'second', { ttlMs: 60_000 }), false);
          assert.equal(await a.get(key), 'first');
          const plain = unique('once');
          await a.set(plain, 'set');
          assert.equal(await a.setIfAbsent(plain, 'other'), false);
          assert.equal(await a.get(plain), 'set');
        });

        it('of 20 concurrent callers in two processes, exactly one wins, and its value stays', async () => {
          const key = unique('race');
          const results = await Promise.all(
            Array.from({ length: 20 }, (_, i) =>
              (i % 2 === 0 ? a : b).setIfAbsent(key, `caller-${i}`, { ttlMs: 60_000 }),
            ),
          );
          assert.equal(results.filter(Boolean).length, 1);
          assert.equal(await a.get(key), `caller-${results.indexOf(true)}`);
        });

        it('takes an expired key again, still with exactly one winner among racing callers', async () => {
          const key = unique('race');
          assert.equal(await a.setIfAbsent(key, 'old', { ttlMs: TTL_MS }), true);
          await sleep(2 * TTL_MS);
          const results = await Promise.all(
            Array.from({ length: 20 }, (_, i) =>
              (i % 2 === 0 ? a : b).setIfAbsent(key, `caller-${i}`, { ttlMs: 60_000 }),
            ),
          );
          assert.equal(results.filter(Boolean).length, 1);
          assert.equal(await b.get(key), `caller-${results.indexOf(true)}`);
          // The new holder's TTL applies, not the expired one's.
          await sleep(2 * TTL_MS);
          assert.equal(await b.get(key), `caller-${results.indexOf(true)}`);
        });
      });

      describe('group members', () => {
        it('returns exactly the live members of a group, whatever characters the names hold', async () => {
          const base = unique('group');
          // Every character a glob (Redis MATCH) or a LIKE pattern would read as a wildcard.
          const group = `${base}:a*b?c_d%e[f]g\\h/{x}`;
          await a.setMember(group, 'one', '1', { ttlMs: 60_000 });
          await b.setMember(group, 'two', '2', { ttlMs: 60_000 });
          await a.setMember(group, 'one', '1 again', { ttlMs: 60_000 });
          await a.setMember(group, 'short-lived', 'gone', { ttlMs: TTL_MS });
          await a.setMember(group, 'deleted', 'gone', { ttlMs: 60_000 });
          await b.deleteMember(group, 'deleted');
          // Groups and keys the group's name would match if any of its characters were a wildcard.
          for (const decoy of [`${base}:aXb?c_d%e[f]g\\h/{x}`, `${base}:a*b?cZd%e[f]g\\h/{x}`, `${group}x`]) {
            await a.setMember(decoy, 'decoy', 'decoy', { ttlMs: 60_000 });
          }
          await a.set(`${group}/one`, 'a plain key');
          await sleep(2 * TTL_MS);
          assert.deepEqual(
            await b.members(group),
            new Map([
              ['one', '1 again'],
              ['two', '2'],
            ]),
          );
          assert.deepEqual(await a.members(`${base}:nothing`), new Map());
          await assert.rejects(a.setMember(group, 'no-ttl', 'v', { ttlMs: 0 }), RangeError);
        });
      });

      describe('namespaces', () => {
        it('keeps keys and channels of stores in other namespaces apart', async () => {
          const other = await factory({ namespace: 'other' });
          try {
            const key = unique('ns');
            await a.set(key, 'mine');
            assert.equal(await other.get(key), null);
            assert.equal(await other.setIfAbsent(key, 'theirs'), true);
            assert.equal(await a.get(key), 'mine');
            await a.setMember(key, 'm', 'mine', { ttlMs: 60_000 });
            await other.setMember(key, 'm', 'theirs', { ttlMs: 60_000 });
            assert.deepEqual(await other.members(key), new Map([['m', 'theirs']]));
            assert.deepEqual(await a.members(key), new Map([['m', 'mine']]));

            const channel = unique('ns');
            const mine = inbox();
            const theirs = inbox();
            await a.subscribe(channel, mine.handler);
            await other.subscribe(channel, theirs.handler);
            await other.publish(channel, 'for them');
            await a.publish(channel, 'for us');
            await until(() => mine.messages.length === 1 && theirs.messages.length === 1, 'both messages');
            assert.deepEqual(mine.messages, ['for us']);
            assert.deepEqual(theirs.messages, ['for them']);
          } finally {
            await other.close();
          }
        });
      });

      describe('publish and subscribe', () => {
        it('reaches every subscriber of the channel in every process, and no other channel', async () => {
          const channel = unique('ch');
          const otherChannel = unique('ch');
          const a1 = inbox();
          const a2 = inbox();
          const b1 = inbox();
          const aOther = inbox();
          const bOther = inbox();
          const unsubscribes = [
            await a.subscribe(channel, a1.handler),
            await a.subscribe(channel, a2.handler),
            await b.subscribe(channel, b1.handler),
            await a.subscribe(otherChannel, aOther.handler),
            await b.subscribe(otherChannel, bOther.handler),
          ];
          await a.publish(channel, 'from a');
          await b.publish(channel, 'from b');
          // Published last: once it is in, anything sent to the wrong channel would be too.
          await a.publish(otherChannel, 'sentinel');
          await until(
            () =>
              [a1, a2, b1].every((x) => x.messages.length >= 2) &&
              [aOther, bOther].every((x) => x.messages.length >= 1),
            'every subscriber',
          );
          for (const x of [a1, a2, b1]) assert.deepEqual([...x.messages].sort(), ['from a', 'from b']);
          for (const x of [aOther, bOther]) assert.deepEqual(x.messages, ['sentinel']);
          for (const unsubscribe of unsubscribes) await unsubscribe();
        });

        it('stops delivering to a handler once it unsubscribed, and resumes for a new subscription', async () => {
          const channel = unique('ch');
          const leaving = inbox();
          const staying = inbox();
          const leave = await b.subscribe(channel, leaving.handler);
          const stay = await b.subscribe(channel, staying.handler);
          // The same function subscribed twice is two subscriptions.
          const twiceLeave = await b.subscribe(channel, staying.handler);
          await a.publish(channel, 'one');
          await until(
            () => leaving.messages.length === 1 && staying.messages.length === 2,
            'the first message',
          );

          await leave();
          await leave(); // a second call is harmless
          await twiceLeave();
          await a.publish(channel, 'two');
          // `staying` shares the connection and the channel: once it has 'two', `leaving` would too.
          await until(() => staying.messages.length === 3, 'the second message');
          assert.deepEqual(leaving.messages, ['one']);
          assert.deepEqual(staying.messages, ['one', 'one', 'two']);

          // The last handler gone, the store unsubscribes on the server; a new subscription works.
          await stay();
          const again = inbox();
          const unsubscribeAgain = await b.subscribe(channel, again.handler);
          await a.publish(channel, 'three');
          await until(() => again.messages.length === 1, 'the third message');
          assert.deepEqual(again.messages, ['three']);
          assert.deepEqual(staying.messages, ['one', 'one', 'two']);
          await unsubscribeAgain();
        });

        it('delivers messages of every size intact and in publish order', async () => {
          const channel = unique('ch');
          const received = inbox();
          const unsubscribe = await b.subscribe(channel, received.handler);
          const large = JSON.stringify({ text: 'Grüße 🐾 '.repeat(2_000), n: 1 }); // ≈ 24 KB of UTF-8
          const sent = ['', 'small', 'x'.repeat(7_999), 'y'.repeat(8_000), large, '🐾'.repeat(2_100), 'last'];
          assert.ok(Buffer.byteLength(large) > 20_000);
          for (const message of sent) await a.publish(channel, message);
          await until(() => received.messages.length === sent.length, 'every message');
          assert.equal(received.messages.length, sent.length);
          received.messages.forEach((message, i) => assert.ok(message === sent[i], `message ${i} differs`));
          await unsubscribe();
        });

        it('resubscribes every channel after the subscriber connection drops', async () => {
          const channels = [unique('ch'), unique('ch')];
          const inboxes = channels.map(() => inbox());
          const unsubscribes = await Promise.all(channels.map((c, i) => b.subscribe(c, inboxes[i]!.handler)));
          await faults.dropSubscriberConnection(b);
          // Pub/sub is not durable: what is published while the connection is down is lost, so
          // publish until the messages come through again.
          let n = 0;
          const deadline = Date.now() + 3 * EVENTUALLY_MS;
          while (inboxes.some((x) => x.messages.length === 0)) {
            if (Date.now() > deadline) assert.fail('no message after the subscriber connection dropped');
            n++;
            for (const channel of channels) await a.publish(channel, `ping-${n}`);
            await sleep(100);
          }
          for (const x of inboxes) assert.ok(x.messages.every((m) => m.startsWith('ping-')));
          // New subscriptions work on the new connection too.
          const late = inbox();
          const lateChannel = unique('ch');
          unsubscribes.push(await b.subscribe(lateChannel, late.handler));
          await a.publish(lateChannel, 'late');
          await until(() => late.messages.length === 1, 'the late message');
          for (const unsubscribe of unsubscribes) await unsubscribe();
        });
      });
    });
  });
}
