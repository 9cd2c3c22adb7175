/**
 * The supervisor's settings, from the environment (through @optic-mart/platform's loadConfig):
 *
 *   DATABASE_URL            use this PostgreSQL; unset: start the embedded one
 *   DATA_DIR                where the embedded PostgreSQL keeps its data, in DATA_DIR/postgres (./data)
 *   EMBEDDED_POSTGRES_PORT  the port the embedded PostgreSQL prefers; another if taken (5433)
 *   OPTIC_REPLICAS          replicas per role, e.g. "eventstore=1,worker:catalog=2,worker:ordering+payments=1"
 *   OPTIC_SINGLE_PROCESS    run every role inside the supervisor's process (also: --single-process)
 *   SHUTDOWN_TIMEOUT_MS     what each child gets for its own shutdown; the supervisor waits a bit
 *                           longer before SIGKILL (10000)
 *   <ROLE>_PORT             each role's HTTP port (EVENTSTORE_PORT=8081, …), per the role table
 *   LOG_LEVEL, NODE_ENV     as for every process
 *
 * OPTIC_REPLICAS: comma-separated `role[:context+context…]=count` entries. Roles it does not
 * name keep the table's default (roles.ts); `=0` turns one off. `worker:catalog=2` adds two
 * workers serving only catalog, started with `--context catalog`, beside the default worker.
 *
 * Everything else in the environment is handed to the children unchanged: each role
 * validates its own settings.
 */
import { baseConfigSchema, bool, ConfigError, loadConfig, port } from '@optic-mart/platform';
import type { Env, LogLevel } from '@optic-mart/platform';
import { resolve } from 'node:path';
import { z } from 'zod';
import { findRole, roles, unitKey } from './roles.js';
import type { ReplicaCounts } from './roles.js';

const MAX_REPLICAS = 64;

/** Parses OPTIC_REPLICAS; exported for tests. */
export const replicasSchema = z.string().transform((raw, ctx): ReplicaCounts => {
  const counts = new Map<string, { role: string; contexts: readonly string[]; replicas: number }>();
  for (const entry of raw.split(',').map((part) => part.trim())) {
    if (entry === '') continue;
    const match = /^([a-z][a-z0-9-]*)(?::([a-z][a-z0-9-]*(?:\+[a-z][a-z0-9-]*)*))?\s*=\s*(\d+)$/.exec(entry);
    const bad = (message: string) => ctx.addIssue({ code: 'custom', message: `"${entry}": ${message}` });
    if (match === null) {
      bad('expected role=count or role:context+context=count, e.g. eventstore=1,worker:catalog=2');
      continue;
    }
    const [, roleName = '', contextList, count = ''] = match;
    const role = findRole(roleName);
    const contexts = contextList === undefined ? [] : [...new Set(contextList.split('+'))].sort();
    const replicas = Number(count);
    if (role === undefined) bad(`unknown role; roles are ${roles.map((r) => r.name).join(', ')}`);
    else if (contexts.length > 0 && role.takesContexts !== true) bad(`${roleName} does not take contexts`);
    else if (replicas > MAX_REPLICAS) bad(`at most ${MAX_REPLICAS} replicas`);
    else counts.set(unitKey(roleName, contexts), { role: roleName, contexts, replicas });
  }
  return counts;
});

const settingsSchema = baseConfigSchema.extend({
  DATA_DIR: z.string().min(1).default('./data'),
  EMBEDDED_POSTGRES_PORT: port(5433),
  OPTIC_REPLICAS: replicasSchema.prefault(''),
  OPTIC_SINGLE_PROCESS: bool(false),
});

const rolePortsSchema = z.object(
  Object.fromEntries(
    roles.flatMap((role) => (role.port === undefined ? [] : [[role.port.env, port(role.port.default)]])),
  ),
);

// The children's environment: everything, passed through uninterpreted.
const inheritedSchema = z.looseObject({});

export interface SupervisorConfig {
  readonly logLevel: LogLevel;
  /** Unset: start the embedded PostgreSQL. */
  readonly databaseUrl: string | undefined;
  /** Absolute. */
  readonly dataDir: string;
  readonly embeddedPostgresPort: number;
  readonly singleProcess: boolean;
  readonly replicas: ReplicaCounts;
  /** Between SIGTERM and SIGKILL for a child. */
  readonly stopTimeoutMs: number;
  /** Each role's HTTP port, by its port variable (EVENTSTORE_PORT → 8081). */
  readonly rolePorts: Readonly<Record<string, number>>;
  readonly childEnv: Env;
}

/** Reads the supervisor's configuration; a ConfigError names every bad variable at once. */
export function loadSupervisorConfig(env?: Env): SupervisorConfig {
  const issues: ConfigError['issues'][number][] = [];
  const attempt = <T>(load: () => T): T | undefined => {
    try {
      return load();
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      issues.push(...err.issues);
      return undefined;
    }
  };
  const settings = attempt(() => loadConfig(settingsSchema, env));
  const rolePorts = attempt(() => loadConfig(rolePortsSchema, env) as Readonly<Record<string, number>>);
  const childEnv = attempt(() => loadConfig(inheritedSchema, env) as Env);
  if (settings === undefined || rolePorts === undefined || childEnv === undefined)
    throw new ConfigError(issues);

  return {
    logLevel: settings.LOG_LEVEL,
    databaseUrl: settings.DATABASE_URL,
    dataDir: resolve(settings.DATA_DIR),
    embeddedPostgresPort: settings.EMBEDDED_POSTGRES_PORT,
    singleProcess: settings.OPTIC_SINGLE_PROCESS,
    replicas: settings.OPTIC_REPLICAS,
    // The child's own hooks get SHUTDOWN_TIMEOUT_MS; the margin covers its exit after them.
    stopTimeoutMs: settings.SHUTDOWN_TIMEOUT_MS + 5_000,
    rolePorts,
    childEnv,
  };
}
