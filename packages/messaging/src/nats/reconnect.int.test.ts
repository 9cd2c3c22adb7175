// A consumer rides out a dropped connection: through a TCP proxy in front of NATS_URL, whose
// connections the test cuts.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connect as tcpConnect, createServer, type Server, type Socket } from 'node:net';
import { connect } from 'nats';
import { command, unique, waitFor } from '../conformance/support.js';
import type { CommandEnvelope } from '../ports.js';
import { createNatsTransport } from './transport.js';

const target = new URL(process.env.NATS_URL ?? 'nats://127.0.0.1:4222');
const prefix = `test-${randomBytes(4).toString('hex')}`;
let proxy: Server;
let proxyUrl: string;
const sockets = new Set<Socket>();

before(async () => {
  proxy = createServer((client) => {
    const upstream = tcpConnect(Number(target.port || 4222), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const address = proxy.address();
  assert.ok(address && typeof address === 'object');
  proxyUrl = `nats://127.0.0.1:${address.port}`;
});

after(async () => {
  for (const s of sockets) s.destroy();
  await new Promise((resolve) => proxy.close(resolve));
  const nc = await connect({ servers: target.toString() });
  try {
    const jsm = await nc.jetstreamManager();
    for await (const name of jsm.streams.names()) {
      if (name.startsWith(`${prefix}_`)) await jsm.streams.delete(name);
    }
  } finally {
    await nc.close();
  }
});

describe('NATS connection loss', () => {
  it('resumes consuming after the connection drops and comes back', async () => {
    const worker = await createNatsTransport({
      url: proxyUrl,
      prefix,
      ackWaitMs: 1_000,
      pullExpiresMs: 5_000,
    });
    const sender = await createNatsTransport({ url: target.toString(), prefix });
    try {
      const context = unique('reconnect');
      const got: CommandEnvelope[] = [];
      await worker.commands.consume(context, {
        concurrency: 2,
        handler: async (c) => {
          got.push(c);
        },
      });
      await sender.commands.send(command(context));
      await waitFor('the first command', () => got.length === 1);

      for (const s of sockets) s.destroy();
      const during = command(context);
      await sender.commands.send(during);
      await waitFor('the command sent while the worker was cut off', () => got.length === 2, 20_000);
      assert.equal(got[1]?.commandId, during.commandId);
      await waitFor('an empty queue', async () => (await sender.commands.depth(context)) === 0);
    } finally {
      await worker.close();
      await sender.close();
    }
  });
});
