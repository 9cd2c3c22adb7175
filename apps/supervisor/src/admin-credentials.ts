/**
 * The first admin account for `npm start` (issue 5). The gateways create it from ADMIN_USERNAME and
 * ADMIN_PASSWORD; when those are not set, the supervisor makes them up once — username `admin`, a
 * strong random password — keeps them in DATA_DIR/admin.json (mode 0600, beside the embedded
 * PostgreSQL's data, so later starts reuse them) and passes them to the children. The password is
 * printed once, on the start that generated it.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Env } from '@optic-mart/platform';

export interface AdminCredentials {
  readonly username: string;
  readonly password: string;
}

export interface AdminSetup {
  /** What to add to the children's environment (nothing when the environment has both already). */
  readonly env: Readonly<Record<string, string>>;
  /** The credentials when this call generated them: print them, once. */
  readonly generated: AdminCredentials | null;
  /** Where they are kept (when they came from or went to a file). */
  readonly file: string | null;
}

const FILE = 'admin.json';
const DEFAULT_USERNAME = 'admin';

function parse(text: string, file: string): AdminCredentials {
  const value = JSON.parse(text) as Partial<AdminCredentials>;
  if (typeof value.username !== 'string' || typeof value.password !== 'string') {
    throw new Error(`${file} must hold {"username": …, "password": …}; delete it to make new ones`);
  }
  return { username: value.username, password: value.password };
}

const isMissing = (err: unknown): boolean => (err as { code?: string }).code === 'ENOENT';
const isTaken = (err: unknown): boolean => (err as { code?: string }).code === 'EEXIST';

/**
 * The admin credentials the gateways get: ADMIN_USERNAME / ADMIN_PASSWORD from `env` when both are
 * set; else those kept in `<dataDir>/admin.json`; else new ones, written there first.
 */
export async function ensureAdminCredentials(env: Env, dataDir: string): Promise<AdminSetup> {
  const { ADMIN_USERNAME: username, ADMIN_PASSWORD: password } = env;
  if (username && password) return { env: {}, generated: null, file: null };
  if (username || password) throw new Error('set both ADMIN_USERNAME and ADMIN_PASSWORD, or neither');

  const file = join(dataDir, FILE);
  const toEnv = (c: AdminCredentials) => ({ ADMIN_USERNAME: c.username, ADMIN_PASSWORD: c.password });
  try {
    return { env: toEnv(parse(await readFile(file, 'utf8'), file)), generated: null, file };
  } catch (err) {
    if (!isMissing(err)) throw err;
  }
  const generated = { username: DEFAULT_USERNAME, password: randomBytes(18).toString('base64url') };
  await mkdir(dataDir, { recursive: true });
  try {
    // `wx`: never overwrite; a concurrent first start that got there first wins, and we use theirs.
    await writeFile(file, `${JSON.stringify(generated, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if (!isTaken(err)) throw err;
    return { env: toEnv(parse(await readFile(file, 'utf8'), file)), generated: null, file };
  }
  return { env: toEnv(generated), generated, file };
}

/** The lines to print once when the credentials were generated. */
export function adminNotice(credentials: AdminCredentials, file: string): string {
  return (
    `\nAn admin account was set up for this installation:\n` +
    `  username  ${credentials.username}\n` +
    `  password  ${credentials.password}\n` +
    `It is kept in ${file} (readable by you only); it will not be shown again.\n` +
    `Set ADMIN_USERNAME and ADMIN_PASSWORD to choose your own.\n\n`
  );
}
