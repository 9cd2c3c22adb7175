// The relay: every committed event reaches the bus once, in order, across a relay restart and
// with two replicas of which one leads.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { EventStore } from '@optic-mart/eventstore';
import { connectMessaging, type BusEvent, type Messaging } from '@optic-mart/messaging';
import { createLogger } from '@optic-mart/platform';
import { createTestDatabase, sleep, type TestDatabase } from '@optic-mart/testkit';
import { startRelay } from './relay.js';

const transports = [
  { name: 'NATS JetStream', natsUrl: process.env.NATS_URL ?? 'nats://127.0.0.1:4222' },
  { name: 'PostgreSQL', natsUrl: undefined },
];

for (const transport of transports) {
  describe(`the relay on ${transport.name}`, () => {
    let db: TestDatabase;
    let store: EventStore;
    let messaging: Messaging;
    const logger = createLogger({ name: 'relay-test', level: 'warn' });

    before(async () => {
      db = await createTestDatabase('relay');
      store = new EventStore({ connectionString: db.url });
      await store.start();
      messaging = await connectMessaging({
        databaseUrl: db.url,
        prefix: `r${randomUUID().slice(0, 8)}`,
        ...(transport.natsUrl ? { natsUrl: transport.natsUrl } : {}),
      });
    });

    after(async () => {
      await messaging.close();
      await store.close();
      await db.drop();
    });

    it('publishes every event once and in order, across a restart and with one leader of two', async () => {
      const seen: BusEvent[] = [];
      const consumer = await messaging.events.subscribe('audit', {
        concurrency: 1,
        handler: async (e) => {
          seen.push(e);
        },
      });
      const options = { store, bus: messaging.events, connectionString: db.url, logger, contendEveryMs: 100 };
      const first = await startRelay(options);
      const second = await startRelay(options);
      const append = async (n: number) => {
        for (let i = 0; i < n; i++) {
          await store.append(`relay-${randomUUID()}`, [{ type: 'Happened', data: { i } }], {
            expectedVersion: 1,
          });
        }
      };
      await append(50);
      const waitFor = async (count: number) => {
        const deadline = Date.now() + 20_000;
        while (seen.length < count && Date.now() < deadline) await sleep(20);
      };
      await waitFor(50);
      assert.equal([first, second].filter((r) => r.isLeader()).length, 1, 'exactly one relay leads');

      // The leader goes away; the other takes over from the stored checkpoint.
      const leader = first.isLeader() ? first : second;
      const follower = leader === first ? second : first;
      await leader.stop();
      await append(50);
      await waitFor(100);
      assert.ok(follower.isLeader());
      await sleep(300);
      await follower.stop();
      await consumer.stop();

      assert.equal(seen.length, 100, 'every event, none twice');
      assert.equal(new Set(seen.map((e) => e.id)).size, 100);
      for (let i = 1; i < seen.length; i++) assert.ok(seen[i]!.position > seen[i - 1]!.position, 'in order');
    });
  });
}
