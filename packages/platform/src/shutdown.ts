/**
 * Graceful shutdown on SIGTERM/SIGINT: stop taking work, finish what is in flight, close
 * connections, exit. Kubernetes sends SIGTERM and waits a grace period before SIGKILL; a
 * process that exits without closing loses in-flight replies and leaves locks and
 * connections for the server to time out.
 */
import type { Logger } from './logger.js';

export type ShutdownHook = () => void | Promise<void>;

/** The part of `process` shutdown listens on; a plain EventEmitter in tests. */
export interface SignalSource {
  on(event: NodeJS.Signals, listener: () => void): unknown;
  off(event: NodeJS.Signals, listener: () => void): unknown;
}

export interface ShutdownOptions {
  readonly logger: Logger;
  /** Time allowed for all hooks together; past it the process exits 1. */
  readonly timeoutMs?: number;
  /** Ends the process; `process.exit` unless given (tests pass a recorder). */
  readonly exit?: (code: number) => void;
  readonly signals?: readonly NodeJS.Signals[];
  readonly signalSource?: SignalSource;
}

export interface Shutdown {
  /** Registers a hook; hooks run in reverse registration order, so what was opened first closes last. */
  onShutdown(name: string, hook: ShutdownHook): void;
  /** Runs the hooks and exits (0, or 1 if a hook failed or `exitCode` says so). Idempotent. */
  shutdown(reason: string, exitCode?: number): Promise<void>;
  /** True from the moment shutdown begins; /readyz answers 503 from then on. */
  isShuttingDown(): boolean;
  /** Removes the signal listeners (for tests and for embedding several roles in one process). */
  dispose(): void;
}

/** Creates the process's shutdown coordinator and installs its signal handlers. */
export function createShutdown(options: ShutdownOptions): Shutdown {
  const { logger, timeoutMs = 10_000, exit = (code: number) => process.exit(code) } = options;
  const signals = options.signals ?? ['SIGTERM', 'SIGINT'];
  const source: SignalSource = options.signalSource ?? process;
  const hooks: { name: string; hook: ShutdownHook }[] = [];
  let running: Promise<void> | undefined;
  let started = false;
  let exited = false;
  let timer: NodeJS.Timeout | undefined;

  const exitOnce = (code: number): void => {
    if (exited) return;
    exited = true;
    clearTimeout(timer);
    exit(code);
  };

  const runHooks = async (
    exitCode: number,
    state: { current: string; timedOut: boolean },
  ): Promise<number> => {
    let code = exitCode;
    for (const { name, hook } of [...hooks].reverse()) {
      if (exited || state.timedOut) break;
      state.current = name;
      try {
        await hook();
        logger.debug({ hook: name }, 'shutdown hook done');
      } catch (err) {
        // Keep going: one failed close must not leave the others (e.g. the database pool) open.
        code = 1;
        logger.error({ err, hook: name }, 'shutdown hook failed');
      }
    }
    return code;
  };

  const run = async (reason: string, exitCode: number): Promise<void> => {
    logger.info({ reason, hooks: hooks.length, timeoutMs }, 'shutting down');
    const state = { current: '', timedOut: false };
    // Ref'd on purpose: if a hook hangs on something that does not keep the event loop alive,
    // the timer still fires, instead of the process slipping out with code 0 halfway through.
    const timeout = new Promise<number>((resolve) => {
      timer = setTimeout(() => {
        state.timedOut = true;
        logger.error({ hook: state.current, timeoutMs }, 'shutdown timed out; exiting');
        resolve(1);
      }, timeoutMs);
    });
    const code = await Promise.race([runHooks(exitCode, state), timeout]);
    if (!exited && !state.timedOut) logger.info({ exitCode: code }, 'shutdown complete');
    exitOnce(code);
  };

  const onSignal = (signal: NodeJS.Signals) => () => {
    if (!started) {
      void shutdown(signal);
      return;
    }
    // The operator pressed Ctrl-C twice, or the orchestrator gave up: stop now.
    logger.warn({ signal }, 'second signal during shutdown; exiting now');
    exitOnce(1);
  };
  const listeners = signals.map((signal) => ({ signal, listener: onSignal(signal) }));
  for (const { signal, listener } of listeners) source.on(signal, listener);

  function shutdown(reason: string, exitCode = 0): Promise<void> {
    if (running === undefined) {
      // Set before the first hook runs, so a hook (or /readyz) asking isShuttingDown() already sees true.
      started = true;
      running = run(reason, exitCode);
    }
    return running;
  }

  return {
    onShutdown(name, hook) {
      if (started) {
        logger.warn({ hook: name }, 'shutdown hook registered after shutdown began; it will not run');
        return;
      }
      hooks.push({ name, hook });
    },
    shutdown,
    isShuttingDown: () => started,
    dispose() {
      for (const { signal, listener } of listeners) source.off(signal, listener);
    },
  };
}
