import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '@optic-mart/platform';
import { loadSupervisorConfig } from './config.js';
import { planProcesses } from './plan.js';

function configIssues(env: Record<string, string>) {
  try {
    loadSupervisorConfig(env);
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.issues;
  }
  return assert.fail('expected a ConfigError');
}

test('defaults: embedded PostgreSQL under ./data, one replica of each default role', async () => {
  const config = loadSupervisorConfig({});
  assert.equal(config.databaseUrl, undefined);
  assert.match(config.dataDir, /\/data$/);
  assert.equal(config.embeddedPostgresPort, 5433);
  assert.equal(config.singleProcess, false);
  assert.deepEqual(config.rolePorts, {
    EVENTSTORE_PORT: 8081,
    GATEWAY_PORT: 8080,
    PROJECTOR_PORT: 8083,
    STREAM_PORT: 8082,
    SAGA_PORT: 8084,
    PAYMENT_PROVIDER_PORT: 8090,
  });
  const planned = await planProcesses(config);
  assert.deepEqual(
    planned.map((p) => [p.name, p.port?.value]),
    [
      ['eventstore', 8081],
      ['gateway', 8080],
      ['worker', undefined],
      ['projector', 8083],
      ['stream', 8082],
      ['saga', 8084],
      ['payment-provider', 8090],
    ],
  );
});

test('OPTIC_REPLICAS sets replica counts, zero included; extra replicas get ports of their own', async () => {
  const none = loadSupervisorConfig({
    OPTIC_REPLICAS: 'eventstore=0,gateway=0,worker=0,projector=0,stream=0,saga=0,payment-provider=0',
  });
  assert.deepEqual(await planProcesses(none), []);

  const three = loadSupervisorConfig({
    OPTIC_REPLICAS: ' eventstore = 3 ,gateway=0,worker=0,projector=0,stream=0,saga=0,payment-provider=0',
    EVENTSTORE_PORT: '18081',
  });
  const planned = await planProcesses(three);
  assert.deepEqual(
    planned.map((p) => p.name),
    ['eventstore.1', 'eventstore.2', 'eventstore.3'],
  );
  const ports = planned.map((p) => p.port?.value);
  assert.equal(ports[0], 18081);
  assert.equal(new Set(ports).size, 3);
  assert.ok(planned.every((p) => p.port?.env === 'EVENTSTORE_PORT'));

  assert.deepEqual(
    (await planProcesses(three, { oneEach: true })).map((p) => p.name),
    ['eventstore'],
  );
});

test('a bad OPTIC_REPLICAS entry is named, with every other bad variable', () => {
  const issues = configIssues({
    OPTIC_REPLICAS: 'eventstore=1,nosuchrole=2,eventstore:catalog=1,junk',
    EVENTSTORE_PORT: 'x',
  });
  const replicas = issues.filter((i) => i.variable === 'OPTIC_REPLICAS').map((i) => i.message);
  assert.equal(replicas.length, 3);
  assert.match(replicas[0]!, /"nosuchrole=2": unknown role; roles are eventstore, gateway, worker/);
  assert.match(replicas[1]!, /"eventstore:catalog=1": eventstore does not take contexts/);
  assert.match(replicas[2]!, /"junk": expected role=count/);
  assert.ok(issues.some((i) => i.variable === 'EVENTSTORE_PORT'));
});

test('DATABASE_URL and OPTIC_SINGLE_PROCESS are read; the rest of the environment goes to the children', () => {
  const config = loadSupervisorConfig({
    DATABASE_URL: 'postgres://app:secret@db.example:5432/shop',
    OPTIC_SINGLE_PROCESS: 'yes',
    NATS_URL: 'nats://127.0.0.1:4222',
    SOMETHING_A_ROLE_READS: 'x',
  });
  assert.equal(config.databaseUrl, 'postgres://app:secret@db.example:5432/shop');
  assert.equal(config.singleProcess, true);
  assert.equal(config.childEnv.SOMETHING_A_ROLE_READS, 'x');
  assert.equal(config.childEnv.NATS_URL, 'nats://127.0.0.1:4222');
});
