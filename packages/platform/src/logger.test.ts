import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger, withContext } from './logger.js';
import { captureLogs } from './test-support.js';

describe('createLogger', () => {
  it('writes one JSON object per line with service, pid, level name and time', () => {
    const { destination, lines } = captureLogs();
    createLogger({ name: 'gateway', destination }).info({ orderId: 'o-1' }, 'order placed');
    const [line] = lines;
    assert.ok(line);
    assert.equal(line.service, 'gateway');
    assert.equal(line.pid, process.pid);
    assert.equal(line.level, 'info');
    assert.equal(line.msg, 'order placed');
    assert.equal(line.orderId, 'o-1');
    assert.ok(!Number.isNaN(Date.parse(String(line.time))));
  });

  it('honours the level', () => {
    const { destination, lines } = captureLogs();
    const logger = createLogger({ name: 'worker', level: 'warn', destination });
    logger.info('hidden');
    logger.warn('shown');
    assert.deepEqual(
      lines.map((l) => l.msg),
      ['shown'],
    );
  });

  it('carries correlation and command ids through child loggers', () => {
    const { destination, lines } = captureLogs();
    const logger = createLogger({ name: 'worker', destination });
    withContext(logger, { correlationId: 'c-1', commandId: 'cmd-9', eventId: undefined }).info('decided');
    assert.equal(lines[0]?.correlationId, 'c-1');
    assert.equal(lines[0]?.commandId, 'cmd-9');
    assert.equal(Object.hasOwn(lines[0] ?? {}, 'eventId'), false);
  });

  it('redacts credentials', () => {
    const { destination, lines } = captureLogs();
    createLogger({ name: 'gateway', destination }).info(
      { req: { headers: { authorization: 'Bearer abc' } }, user: { password: 'hunter2' } },
      'login',
    );
    const text = JSON.stringify(lines[0]);
    assert.doesNotMatch(text, /abc|hunter2/);
  });
});
