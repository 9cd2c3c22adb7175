// The queue and bus conformance suites against a real NATS JetStream server (NATS_URL), under a
// stream prefix of this file's own, deleted afterwards.
import { after } from 'node:test';
import { randomBytes } from 'node:crypto';
import { connect } from 'nats';
import { runCommandQueueConformance, runEventBusConformance } from '../conformance/index.js';
import { createNatsTransport } from './transport.js';

const url = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const prefix = `test-${randomBytes(4).toString('hex')}`;
const ackWaitMs = 1_000;

after(async () => {
  const nc = await connect({ servers: url });
  try {
    const jsm = await nc.jetstreamManager();
    for await (const name of jsm.streams.names()) {
      if (name.startsWith(`${prefix}_`)) await jsm.streams.delete(name);
    }
  } finally {
    await nc.close();
  }
});

// Each call is a separate "process": its own connection to the server.
const factory = () => createNatsTransport({ url, prefix, ackWaitMs, pullExpiresMs: 5_000 });

runCommandQueueConformance('nats', factory, { redeliveryMs: ackWaitMs });
runEventBusConformance('nats', factory, { redeliveryMs: ackWaitMs });
