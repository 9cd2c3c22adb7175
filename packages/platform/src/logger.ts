/**
 * Structured JSON logs (pino) to stdout: one object per line, so the platform that runs the
 * process (systemd, Kubernetes, the supervisor) collects them without parsing prose.
 */
import { hostname } from 'node:os';
import { pino } from 'pino';
import type { DestinationStream, Logger as PinoLogger } from 'pino';
import type { LogLevel } from './config.js';

export type Logger = PinoLogger;

export interface LoggerOptions {
  /** The service (role) name, on every line as `service`. */
  readonly name: string;
  readonly level?: LogLevel;
  /** Where lines go; stdout unless given (tests pass a stream to read them back). */
  readonly destination?: DestinationStream;
}

/** Ids that tie a log line to a request, a command and the events it produced. */
export interface LogContext {
  readonly correlationId?: string;
  readonly commandId?: string;
  readonly causationId?: string;
  readonly eventId?: string;
}

// Credentials must not reach the log store, which far more people can read than the database.
const redactPaths = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
  'password',
  '*.password',
];

/** Creates the process's root logger; everything else logs through its children. */
export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { service: options.name, pid: process.pid, hostname: hostname() },
      timestamp: pino.stdTimeFunctions.isoTime,
      // Level names, not numbers: log queries read `level:"error"` without a lookup table.
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: redactPaths, censor: '[redacted]' },
    },
    options.destination,
  );
}

/** A child logger whose every line carries the given ids (undefined ones are left out). */
export function withContext(logger: Logger, context: LogContext): Logger {
  const bindings = Object.fromEntries(Object.entries(context).filter(([, value]) => value !== undefined));
  return logger.child(bindings);
}
