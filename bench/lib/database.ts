import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { createLogger, startEmbeddedPostgres, type EmbeddedPostgres } from '@optic-mart/platform';

const DEFAULT_URL = 'postgres://postgres@127.0.0.1:5432/postgres';
const EMBEDDED_DATA_DIR = fileURLToPath(new URL('../../data/bench-postgres', import.meta.url));

/** The PostgreSQL server a run uses. */
export interface BenchServer {
  /** URL of its maintenance database (where fresh databases are created from). */
  readonly url: string;
  /** Where it came from, for the report. */
  readonly source: string;
  /** Stops the server if this run started it. */
  close(): Promise<void>;
}

/**
 * BENCH_DATABASE_URL, else DATABASE_URL, else the local server; when neither variable is set and
 * nothing answers locally, an embedded PostgreSQL under ./data/bench-postgres, stopped at the end.
 */
export async function openServer(
  env: NodeJS.ProcessEnv = process.env,
  localUrl: string = DEFAULT_URL,
): Promise<BenchServer> {
  const configured = env.BENCH_DATABASE_URL || env.DATABASE_URL;
  if (configured) {
    const source = `${redact(configured)} (${env.BENCH_DATABASE_URL ? 'BENCH_DATABASE_URL' : 'DATABASE_URL'})`;
    return { url: configured, source, close: async () => {} };
  }
  if (await answers(localUrl))
    return { url: localUrl, source: `${localUrl} (local server)`, close: async () => {} };
  const embedded: EmbeddedPostgres = await startEmbeddedPostgres({
    dataDir: EMBEDDED_DATA_DIR,
    logger: createLogger({ name: 'bench', level: 'warn', destination: process.stderr }),
  });
  return {
    url: embedded.url,
    source: `embedded PostgreSQL (${EMBEDDED_DATA_DIR}, port ${embedded.port})`,
    close: () => embedded.stop(),
  };
}

/** True when a server accepts connections at `url`; false when nothing listens there. */
async function answers(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3_000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return true;
  } catch (err) {
    const code = (err as { code?: string }).code;
    const unreachable = [
      'ECONNREFUSED',
      'EHOSTUNREACH',
      'ENETUNREACH',
      'ETIMEDOUT',
      'ENOTFOUND',
      'EADDRNOTAVAIL',
    ];
    if ((code !== undefined && unreachable.includes(code)) || /timeout/i.test(String(err))) return false;
    throw err; // something answers but refuses us: say so rather than start another server
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** A database made for one run. */
export interface BenchDatabase {
  readonly name: string;
  readonly url: string;
  /** Drops it (closing whatever is still connected); idempotent. */
  drop(): Promise<void>;
}

export async function createDatabase(serverUrl: string): Promise<BenchDatabase> {
  const name = `om_bench_${randomBytes(4).toString('hex')}`;
  await adminQuery(serverUrl, `CREATE DATABASE ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  let dropped: Promise<void> | undefined;
  return {
    name,
    url: url.toString(),
    drop: () => (dropped ??= adminQuery(serverUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)),
  };
}

/** Runs one statement on its own connection (DDL, CHECKPOINT, DROP DATABASE). */
export async function adminQuery(serverUrl: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl });
  client.on('error', () => undefined);
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** A URL without its password. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparsable URL)';
  }
}
