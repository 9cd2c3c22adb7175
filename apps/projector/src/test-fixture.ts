// Test support: the projector role running projections that count each stream's events, for the
// crash tests (spawned as a real process). `--projections a,b --category tally`.
import { createLogger, createShutdown } from '@optic-mart/platform';
import type { DocumentProjection } from '@optic-mart/runtime';
import { start } from './main.js';

export interface Tally {
  readonly count: number;
  readonly last: number;
}

/** Counts each stream's events: an event applied twice makes count > last, one missed count < last. */
export function tallyProjection(name: string, category: string): DocumentProjection<Tally> {
  return {
    name,
    version: 1,
    category,
    events: ['Counted'],
    documentId: (e) => e.streamId,
    apply: (doc, e) => ({ count: (doc?.count ?? 0) + 1, last: e.version }),
    columns: { count: { type: 'bigint', value: (d) => d.count } },
    counters: { all: () => 'all' },
    topics: (id) => [name, `${name}/${id}`],
  };
}

function option(args: readonly string[], name: string): string {
  const i = args.indexOf(`--${name}`);
  const value = i >= 0 ? args[i + 1] : undefined;
  if (value === undefined) throw new Error(`--${name} is required`);
  return value;
}

const args = process.argv.slice(2);
if (args.includes('--projections')) {
  const category = option(args, 'category');
  const projections = option(args, 'projections')
    .split(',')
    .map((name) => tallyProjection(name, category));
  const role = await start(undefined, [], { projections });
  const shutdown = createShutdown({ logger: createLogger({ name: 'projector' }) });
  shutdown.onShutdown('projector', () => role.stop());
}
