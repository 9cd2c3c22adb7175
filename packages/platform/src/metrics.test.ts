import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { counter, createMetricsRegistry, gauge, histogram, httpRequestDuration } from './metrics.js';

describe('metrics', () => {
  it('labels every series with the service and collects default metrics', async () => {
    const registry = createMetricsRegistry({ service: 'projector' });
    counter(registry, { name: 'events_applied_total', help: 'Events applied' }).inc(3);
    const text = await registry.metrics();
    assert.match(text, /events_applied_total\{service="projector"\} 3/);
    assert.match(text, /process_cpu_user_seconds_total\{service="projector"\}/);
  });

  it('keeps processes in one Node instance apart', async () => {
    const a = createMetricsRegistry({ service: 'a', defaultMetrics: false });
    const b = createMetricsRegistry({ service: 'b', defaultMetrics: false });
    gauge(a, { name: 'queue_depth', help: 'Depth' }).set(5);
    assert.doesNotMatch(await b.metrics(), /queue_depth/);
  });

  it('returns the existing metric for a name already registered, and refuses another kind', () => {
    const registry = createMetricsRegistry({ service: 'x', defaultMetrics: false });
    assert.equal(httpRequestDuration(registry), httpRequestDuration(registry));
    const first = histogram(registry, { name: 'lag_seconds', help: 'Lag' });
    assert.equal(histogram(registry, { name: 'lag_seconds', help: 'Lag' }), first);
    assert.throws(() => counter(registry, { name: 'lag_seconds', help: 'Lag' }), /another kind/);
  });
});
