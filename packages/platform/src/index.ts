// The public surface of @optic-mart/platform. Other packages import from here only.

export {
  loadConfig,
  baseConfigSchema,
  port,
  int,
  duration,
  url,
  bool,
  logLevels,
  ConfigError,
} from './config.js';
export type { BaseConfig, Env, LogLevel } from './config.js';

export { createLogger, withContext } from './logger.js';
export type { Logger, LoggerOptions, LogContext } from './logger.js';

export { createMetricsRegistry, counter, histogram, gauge, httpRequestDuration } from './metrics.js';
export type { MetricsRegistry, MetricsRegistryOptions, Counter, Gauge, Histogram } from './metrics.js';

export {
  AppError,
  errorCodes,
  errorSpec,
  errorCodeForStatus,
  isAppError,
  isErrorCode,
  isRetryable,
  problemFromJson,
  problemType,
  toProblem,
  PROBLEM_CONTENT_TYPE,
} from './errors.js';
export type { AppErrorOptions, ErrorCode, ErrorSpec, FieldError, ProblemDetails } from './errors.js';

export { CORRELATION_ID_HEADER, correlationIdFrom, traceIdFrom } from './correlation-id.js';

export { createHttpServer } from './http-server.js';
export type { HttpServer, HttpServerOptions } from './http-server.js';
export type { ReadinessCheck, CheckResult, CheckStatus } from './readiness.js';
export { databaseReadiness } from './database-readiness.js';
export type { Queryable } from './database-readiness.js';

export { createShutdown } from './shutdown.js';
export type { Shutdown, ShutdownHook, ShutdownOptions, SignalSource } from './shutdown.js';

export { runRoleIfMain } from './role.js';
export type { RunningRole, RunRoleOptions } from './role.js';

export {
  startEmbeddedPostgres,
  type EmbeddedPostgres,
  type EmbeddedPostgresOptions,
} from './embedded-postgres.js';
