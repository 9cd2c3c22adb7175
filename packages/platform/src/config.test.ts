import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { ConfigError, baseConfigSchema, bool, duration, int, loadConfig, port, url } from './config.js';

const appSchema = baseConfigSchema.extend({
  PORT: port(3000),
  WORKERS: int({ default: 4, min: 1, max: 64 }),
  POLL_INTERVAL: duration(500),
  VERBOSE: bool(false),
  PAYMENT_PROVIDER_URL: url({ protocols: ['http:', 'https:'] }),
});

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected loadConfig to throw');
}

describe('loadConfig', () => {
  it('applies defaults and coerces strings into typed values', () => {
    const config = loadConfig(appSchema, {
      PAYMENT_PROVIDER_URL: 'http://localhost:4010',
      POLL_INTERVAL: '2s',
    });
    assert.equal(config.PORT, 3000);
    assert.equal(config.WORKERS, 4);
    assert.equal(config.POLL_INTERVAL, 2000);
    assert.equal(config.VERBOSE, false);
    assert.equal(config.NODE_ENV, 'development');
    assert.equal(config.LOG_LEVEL, 'info');
    assert.equal(config.SHUTDOWN_TIMEOUT_MS, 10_000);
    assert.equal(config.DATABASE_URL, undefined);
  });

  it('parses given values', () => {
    const config = loadConfig(appSchema, {
      PORT: '8080',
      WORKERS: '16',
      VERBOSE: 'yes',
      LOG_LEVEL: 'debug',
      NODE_ENV: 'production',
      DATABASE_URL: 'postgres://app:secret@db:5432/optic',
      PAYMENT_PROVIDER_URL: 'https://psp.example',
      SHUTDOWN_TIMEOUT_MS: '2500',
    });
    assert.equal(config.PORT, 8080);
    assert.equal(config.WORKERS, 16);
    assert.equal(config.VERBOSE, true);
    assert.equal(config.LOG_LEVEL, 'debug');
    assert.equal(config.NODE_ENV, 'production');
    assert.equal(config.DATABASE_URL, 'postgres://app:secret@db:5432/optic');
    assert.equal(config.SHUTDOWN_TIMEOUT_MS, 2500);
  });

  it('names the bad variable and what it expects', () => {
    const err = configError(() => loadConfig(appSchema, { PORT: '70000', PAYMENT_PROVIDER_URL: 'http://x' }));
    assert.equal(err.message, 'Invalid configuration: PORT: expected a number between 1 and 65535');
  });

  it('names every bad variable at once, and missing required ones', () => {
    const err = configError(() => loadConfig(appSchema, { PORT: 'http', LOG_LEVEL: 'loud', WORKERS: '0' }));
    const variables = err.issues.map((i) => i.variable).sort();
    assert.deepEqual(variables, ['LOG_LEVEL', 'PAYMENT_PROVIDER_URL', 'PORT', 'WORKERS']);
    assert.match(err.message, /PAYMENT_PROVIDER_URL: is required/);
    assert.match(err.message, /WORKERS: expected an integer between 1 and 64/);
    assert.match(err.message, /LOG_LEVEL: expected one of fatal, error/);
  });

  it('rejects a URL of the wrong protocol without echoing the value (it may be a secret)', () => {
    const err = configError(() =>
      loadConfig(appSchema, { PAYMENT_PROVIDER_URL: 'http://x', DATABASE_URL: 'mysql://root:hunter2@db/x' }),
    );
    assert.match(err.message, /DATABASE_URL: expected a URL starting with postgres: or postgresql:\/\//);
    assert.doesNotMatch(err.message, /hunter2/);
  });

  it('states the bounds an integer must keep', () => {
    const err = configError(() =>
      loadConfig(z.object({ A: int({ min: 0 }), B: int() }), { A: '-1', B: '1.5' }),
    );
    assert.equal(
      err.message,
      'Invalid configuration: A: expected an integer of at least 0; B: expected an integer',
    );
  });

  it('rejects malformed durations and booleans', () => {
    const err = configError(() =>
      loadConfig(appSchema, { PAYMENT_PROVIDER_URL: 'http://x', POLL_INTERVAL: 'soon', VERBOSE: 'maybe' }),
    );
    assert.deepEqual(err.issues.map((i) => i.variable).sort(), ['POLL_INTERVAL', 'VERBOSE']);
  });

  it('treats an empty variable as unset, so its default applies', () => {
    const config = loadConfig(appSchema, { PORT: '', PAYMENT_PROVIDER_URL: 'http://x' });
    assert.equal(config.PORT, 3000);
  });

  it('returns a frozen object', () => {
    const config = loadConfig(z.object({ NAMES: z.string().transform((s) => s.split(',')) }), {
      NAMES: 'a,b',
    });
    assert.ok(Object.isFrozen(config));
    assert.ok(Object.isFrozen(config.NAMES));
    assert.throws(() => {
      (config as { NAMES: string[] }).NAMES.push('c');
    }, TypeError);
  });

  it('reads process.env by default', () => {
    process.env.OPTIC_MART_CONFIG_TEST = '1234';
    try {
      const config = loadConfig(z.object({ OPTIC_MART_CONFIG_TEST: port() }));
      assert.equal(config.OPTIC_MART_CONFIG_TEST, 1234);
    } finally {
      delete process.env.OPTIC_MART_CONFIG_TEST;
    }
  });
});

describe('duration', () => {
  it('reads bare numbers as milliseconds and honours units', () => {
    const schema = z.object({ D: duration() });
    const ms = (raw: string) => loadConfig(schema, { D: raw }).D;
    assert.equal(ms('250'), 250);
    assert.equal(ms('250ms'), 250);
    assert.equal(ms('1.5s'), 1500);
    assert.equal(ms('5m'), 300_000);
    assert.equal(ms('1h'), 3_600_000);
  });
});
