// The Redis key-value store against the real Redis at REDIS_URL, under a key prefix of its own.
import { after } from 'node:test';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { KeyValueStore } from '../ports.js';
import { runKeyValueConformance } from './key-value-conformance.js';
import { createRedisKeyValueStore } from './redis-key-value-store.js';

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const keyPrefix = `test:kv:${randomUUID()}:`;
/** Connection names, so a test can find a store's subscriber connection in CLIENT LIST. */
const names = new WeakMap<KeyValueStore, string>();

async function withAdmin<T>(use: (admin: Redis) => Promise<T>): Promise<T> {
  // No reconnecting: with Redis down, the test must fail, not wait.
  const admin = new Redis(url, { lazyConnect: true, retryStrategy: () => null });
  try {
    await admin.connect();
    return await use(admin);
  } finally {
    admin.disconnect();
  }
}

after(async () => {
  // Redis is shared with other test files and engineers: leave no key behind.
  await withAdmin(async (admin) => {
    let cursor = '0';
    do {
      const [next, keys] = await admin.scan(cursor, 'MATCH', `${keyPrefix}*`, 'COUNT', 500);
      if (keys.length > 0) await admin.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  });
});

runKeyValueConformance(
  'redis',
  async (options) => {
    const name = `kv-test-${randomUUID()}`;
    const store = await createRedisKeyValueStore({
      url,
      keyPrefix: options?.namespace ? `${keyPrefix}${options.namespace}:` : keyPrefix,
      name,
    });
    names.set(store, name);
    return store;
  },
  {
    async dropSubscriberConnection(store) {
      const name = `${names.get(store)}:sub`;
      await withAdmin(async (admin) => {
        const list = (await admin.client('LIST')) as string;
        const line = list.split('\n').find((l) => l.includes(` name=${name} `));
        const id = line?.match(/^id=(\d+)/)?.[1];
        if (!id) throw new Error(`no subscriber connection named ${name}`);
        await admin.client('KILL', 'ID', id);
      });
    },
  },
);
