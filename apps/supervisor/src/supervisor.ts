/**
 * Runs child processes and keeps them running: output forwarded line by line under the
 * child's name, a child that dies restarted after a delay that doubles with each quick
 * death (so a crash loop does not spin), and an ordered stop (SIGTERM, then SIGKILL).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Env, Logger } from '@optic-mart/platform';

export interface ChildSpec {
  /** Labels its output lines and log entries: `eventstore`, `worker:catalog.2`. */
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly env: Env;
  readonly cwd?: string;
  /** Where it serves HTTP; it is up once GET <url>/readyz answers 200. */
  readonly url?: string;
}

export interface BackoffOptions {
  /** Delay before the first restart. */
  readonly initialMs: number;
  /** The delay doubles per restart up to this. */
  readonly maxMs: number;
  /** A child that ran this long before dying is restarted after `initialMs` again. */
  readonly resetAfterMs: number;
}

export interface SupervisorOptions {
  readonly children: readonly ChildSpec[];
  readonly logger: Logger;
  /** Where children's stdout and stderr lines go; the process's own unless given. */
  readonly stdout?: Writable;
  readonly stderr?: Writable;
  readonly backoff?: Partial<BackoffOptions>;
  /** Between SIGTERM and SIGKILL. Default 15 s. */
  readonly stopTimeoutMs?: number;
  /** Called the first time every child with a URL has answered /readyz. */
  readonly onAllReady?: () => void;
}

export interface ChildStatus {
  readonly name: string;
  readonly pid: number | undefined;
  readonly restarts: number;
  readonly ready: boolean;
}

export interface Supervisor {
  /** Spawns every child. */
  start(): void;
  /** SIGTERM to every child, SIGKILL to those still running after the timeout; no restarts after. Idempotent. */
  stop(): Promise<void>;
  /** SIGKILL to every child at once: for a second Ctrl-C, and on the way out. */
  kill(): void;
  status(): ChildStatus[];
}

const defaultBackoff: BackoffOptions = { initialMs: 500, maxMs: 30_000, resetAfterMs: 30_000 };

/** The delay before restart number `attempt` (0-based). */
export function restartDelay(attempt: number, backoff: Pick<BackoffOptions, 'initialMs' | 'maxMs'>): number {
  return Math.min(backoff.maxMs, backoff.initialMs * 2 ** Math.min(attempt, 30));
}

export function createSupervisor(options: SupervisorOptions): Supervisor {
  const backoff = { ...defaultBackoff, ...options.backoff };
  const stopTimeoutMs = options.stopTimeoutMs ?? 15_000;
  const stdout = options.stdout ?? process.stdout;
  const stderr = options.stderr ?? process.stderr;
  const width = Math.max(0, ...options.children.map((child) => child.name.length));
  let stopping: Promise<void> | undefined;
  let allReadyReported = false;

  const supervised = options.children.map((spec) => {
    const state = {
      spec,
      log: options.logger.child({ child: spec.name }),
      prefix: `${spec.name.padEnd(width)} | `,
      process: undefined as ChildProcess | undefined,
      exited: Promise.resolve(),
      restarts: 0,
      quickDeaths: 0,
      restartTimer: undefined as NodeJS.Timeout | undefined,
      ready: false,
    };
    return state;
  });
  type Supervised = (typeof supervised)[number];

  const forward = (input: Readable | null, output: Writable, prefix: string) => {
    if (input === null) return;
    // Whole lines only, so a child's JSON log line is never split or interleaved with another's.
    createInterface({ input, crlfDelay: Infinity }).on('line', (line) => output.write(`${prefix}${line}\n`));
  };

  const launch = (child: Supervised) => {
    const { spec, log } = child;
    child.restartTimer = undefined;
    child.ready = false;
    const startedAt = Date.now();
    // Own process group: a terminal's Ctrl-C reaches the supervisor only, and it decides
    // the order things stop in. The IPC channel lets a child notice the supervisor is gone.
    const proc = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      env: spec.env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    child.process = proc;
    forward(proc.stdout, stdout, child.prefix);
    forward(proc.stderr, stderr, child.prefix);
    child.exited = new Promise((done) => {
      let settled = false;
      const onEnd = (code: number | null, signal: NodeJS.Signals | null, err?: Error) => {
        if (settled) return;
        settled = true;
        child.process = undefined;
        child.ready = false;
        done();
        if (stopping !== undefined) return;
        // A child that ran for a while before dying gets a fresh, short delay.
        if (Date.now() - startedAt >= backoff.resetAfterMs) child.quickDeaths = 0;
        const delayMs = restartDelay(child.quickDeaths, backoff);
        child.quickDeaths++;
        child.restarts++;
        log.warn(
          { code, signal, err, delayMs, restarts: child.restarts },
          `${spec.name} exited unexpectedly; restarting in ${delayMs} ms`,
        );
        child.restartTimer = setTimeout(() => launch(child), delayMs);
      };
      proc.once('exit', (code, signal) => onEnd(code, signal));
      // Spawning itself failed (no such command): no 'exit' follows.
      proc.once('error', (err) => {
        if (proc.pid === undefined) onEnd(null, null, err);
        else log.error({ err }, 'child process error');
      });
    });
    proc.once('spawn', () => {
      log.info({ childPid: proc.pid, restarts: child.restarts }, `${spec.name} started`);
      if (spec.url !== undefined) void waitUntilReady(child, proc, spec.url);
      else markReady(child);
    });
  };

  // A child without a URL counts as up once it is running.
  const markReady = (child: Supervised) => {
    child.ready = true;
    if (!allReadyReported && supervised.every((c) => c.ready)) {
      allReadyReported = true;
      options.onAllReady?.();
    }
  };

  const waitUntilReady = async (child: Supervised, proc: ChildProcess, url: string) => {
    while (child.process === proc && stopping === undefined) {
      try {
        const response = await fetch(new URL('/readyz', url), { signal: AbortSignal.timeout(2_000) });
        await response.body?.cancel();
        if (response.ok) break;
      } catch {
        // Not listening yet.
      }
      await sleep(200);
    }
    if (child.process !== proc || stopping !== undefined) return;
    child.log.info({ url }, `${child.spec.name} ready at ${url}`);
    markReady(child);
  };

  const signal = (proc: ChildProcess, sig: NodeJS.Signals) => {
    if (proc.pid === undefined) return;
    try {
      process.kill(-proc.pid, sig); // the child's whole process group
    } catch {
      proc.kill(sig);
    }
  };

  const stopChild = async (child: Supervised) => {
    clearTimeout(child.restartTimer);
    const proc = child.process;
    if (proc === undefined) return;
    signal(proc, 'SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      child.exited.then(() => false),
      new Promise<boolean>((done) => (timer = setTimeout(() => done(true), stopTimeoutMs))),
    ]);
    clearTimeout(timer);
    if (timedOut) {
      child.log.warn({ stopTimeoutMs }, `${child.spec.name} did not stop after SIGTERM; sending SIGKILL`);
      signal(proc, 'SIGKILL');
      await child.exited;
    }
    child.log.info(`${child.spec.name} stopped`);
  };

  return {
    start() {
      if (supervised.length === 0) {
        allReadyReported = true;
        options.onAllReady?.();
      }
      for (const child of supervised) launch(child);
    },
    stop() {
      stopping ??= Promise.all(supervised.map(stopChild)).then(() => undefined);
      return stopping;
    },
    kill() {
      stopping ??= Promise.resolve();
      for (const child of supervised) {
        clearTimeout(child.restartTimer);
        if (child.process !== undefined) signal(child.process, 'SIGKILL');
      }
    },
    status() {
      return supervised.map((c) => ({
        name: c.spec.name,
        pid: c.process?.pid,
        restarts: c.restarts,
        ready: c.ready,
      }));
    },
  };
}
