import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { correlationIdFrom, traceIdFrom } from './correlation-id.js';

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

describe('correlationIdFrom', () => {
  it('prefers X-Correlation-Id, then the traceparent trace id, then a new UUID', () => {
    assert.equal(correlationIdFrom({ 'x-correlation-id': 'req-42', traceparent }), 'req-42');
    assert.equal(correlationIdFrom({ traceparent }), '4bf92f3577b34da6a3ce929d0e0e4736');
    assert.match(correlationIdFrom({}), uuid);
  });

  it('ignores ids that could pollute logs', () => {
    assert.match(correlationIdFrom({ 'x-correlation-id': 'a\nlevel=error' }), uuid);
    assert.match(correlationIdFrom({ 'x-correlation-id': 'x'.repeat(129) }), uuid);
  });

  it('rejects invalid traceparent headers', () => {
    assert.equal(traceIdFrom('00-00000000000000000000000000000000-00f067aa0ba902b7-01'), undefined);
    assert.equal(traceIdFrom('ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'), undefined);
    assert.equal(traceIdFrom('garbage'), undefined);
  });
});
