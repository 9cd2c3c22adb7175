/**
 * Preloaded into every child (`node --import tsx --import …/child-guard.ts`): when the
 * supervisor is gone (killed with SIGKILL, say), the IPC channel it opened closes, and the
 * child shuts itself down as if the supervisor had sent SIGTERM, instead of living on as an
 * orphan that holds its port and makes the next `npm start` fail.
 */
import { closeSync, openSync } from 'node:fs';

if (process.channel !== undefined) {
  // The channel must not keep the child alive: a role that has closed everything exits.
  process.channel.unref();
  process.once('disconnect', () => {
    // Nobody reads our output any more; writing to the broken pipe must not crash the shutdown.
    for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);
    // pino flushes its buffer synchronously on exit, and sonic-boom 4.2's flushSync retries
    // a write that failed with EPIPE forever: the process would hang in its exit handler.
    // This listener, put ahead of pino's, points stdout and stderr
    // at /dev/null, so the flush succeeds. Only at exit: the event loop no longer runs, so
    // libuv cannot trip over its file descriptors changing underneath it.
    process.prependListener('exit', silenceOutput);
    process.kill(process.pid, 'SIGTERM');
  });
}

function silenceOutput(): void {
  for (const fd of [1, 2]) {
    try {
      closeSync(fd);
      const reopened = openSync('/dev/null', 'w'); // the lowest free descriptor: the one just closed
      if (reopened !== fd) closeSync(reopened);
    } catch {
      // Nothing more to do: we are exiting anyway.
    }
  }
}

export {};
