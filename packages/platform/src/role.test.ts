import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { fileURLToPath } from 'node:url';
import { createLogger } from './logger.js';
import { runRoleIfMain } from './role.js';
import type { RunningRole } from './role.js';
import { captureLogs } from './test-support.js';

const thisScript = fileURLToPath(import.meta.url);

function fakeRole(events: string[], stop: () => Promise<void> = async () => {}) {
  return async (): Promise<RunningRole> => {
    events.push('started');
    return {
      async stop() {
        events.push('stopped');
        await stop();
      },
    };
  };
}

function shutdownSeams() {
  const exits: number[] = [];
  const signals = new EventEmitter();
  const logs = captureLogs();
  return {
    exits,
    signals,
    logs: logs.lines,
    shutdown: {
      logger: createLogger({ name: 'test', level: 'debug', destination: logs.destination }),
      exit: (code: number) => exits.push(code),
      signalSource: signals,
    },
  };
}

describe('runRoleIfMain', () => {
  it('does nothing when the module is imported rather than run (the supervisor, tests)', async () => {
    const events: string[] = [];
    const seams = shutdownSeams();
    const shutdown = await runRoleIfMain(import.meta.url, 'role', fakeRole(events), {
      entryScript: '/somewhere/else/main.ts',
      shutdown: seams.shutdown,
    });
    assert.equal(shutdown, undefined);
    assert.deepEqual(events, []);
    assert.equal(seams.signals.listenerCount('SIGTERM'), 0);
  });

  it('starts the role when run as the script, and stops it on SIGTERM, exiting 0', async () => {
    const events: string[] = [];
    const seams = shutdownSeams();
    const shutdown = await runRoleIfMain(import.meta.url, 'role', fakeRole(events), {
      entryScript: thisScript,
      shutdown: seams.shutdown,
    });
    assert.ok(shutdown);
    assert.deepEqual(events, ['started']);
    seams.signals.emit('SIGTERM');
    await shutdown.shutdown('again'); // the run SIGTERM began
    assert.deepEqual(events, ['started', 'stopped']);
    assert.deepEqual(seams.exits, [0]);
    assert.ok(seams.logs.some((line) => line.hook === 'role' && line.msg === 'shutdown hook done'));
  });

  it('stops on SIGINT too, and exits 1 when stopping fails', async () => {
    const events: string[] = [];
    const seams = shutdownSeams();
    const failing = fakeRole(events, () => Promise.reject(new Error('pool already closed')));
    const shutdown = await runRoleIfMain(import.meta.url, 'role', failing, {
      entryScript: thisScript,
      shutdown: seams.shutdown,
    });
    seams.signals.emit('SIGINT');
    await shutdown?.shutdown('again');
    assert.deepEqual(events, ['started', 'stopped']);
    assert.deepEqual(seams.exits, [1]);
  });

  it('rejects with the start error (main.ts then exits 1)', async () => {
    const seams = shutdownSeams();
    await assert.rejects(
      runRoleIfMain(import.meta.url, 'role', () => Promise.reject(new Error('port in use')), {
        entryScript: thisScript,
        shutdown: seams.shutdown,
      }),
      /port in use/,
    );
  });

  it('a SIGTERM during the start stops the role once it has started, then exits 0', async () => {
    const seams = shutdownSeams();
    const events: string[] = [];
    let started!: () => void;
    const gate = new Promise<void>((resolve) => (started = resolve));
    const running = runRoleIfMain(
      import.meta.url,
      'role',
      async () => {
        await gate;
        return fakeRole(events)();
      },
      { entryScript: thisScript, shutdown: seams.shutdown },
    );
    seams.signals.emit('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.deepEqual(events, [], 'still starting: nothing to stop yet');
    started();
    await running;
    for (let i = 0; i < 50 && seams.exits.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(events, ['started', 'stopped']);
    assert.deepEqual(seams.exits, [0]);
  });
});
