// Stream and consumer set-up against a real NATS JetStream server (NATS_URL), under a prefix of its own.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connect, nanos, type JetStreamManager, type NatsConnection } from 'nats';
import { ensureConsumer, ensureStream, type ConsumerSpec, type StreamSpec } from './jetstream.js';

const url = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const prefix = `test-${randomBytes(4).toString('hex')}`;
let nc: NatsConnection;
let jsm: JetStreamManager;

before(async () => {
  nc = await connect({ servers: url });
  jsm = await nc.jetstreamManager();
});

after(async () => {
  for await (const name of jsm.streams.names()) {
    if (name.startsWith(`${prefix}_`)) await jsm.streams.delete(name);
  }
  await nc.close();
});

describe('ensureStream and ensureConsumer', () => {
  it('create once when processes start together, and bring an existing consumer’s settings in line', async () => {
    const stream: StreamSpec = {
      name: `${prefix}_s`,
      subjects: [`${prefix}.s.>`],
      retention: 'limits',
      duplicateWindowMs: 60_000,
    };
    await Promise.all([ensureStream(jsm, stream), ensureStream(jsm, stream), ensureStream(jsm, stream)]);
    const spec: ConsumerSpec = {
      stream: stream.name,
      durable: 'group',
      ackWaitMs: 1_000,
      maxAckPending: 1,
      deliverPolicy: 'new',
      filterSubject: `${prefix}.s.>`,
    };
    await Promise.all([ensureConsumer(jsm, spec), ensureConsumer(jsm, spec)]);
    let info = await jsm.consumers.info(stream.name, 'group');
    assert.equal(info.config.ack_wait, nanos(1_000));
    assert.equal(info.config.max_ack_pending, 1);
    assert.equal(info.config.max_deliver, -1);

    await ensureConsumer(jsm, { ...spec, ackWaitMs: 2_000, maxAckPending: 4 });
    info = await jsm.consumers.info(stream.name, 'group');
    assert.equal(info.config.ack_wait, nanos(2_000));
    assert.equal(info.config.max_ack_pending, 4);
    assert.equal(info.config.filter_subject, `${prefix}.s.>`);
  });
});
