/**
 * One way to run a role as its own process. Every `apps/<role>/src/main.ts` exports a `start()`
 * that the supervisor calls directly in single-process mode (and tests call too); run as a
 * script (`node apps/<role>/src/main.ts`, what the supervisor's children are), the same module
 * must also start itself and stop cleanly on SIGTERM/SIGINT. That second part was the same few
 * lines in every role; it lives here so a fix to it reaches them all.
 */
import { pathToFileURL } from 'node:url';
import { createLogger } from './logger.js';
import { createShutdown } from './shutdown.js';
import type { Shutdown, ShutdownOptions } from './shutdown.js';

/** What a role's `start()` resolves to: at least a way to stop it (closing what it opened). */
export interface RunningRole {
  stop(): Promise<void>;
}

export interface RunRoleOptions {
  /** The script node was started with; `process.argv[1]` unless given (tests). */
  readonly entryScript?: string;
  /** Overrides for the shutdown coordinator (tests pass a signal source, an exit recorder, a logger). */
  readonly shutdown?: Partial<ShutdownOptions>;
}

/**
 * When the module at `moduleUrl` (pass `import.meta.url`) is the script node was started with,
 * starts the role and stops it on SIGTERM/SIGINT, exiting 0 (1 if stopping failed or timed
 * out). Imported by the supervisor or a test, it does nothing, so `start()` stays theirs to call.
 * A start that fails rejects: awaited at the top of main.ts, that ends the process with code 1
 * and the error on stderr. A signal during the start stops the role once it has started.
 * Resolves to the shutdown coordinator when it started the role, else to undefined.
 */
export async function runRoleIfMain(
  moduleUrl: string,
  name: string,
  start: () => Promise<RunningRole>,
  options: RunRoleOptions = {},
): Promise<Shutdown | undefined> {
  const entryScript = options.entryScript ?? process.argv[1] ?? '';
  if (moduleUrl !== pathToFileURL(entryScript).href) return undefined;
  // The signal handlers come first: a SIGTERM while the role is still starting waits for the start
  // to finish and then stops it cleanly, rather than killing it with connections half open.
  const shutdown = createShutdown({ logger: createLogger({ name }), ...options.shutdown });
  const starting = start();
  shutdown.onShutdown(name, async () => (await starting).stop());
  await starting;
  return shutdown;
}
