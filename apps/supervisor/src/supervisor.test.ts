import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { createLogger } from '@optic-mart/platform';
import { createSupervisor, restartDelay } from './supervisor.js';
import type { Supervisor } from './supervisor.js';

const scratch = await mkdtemp(join(tmpdir(), 'optic-supervisor-'));
after(() => rm(scratch, { recursive: true, force: true }));

/**
 * A stand-in role. Each run appends "start <pid>" to `<name>.log`; while the number of runs
 * is in `dieAfterMs` it exits with code 1 after that many ms, afterwards it stays up. On
 * SIGTERM it appends "sigterm" and exits, unless told to ignore SIGTERM.
 */
async function fakeRole(
  name: string,
  behaviour: { dieAfterMs: number[]; ignoreSigterm?: boolean; pinoOnStop?: boolean },
) {
  const log = join(scratch, `${name}.log`);
  const script = join(scratch, `${name}.mjs`);
  await writeFile(
    script,
    `import { appendFileSync, readFileSync } from 'node:fs';
     import { pino } from ${JSON.stringify(import.meta.resolve('pino'))};
     const logger = pino();
     const log = ${JSON.stringify(log)};
     appendFileSync(log, 'start ' + process.pid + '\\n');
     const run = readFileSync(log, 'utf8').split('\\n').filter((l) => l.startsWith('start')).length;
     console.log(JSON.stringify({ level: 'info', msg: 'hello from run ' + run, run }));
     console.error('a line on stderr');
     process.on('SIGTERM', () => {
       appendFileSync(log, 'sigterm\\n');
       if (${behaviour.pinoOnStop === true}) ['stopping', 'stopped'].forEach((m) => logger.info(m)); // as a role does
       if (!${behaviour.ignoreSigterm === true}) process.exit(0);
     });
     const dieAfterMs = ${JSON.stringify(behaviour.dieAfterMs)}[run - 1];
     if (dieAfterMs !== undefined) setTimeout(() => process.exit(1), dieAfterMs);
     else setInterval(() => {}, 1000);`,
  );
  const starts = async () => {
    try {
      return (await readFile(log, 'utf8')).split('\n').filter((l) => l.startsWith('start'));
    } catch {
      return [];
    }
  };
  const sawSigterm = async () => (await readFile(log, 'utf8')).includes('sigterm');
  return {
    script,
    starts,
    sawSigterm,
    pids: async () => (await starts()).map((l) => Number(l.split(' ')[1])),
  };
}

function capture() {
  const lines: string[] = [];
  let partial = '';
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      const parts = (partial + chunk.toString()).split('\n');
      partial = parts.pop() ?? '';
      lines.push(...parts);
      done();
    },
  });
  return { stream, lines };
}

function logCapture() {
  const entries: Record<string, unknown>[] = [];
  const logger = createLogger({
    name: 'supervisor-test',
    level: 'debug',
    destination: { write: (line: string) => void entries.push(JSON.parse(line) as Record<string, unknown>) },
  });
  return { logger, entries };
}

async function waitFor(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 10_000) {
  for (const until = Date.now() + timeoutMs; Date.now() < until; await sleep(20)) {
    if (await check()) return;
  }
  assert.fail(`timed out waiting for ${what}`);
}

/** Alive and not a zombie (an orphan's new parent may be slow to reap it). */
function isAlive(pid: number): boolean {
  try {
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

const supervisors: Supervisor[] = [];
after(() => supervisors.forEach((s) => s.kill()));

test('restartDelay doubles from the initial delay up to the cap', () => {
  const backoff = { initialMs: 500, maxMs: 30_000 };
  assert.deepEqual(
    [0, 1, 2, 3, 4, 5, 6, 7].map((attempt) => restartDelay(attempt, backoff)),
    [500, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000],
  );
  assert.equal(restartDelay(10_000, backoff), 30_000);
});

test('restarts a child that dies, with a growing delay, forwards its lines, and stops it with SIGTERM', async () => {
  const role = await fakeRole('crashy', { dieAfterMs: [10, 10, 10] });
  const { logger, entries } = logCapture();
  const out = capture();
  const err = capture();
  const supervisor = createSupervisor({
    children: [{ name: 'crashy', command: process.execPath, args: [role.script], env: {} }],
    logger,
    stdout: out.stream,
    stderr: err.stream,
    backoff: { initialMs: 50, maxMs: 150, resetAfterMs: 10_000 },
    stopTimeoutMs: 5_000,
  });
  supervisors.push(supervisor);
  supervisor.start();
  await waitFor('the fourth run to be up', () => out.lines.some((l) => l.includes('hello from run 4')));

  const delays = entries.filter((e) => e.delayMs !== undefined).map((e) => e.delayMs);
  assert.deepEqual(delays, [50, 100, 150], 'doubling from 50 ms, capped at 150 ms');
  const startedAt = entries.filter((e) => e.msg === 'crashy started').map((e) => Date.parse(String(e.time)));
  assert.equal(startedAt.length, 4);
  for (const [i, delay] of [50, 100, 150].entries()) {
    // Restarted no sooner than its delay after the previous run began (runs last ≥ 10 ms more).
    assert.ok(startedAt[i + 1]! - startedAt[i]! >= delay, `restart ${i + 1} came too early`);
  }

  // Lines arrive whole and prefixed with the child's name.
  const first = out.lines.find((l) => l.includes('hello from run 1'));
  assert.ok(first !== undefined && first.startsWith('crashy | '));
  assert.deepEqual(JSON.parse(first.slice('crashy | '.length)), {
    level: 'info',
    msg: 'hello from run 1',
    run: 1,
  });
  assert.ok(err.lines.includes('crashy | a line on stderr'));

  const [lastPid] = (await role.pids()).slice(-1);
  assert.ok(lastPid !== undefined && isAlive(lastPid));
  await supervisor.stop();
  assert.ok(await role.sawSigterm(), 'the child should have been sent SIGTERM');
  assert.ok(!isAlive(lastPid), 'the child should be gone after stop()');
  await sleep(300);
  assert.equal((await role.starts()).length, 4, 'no restart after stop()');
  assert.deepEqual(supervisor.status(), [{ name: 'crashy', pid: undefined, restarts: 3, ready: false }]);
});

test('a child that ran long enough before dying is restarted after the initial delay again', async () => {
  const role = await fakeRole('flaky', { dieAfterMs: [10, 10, 400, 10] });
  const { logger, entries } = logCapture();
  const supervisor = createSupervisor({
    children: [{ name: 'flaky', command: process.execPath, args: [role.script], env: {} }],
    logger,
    stdout: capture().stream,
    stderr: capture().stream,
    backoff: { initialMs: 50, maxMs: 10_000, resetAfterMs: 300 },
  });
  supervisors.push(supervisor);
  supervisor.start();
  await waitFor('the fifth run', async () => (await role.starts()).length === 5);
  await supervisor.stop();
  const delays = entries.filter((e) => e.delayMs !== undefined).map((e) => e.delayMs);
  assert.deepEqual(delays, [50, 100, 50, 100]);
});

test('SIGKILLs a child that does not stop after SIGTERM', async () => {
  const role = await fakeRole('stubborn', { dieAfterMs: [], ignoreSigterm: true });
  const { logger, entries } = logCapture();
  const supervisor = createSupervisor({
    children: [{ name: 'stubborn', command: process.execPath, args: [role.script], env: {} }],
    logger,
    stdout: capture().stream,
    stderr: capture().stream,
    stopTimeoutMs: 300,
  });
  supervisors.push(supervisor);
  supervisor.start();
  await waitFor('the child to start', async () => (await role.starts()).length === 1);
  const [pid] = await role.pids();
  await sleep(100); // its SIGTERM handler is installed right after the start line
  await supervisor.stop();
  assert.ok(await role.sawSigterm());
  assert.ok(!isAlive(pid!));
  assert.ok(entries.some((e) => e.level === 'warn' && String(e.msg).includes('SIGKILL')));
});

test('a child shuts itself down when its supervisor is killed', async () => {
  // It logs through pino as it stops, into the pipe nobody reads any more.
  const role = await fakeRole('orphan', { dieAfterMs: [], pinoOnStop: true });
  const here = (file: string) => JSON.stringify(fileURLToPath(new URL(file, import.meta.url)));
  const script = join(scratch, 'killed-supervisor.mts');
  await writeFile(
    script,
    `import { createSupervisor } from ${here('./supervisor.ts')};
     import { pino } from ${JSON.stringify(import.meta.resolve('pino'))};
     createSupervisor({
       children: [{ name: 'orphan', command: process.execPath,
                    args: ['--import', 'tsx', '--import', ${here('./child-guard.ts')}, ${JSON.stringify(role.script)}],
                    env: {}, cwd: ${JSON.stringify(process.cwd())} }],
       logger: pino({ level: 'silent' }),
     }).start();
     setInterval(() => {}, 1000);`,
  );
  const parent = spawn(process.execPath, ['--import', 'tsx', script], { stdio: 'ignore' });
  await waitFor('the child to start', async () => (await role.starts()).length === 1, 20_000);
  await sleep(200); // its SIGTERM handler is installed right after the start line
  const [pid] = await role.pids();
  parent.kill('SIGKILL');
  await once(parent, 'exit');
  try {
    await waitFor('the orphaned child to stop', () => !isAlive(pid!));
    assert.ok(await role.sawSigterm(), 'the child should have shut down through SIGTERM');
  } finally {
    if (isAlive(pid!)) process.kill(pid!, 'SIGKILL'); // Leave nothing behind when this fails.
  }
});
