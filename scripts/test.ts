// `npm test`: runs every *.test.ts in the workspace with Node's test runner (tsx as the loader).
//   npm test -- <path filter> …      e.g. npm test -- packages/eventstore
// Tests use the PostgreSQL at TEST_DATABASE_URL / DATABASE_URL / the local server. When none
// answers (a machine with no PostgreSQL), an embedded one is started for the run, except in CI,
// where a missing server is a failure: tests that need a server never skip.
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '@optic-mart/platform';

const root = new URL('..', import.meta.url).pathname;
const skip = new Set(['node_modules', 'data', '.git']);

function collect(dir: string, out: string[]): string[] {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    if (skip.has(e.name)) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) collect(p, out);
    else if (e.name.endsWith('.test.ts')) out.push(relative(root, p));
  }
  return out;
}

async function answers(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

const filters = process.argv.slice(2);
const files = ['packages', 'contexts', 'apps']
  .flatMap((dir) => collect(join(root, dir), []))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}

const env = { ...process.env };
const serverUrl = env.TEST_DATABASE_URL ?? env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
let embedded: EmbeddedPostgres | null = null;
if (!(await answers(serverUrl))) {
  if (env.CI === 'true') {
    console.error(
      `PostgreSQL does not answer at ${serverUrl.replace(/:[^:@/]*@/, ':***@')}; CI needs a real server.`,
    );
    process.exit(1);
  }
  console.log(
    'No PostgreSQL answers; starting an embedded one for this run (data under ./data/test-postgres).',
  );
  embedded = await startEmbeddedPostgres({ dataDir: join(root, 'data', 'test-postgres'), port: 5434 });
  env.TEST_DATABASE_URL = embedded.urlFor('postgres');
}

// One file at a time by default: each file makes its own database and may start several processes
// with connection pools, and together they outgrow a stock server's max_connections (100). Files
// are independent, so TEST_CONCURRENCY=n runs them in parallel on a server that allows more.
const concurrency = env.TEST_CONCURRENCY ?? '1';
const child = spawn(
  process.execPath,
  ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...files],
  { stdio: 'inherit', cwd: root, env },
);
const code = await new Promise<number>((resolve) =>
  child.on('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0))),
);
if (embedded) await embedded.stop();
process.exit(code);
