/**
 * `npm start`: every role of Optic Mart on this machine.
 *
 *   - PostgreSQL: DATABASE_URL if set; otherwise an embedded server, data in ./data/postgres,
 *     database optic_mart, whose URL the children get as DATABASE_URL.
 *   - One child process per role replica (`node --import tsx apps/<role>/src/main.ts`), from the
 *     table in roles.ts; replicas per role from OPTIC_REPLICAS (see config.ts), e.g.
 *     OPTIC_REPLICAS="eventstore=1,worker:catalog=2"; 0 turns a role off.
 *   - A child that dies is restarted, after a delay that doubles while it keeps dying
 *     (0.5 s up to 30 s). Its output is forwarded line by line, prefixed with its name.
 *   - Ctrl-C or SIGTERM: children get SIGTERM (SIGKILL if they outstay the timeout), then the
 *     embedded PostgreSQL stops, then exit 0. A second Ctrl-C kills everything at once.
 *   - `--single-process` (or OPTIC_SINGLE_PROCESS=1): every role in this one process, through
 *     the start() each role module exports (see README.md).
 */
import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { ConfigError, createLogger, createShutdown, startEmbeddedPostgres } from '@optic-mart/platform';
import type { Env, Logger, Shutdown } from '@optic-mart/platform';
import { adminNotice, ensureAdminCredentials } from './admin-credentials.js';
import { loadSupervisorConfig } from './config.js';
import { paymentSettings } from './payment-settings.js';
import type { SupervisorConfig } from './config.js';
import { planProcesses } from './plan.js';
import type { PlannedProcess } from './plan.js';
import { createSupervisor } from './supervisor.js';
import type { ChildSpec, Supervisor } from './supervisor.js';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const childGuard = fileURLToPath(new URL('./child-guard.ts', import.meta.url));
const DATABASE = 'optic_mart';

/** What each `apps/<role>/src/main.ts` exports for --single-process (see README.md). */
interface RoleModule {
  start?: (env?: Env, args?: readonly string[]) => Promise<{ stop(): Promise<void> }>;
}

async function main(): Promise<void> {
  const { values: flags } = parseArgs({
    options: { 'single-process': { type: 'boolean', default: false } },
    strict: true,
  });
  const config = loadSupervisorConfig();
  const singleProcess = flags['single-process'] || config.singleProcess;
  const planned = await planProcesses(config, { oneEach: singleProcess });
  const missing = planned.map((p) => entryPoint(p.role.name)).filter((path) => !existsSync(path));
  if (missing.length > 0) throw new Error(`no entry point for a planned role: ${missing.join(', ')}`);

  const width = Math.max('supervisor'.length, ...planned.map((p) => p.name.length));
  const logger = createLogger({
    name: 'supervisor',
    level: config.logLevel,
    destination: { write: (line: string) => process.stdout.write(`${'supervisor'.padEnd(width)} | ${line}`) },
  });
  let supervisor: Supervisor | undefined;
  const exit = (code: number) => {
    // A second Ctrl-C or a shutdown that timed out: take the children down with us. (The
    // embedded PostgreSQL gets its fast-shutdown signal from its own exit hook.)
    if (code !== 0) supervisor?.kill();
    process.exit(code);
  };
  const shutdown = createShutdown({
    logger,
    signals: [],
    // Children stop in parallel, then PostgreSQL (a fast shutdown, 30 s at the very most).
    timeoutMs: config.stopTimeoutMs + 40_000,
    exit,
  });
  let firstSignalAt: number | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (firstSignalAt === undefined) {
      firstSignalAt = Date.now();
      void shutdown.shutdown(signal);
    } else if (Date.now() - firstSignalAt > 1_000) {
      logger.warn({ signal }, 'second signal during shutdown; killing everything now');
      exit(1);
    }
    // Within a second it is the same Ctrl-C once more: a terminal signals the whole process
    // group, and the tsx and npm wrappers above us pass the signal on as well.
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, onSignal);

  if (singleProcess && [...config.replicas.values()].some((unit) => unit.replicas > 1)) {
    logger.warn('one process runs one of each role; replica counts above 1 in OPTIC_REPLICAS are ignored');
  }
  try {
    await startEverything({
      config,
      planned,
      singleProcess,
      logger,
      shutdown,
      setSupervisor: (s) => (supervisor = s),
    });
  } catch (err) {
    logger.error({ err }, 'start-up failed');
    await shutdown.shutdown('start-up failed', 1);
  }
}

interface StartContext {
  readonly config: SupervisorConfig;
  readonly planned: readonly PlannedProcess[];
  readonly singleProcess: boolean;
  readonly logger: Logger;
  readonly shutdown: Shutdown;
  readonly setSupervisor: (supervisor: Supervisor) => void;
}

async function startEverything({
  config: configured,
  planned,
  singleProcess,
  logger,
  shutdown,
  setSupervisor,
}: StartContext) {
  // The first admin account: from ADMIN_USERNAME/ADMIN_PASSWORD, else made up once and kept under
  // DATA_DIR; the gateways create it.
  const admin = await ensureAdminCredentials(configured.childEnv, configured.dataDir);
  // The payment provider and the gateways: one webhook secret (kept under DATA_DIR), and each other's URL.
  const payments = await paymentSettings(configured.childEnv, configured.dataDir, configured.rolePorts);
  const config = { ...configured, childEnv: { ...configured.childEnv, ...admin.env, ...payments } };
  let databaseUrl = config.databaseUrl;
  let databaseNote = 'from DATABASE_URL';
  if (databaseUrl === undefined) {
    const dataDir = join(config.dataDir, 'postgres');
    const postgres = await startEmbeddedPostgres({
      dataDir,
      port: config.embeddedPostgresPort,
      logger,
      databases: [DATABASE],
    });
    shutdown.onShutdown('embedded PostgreSQL', () => postgres.stop());
    void postgres.exited.then(() => {
      if (!shutdown.isShuttingDown()) void shutdown.shutdown('the embedded PostgreSQL exited', 1);
    });
    databaseUrl = postgres.url;
    databaseNote = `embedded, data in ${relative(process.cwd(), dataDir) || dataDir}`;
  }
  if (shutdown.isShuttingDown()) return;

  let adminShown = false;
  const printBanner = () => {
    const rows: [string, string][] = [['PostgreSQL', `${redact(databaseUrl)}  (${databaseNote})`]];
    for (const p of planned) rows.push([p.name, p.port === undefined ? 'running' : roleUrl(p)]);
    const w = Math.max(...rows.map(([name]) => name.length));
    const mode = singleProcess ? ' in one process' : '';
    process.stdout.write(
      `\nOptic Mart is up${mode}:\n${rows.map(([name, where]) => `  ${name.padEnd(w)}  ${where}\n`).join('')}` +
        'Press Ctrl-C to stop.\n\n',
    );
    // Once: the password is shown on the start that made it up, never again.
    if (admin.generated && admin.file && !adminShown)
      process.stdout.write(adminNotice(admin.generated, admin.file));
    adminShown = true;
  };

  if (singleProcess) {
    await startInProcess(planned, config, databaseUrl, shutdown, logger);
    if (!shutdown.isShuttingDown()) printBanner();
    return;
  }
  const children = createSupervisor({
    children: planned.map((p) => childSpec(p, config, databaseUrl)),
    logger,
    stopTimeoutMs: config.stopTimeoutMs,
    onAllReady: printBanner,
  });
  setSupervisor(children);
  shutdown.onShutdown('children', () => children.stop());
  children.start();
}

function entryPoint(role: string): string {
  return join(repoRoot, 'apps', role, 'src', 'main.ts');
}

function roleUrl(p: PlannedProcess): string {
  return `http://127.0.0.1:${p.port?.value}`;
}

function roleEnv(p: PlannedProcess, config: SupervisorConfig, databaseUrl: string): Env {
  return {
    ...config.childEnv,
    DATABASE_URL: databaseUrl,
    ...(p.port === undefined ? {} : { [p.port.env]: String(p.port.value) }),
  };
}

function childSpec(p: PlannedProcess, config: SupervisorConfig, databaseUrl: string): ChildSpec {
  return {
    name: p.name,
    command: process.execPath,
    args: ['--import', 'tsx', '--import', childGuard, relative(repoRoot, entryPoint(p.role.name)), ...p.args],
    env: roleEnv(p, config, databaseUrl),
    cwd: repoRoot,
    ...(p.port === undefined ? {} : { url: roleUrl(p) }),
  };
}

async function startInProcess(
  planned: readonly PlannedProcess[],
  config: SupervisorConfig,
  databaseUrl: string,
  shutdown: Shutdown,
  logger: Logger,
): Promise<void> {
  for (const p of planned) {
    if (shutdown.isShuttingDown()) return;
    const module = (await import(pathToFileURL(entryPoint(p.role.name)).href)) as RoleModule;
    if (typeof module.start !== 'function') {
      throw new Error(`role ${p.role.name} does not export start(), which --single-process needs`);
    }
    const role = await module.start(roleEnv(p, config, databaseUrl), p.args);
    shutdown.onShutdown(p.name, () => role.stop());
    logger.info({ role: p.name }, `${p.name} started in process`);
  }
}

/** The URL without its password, for printing. */
function redact(url: string): string {
  const parsed = new URL(url);
  if (parsed.password !== '') parsed.password = '***';
  return parsed.toString();
}

try {
  await main();
} catch (err) {
  // Before the logger exists (bad configuration, a missing role) there is only stderr.
  const detail =
    err instanceof ConfigError || !(err instanceof Error) ? String(err) : (err.stack ?? err.message);
  process.stderr.write(`supervisor: ${detail}\n`);
  process.exitCode = 1;
}
