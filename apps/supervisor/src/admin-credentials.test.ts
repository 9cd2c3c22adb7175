import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { adminNotice, ensureAdminCredentials } from './admin-credentials.js';

const dirs: string[] = [];
const newDir = async () => {
  const dir = await mkdtemp(join(tmpdir(), 'om-admin-'));
  dirs.push(dir);
  return join(dir, 'data');
};
after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

test('generates credentials once, keeps them under the data directory (0600), and reuses them', async () => {
  const dataDir = await newDir();
  const first = await ensureAdminCredentials({}, dataDir);
  assert.ok(first.generated);
  assert.equal(first.generated.username, 'admin');
  assert.ok(first.generated.password.length >= 24);
  assert.deepEqual(first.env, { ADMIN_USERNAME: 'admin', ADMIN_PASSWORD: first.generated.password });
  const file = join(dataDir, 'admin.json');
  assert.equal(first.file, file);
  assert.equal((await stat(file)).mode & 0o777, 0o600);

  const second = await ensureAdminCredentials({}, dataDir);
  assert.equal(second.generated, null, 'printed only on the first start');
  assert.deepEqual(second.env, first.env);
  assert.match(adminNotice(first.generated, file), new RegExp(first.generated.password));
});

test('two first starts at once agree on one password', async () => {
  const dataDir = await newDir();
  const [a, b] = await Promise.all([
    ensureAdminCredentials({}, dataDir),
    ensureAdminCredentials({}, dataDir),
  ]);
  assert.deepEqual(a.env, b.env);
  assert.equal([a, b].filter((s) => s.generated !== null).length, 1);
});

test('uses ADMIN_USERNAME / ADMIN_PASSWORD from the environment and writes nothing', async () => {
  const dataDir = await newDir();
  const setup = await ensureAdminCredentials(
    { ADMIN_USERNAME: 'boss', ADMIN_PASSWORD: 'secret-enough' },
    dataDir,
  );
  assert.deepEqual(setup, { env: {}, generated: null, file: null });
  await assert.rejects(stat(join(dataDir, 'admin.json')), { code: 'ENOENT' });
  await assert.rejects(ensureAdminCredentials({ ADMIN_USERNAME: 'boss' }, dataDir), /both/);
});

test('refuses a damaged file rather than replacing the password silently', async () => {
  const dataDir = await newDir();
  await ensureAdminCredentials({}, dataDir);
  await writeFile(join(dataDir, 'admin.json'), '{"username": 1}');
  await assert.rejects(ensureAdminCredentials({}, dataDir), /admin\.json/);
  assert.equal(await readFile(join(dataDir, 'admin.json'), 'utf8'), '{"username": 1}');
});
