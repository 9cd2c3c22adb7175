import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { createLogger } from './logger.js';
import { createShutdown } from './shutdown.js';
import type { ShutdownOptions } from './shutdown.js';
import { captureLogs } from './test-support.js';

function setup(options: Partial<ShutdownOptions> = {}) {
  const exits: number[] = [];
  const signals = new EventEmitter();
  const logs = captureLogs();
  const shutdown = createShutdown({
    logger: createLogger({ name: 'test', level: 'debug', destination: logs.destination }),
    exit: (code) => exits.push(code),
    signalSource: signals,
    ...options,
  });
  return { shutdown, exits, signals, logs: logs.lines };
}

const never = () => new Promise<void>(() => {});

describe('createShutdown', () => {
  it('runs hooks in reverse registration order, each awaited, then exits 0', async () => {
    const { shutdown, exits } = setup();
    const order: string[] = [];
    shutdown.onShutdown('database pool', async () => {
      await new Promise((resolve) => setImmediate(resolve));
      order.push('database pool');
    });
    shutdown.onShutdown('queue consumer', async () => {
      await new Promise((resolve) => setImmediate(resolve));
      order.push('queue consumer');
    });
    shutdown.onShutdown('http server', () => {
      order.push('http server');
    });
    await shutdown.shutdown('test');
    assert.deepEqual(order, ['http server', 'queue consumer', 'database pool']);
    assert.deepEqual(exits, [0]);
  });

  it('starts on SIGTERM and reports it to readiness at once', async () => {
    const { shutdown, exits, signals } = setup();
    let sawShuttingDown = false;
    shutdown.onShutdown('probe', () => {
      sawShuttingDown = shutdown.isShuttingDown();
    });
    assert.equal(shutdown.isShuttingDown(), false);
    signals.emit('SIGTERM');
    assert.equal(shutdown.isShuttingDown(), true);
    await shutdown.shutdown('again');
    assert.equal(sawShuttingDown, true);
    assert.deepEqual(exits, [0]);
  });

  it('runs the hooks once however often it is asked', async () => {
    const { shutdown, exits } = setup();
    let runs = 0;
    shutdown.onShutdown('count', () => {
      runs += 1;
    });
    await Promise.all([shutdown.shutdown('a'), shutdown.shutdown('b')]);
    assert.equal(runs, 1);
    assert.deepEqual(exits, [0]);
  });

  it('keeps closing after a hook fails, and exits 1', async () => {
    const { shutdown, exits, logs } = setup();
    const ran: string[] = [];
    shutdown.onShutdown('database pool', () => {
      ran.push('database pool');
    });
    shutdown.onShutdown('broken', () => {
      throw new Error('close failed');
    });
    await shutdown.shutdown('test');
    assert.deepEqual(ran, ['database pool']);
    assert.deepEqual(exits, [1]);
    assert.ok(logs.some((l) => l.level === 'error' && l.hook === 'broken'));
  });

  it('exits 1 when the hooks outlast the timeout, skipping the rest', async () => {
    const { shutdown, exits, logs } = setup({ timeoutMs: 20 });
    let laterHookRan = false;
    shutdown.onShutdown('database pool', () => {
      laterHookRan = true;
    });
    shutdown.onShutdown('stuck consumer', never);
    await shutdown.shutdown('test');
    assert.deepEqual(exits, [1]);
    assert.equal(laterHookRan, false);
    assert.ok(logs.some((l) => l.msg === 'shutdown timed out; exiting' && l.hook === 'stuck consumer'));
  });

  it('exits at once on a second signal', async () => {
    const { shutdown, exits, signals } = setup({ timeoutMs: 60_000 });
    shutdown.onShutdown('stuck', never);
    signals.emit('SIGINT');
    assert.deepEqual(exits, []);
    signals.emit('SIGINT');
    assert.deepEqual(exits, [1]);
    shutdown.dispose();
  });

  it('passes an explicit exit code through', async () => {
    const { shutdown, exits } = setup();
    await shutdown.shutdown('fatal error', 2);
    assert.deepEqual(exits, [2]);
  });

  it('stops listening after dispose', () => {
    const { shutdown, signals } = setup();
    assert.equal(signals.listenerCount('SIGTERM'), 1);
    shutdown.dispose();
    assert.equal(signals.listenerCount('SIGTERM'), 0);
    assert.equal(signals.listenerCount('SIGINT'), 0);
  });
});
