import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { paymentSettings } from './payment-settings.js';

const dirs: string[] = [];
const tempDir = async () => {
  const dir = await mkdtemp(join(tmpdir(), 'optic-psp-'));
  dirs.push(dir);
  return dir;
};
after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

describe('paymentSettings', () => {
  it('generates one webhook secret, keeps it (0600) and reuses it', async () => {
    const dir = await tempDir();
    const ports = { GATEWAY_PORT: 9080, PAYMENT_PROVIDER_PORT: 9090 };
    const first = await paymentSettings({}, dir, ports);
    assert.match(first.PSP_WEBHOOK_SECRET ?? '', /^whsec_.{20,}$/);
    assert.equal(first.PSP_URL, 'http://127.0.0.1:9090');
    assert.equal(first.PSP_WEBHOOK_URL, 'http://127.0.0.1:9080/api/payments/webhook');
    assert.equal((await stat(join(dir, 'psp-webhook-secret'))).mode & 0o777, 0o600);
    assert.equal((await readFile(join(dir, 'psp-webhook-secret'), 'utf8')).trim(), first.PSP_WEBHOOK_SECRET);
    assert.equal((await paymentSettings({}, dir, ports)).PSP_WEBHOOK_SECRET, first.PSP_WEBHOOK_SECRET);
  });

  it('leaves what the environment sets', async () => {
    const dir = await tempDir();
    const env = {
      PSP_WEBHOOK_SECRET: 'mine-0123456789abcdef',
      PSP_URL: 'http://psp',
      PSP_WEBHOOK_URL: 'http://gw/hook',
    };
    assert.deepEqual(await paymentSettings(env, dir, {}), {});
  });
});
