/**
 * Prometheus metrics: one registry per process, exposed at /metrics by the HTTP server.
 * A registry of our own (not prom-client's global one) keeps processes that share a Node
 * instance, such as the supervisor's one-process mode and the tests, from mixing series.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { CounterConfiguration, GaugeConfiguration, HistogramConfiguration, Metric } from 'prom-client';

export type MetricsRegistry = Registry;
export type { Counter, Gauge, Histogram } from 'prom-client';

export interface MetricsRegistryOptions {
  /** The service (role) name: a label on every series, so dashboards can split by role. */
  readonly service: string;
  /** Process metrics (CPU, memory, event-loop lag, GC); on unless turned off. */
  readonly defaultMetrics?: boolean;
}

/** Creates the process's registry, with default metrics and the `service` label. */
export function createMetricsRegistry(options: MetricsRegistryOptions): MetricsRegistry {
  const registry = new Registry();
  registry.setDefaultLabels({ service: options.service });
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  return registry;
}

type Config<C> = Omit<C, 'registers'>;
type MetricClass<M> = abstract new (...args: never[]) => M;

// Get-or-create: two modules that ask for the same metric share it instead of failing with
// "already registered", while the same name reused for another kind of metric still fails.
function getOrCreate<M extends Metric>(
  registry: Registry,
  name: string,
  kind: MetricClass<M>,
  create: () => M,
): M {
  const existing = registry.getSingleMetric(name);
  if (existing === undefined) return create();
  if (existing instanceof kind) return existing;
  throw new Error(`metric ${name} is already registered as another kind of metric`);
}

/** A counter on `registry` (get-or-create by name). */
export function counter<L extends string = string>(
  registry: Registry,
  config: Config<CounterConfiguration<L>>,
): Counter<L> {
  return getOrCreate(
    registry,
    config.name,
    Counter<L>,
    () => new Counter<L>({ ...config, registers: [registry] }),
  );
}

/** A histogram on `registry` (get-or-create by name). */
export function histogram<L extends string = string>(
  registry: Registry,
  config: Config<HistogramConfiguration<L>>,
): Histogram<L> {
  return getOrCreate(
    registry,
    config.name,
    Histogram<L>,
    () => new Histogram<L>({ ...config, registers: [registry] }),
  );
}

/** A gauge on `registry` (get-or-create by name). */
export function gauge<L extends string = string>(
  registry: Registry,
  config: Config<GaugeConfiguration<L>>,
): Gauge<L> {
  return getOrCreate(
    registry,
    config.name,
    Gauge<L>,
    () => new Gauge<L>({ ...config, registers: [registry] }),
  );
}

export type HttpRequestLabels = 'method' | 'route' | 'status';

/** Duration of HTTP requests by method, route pattern and status; observed by the HTTP server. */
export function httpRequestDuration(registry: Registry): Histogram<HttpRequestLabels> {
  return histogram<HttpRequestLabels>(registry, {
    name: 'http_request_duration_seconds',
    help: 'Duration of HTTP requests in seconds, by method, route pattern and status code',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  });
}
