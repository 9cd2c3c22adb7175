/**
 * What `npm start` gives the gateway and the payment provider so that they find and trust each
 * other (issue 6): PSP_WEBHOOK_SECRET, the same for both — from the environment when set, else
 * generated once and kept in DATA_DIR/psp-webhook-secret (mode 0600, reused by later starts, like
 * admin.json) — and each one's URL of the other, from the role ports: PSP_URL for the gateway,
 * PSP_WEBHOOK_URL for the provider. Variables already set in the environment win.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Env } from '@optic-mart/platform';

const FILE = 'psp-webhook-secret';

const code = (err: unknown): string | undefined => (err as { code?: string }).code;

async function keptSecret(dataDir: string): Promise<string> {
  const file = join(dataDir, FILE);
  try {
    const kept = (await readFile(file, 'utf8')).trim();
    if (kept.length >= 16) return kept;
    throw new Error(`${file} holds no usable secret; delete it to make a new one`);
  } catch (err) {
    if (code(err) !== 'ENOENT') throw err;
  }
  const secret = `whsec_${randomBytes(24).toString('base64url')}`;
  await mkdir(dataDir, { recursive: true });
  try {
    // `wx`: never overwrite; a concurrent first start that got there first wins, and we use theirs.
    await writeFile(file, `${secret}\n`, { mode: 0o600, flag: 'wx' });
    return secret;
  } catch (err) {
    if (code(err) !== 'EEXIST') throw err;
    return (await readFile(file, 'utf8')).trim();
  }
}

/** The variables to add to every child's environment (none that `env` sets already). */
export async function paymentSettings(
  env: Env,
  dataDir: string,
  ports: Readonly<Record<string, number>>,
): Promise<Record<string, string>> {
  const settings: Record<string, string> = {};
  if (!env.PSP_WEBHOOK_SECRET) settings.PSP_WEBHOOK_SECRET = await keptSecret(dataDir);
  if (!env.PSP_URL) settings.PSP_URL = `http://127.0.0.1:${ports.PAYMENT_PROVIDER_PORT ?? 8090}`;
  if (!env.PSP_WEBHOOK_URL) {
    settings.PSP_WEBHOOK_URL = `http://127.0.0.1:${ports.GATEWAY_PORT ?? 8080}/api/payments/webhook`;
  }
  return settings;
}
