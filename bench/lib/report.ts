import * as fmt from './format.js';
import type { LatencySummary } from './stats.js';
import type { Suite } from './suite.js';

/** One side of a comparison. */
export interface Measurement {
  /** The headline number, e.g. events per second. */
  readonly value: number;
  /** Its unit, e.g. `events/s`. */
  readonly unit: string;
  /** Per-operation latency, when the operation was timed one by one. */
  readonly latency?: LatencySummary;
  /** A short addition to the value, e.g. the wall time of a fill. */
  readonly note?: string;
}

/** One row of the report: ours, what it is measured against, and the goal for the ratio. */
export interface Comparison {
  readonly operation: string;
  readonly ours: Measurement;
  readonly baseline?: Measurement;
  /** The least acceptable share of the baseline (0.8 = 80%); none for rows that only inform. */
  readonly goal?: number;
  /** For times and lags: the ratio is then baseline / ours, so that above 1 still means better. */
  readonly lowerIsBetter?: boolean;
}

export interface SuiteReport {
  readonly suite: Suite;
  readonly rows: Comparison[];
  readonly notes: string[];
  error?: unknown;
}

/** Ours as a share of the baseline (higher is better either way). */
export function ratioOf(c: Comparison): number | undefined {
  if (!c.baseline || c.baseline.value === 0 || c.ours.value === 0) return undefined;
  return c.lowerIsBetter ? c.baseline.value / c.ours.value : c.ours.value / c.baseline.value;
}

export class Report {
  readonly #suites: SuiteReport[] = [];

  begin(suite: Suite): SuiteReport {
    const entry: SuiteReport = { suite, rows: [], notes: [] };
    this.#suites.push(entry);
    return entry;
  }

  /** The whole report: a table per suite, then where things stand. */
  render(): string {
    const out: string[] = [];
    for (const { suite, rows, notes, error } of this.#suites) {
      out.push(`## ${suite.title}`, '');
      out.push(`${suite.baseline}: ${suite.baselineDescription}`, '');
      if (rows.length > 0) out.push(renderTable(suite, rows), '');
      for (const note of notes) out.push(`- ${note}`);
      if (notes.length > 0) out.push('');
      if (error !== undefined) out.push(`FAILED: ${describeError(error)}`, '');
    }
    out.push(this.standing());
    return out.join('\n');
  }

  /** One line: how many goals are met, and which are not by how much. */
  standing(): string {
    const parts: string[] = [];
    for (const { suite, rows, error } of this.#suites) {
      const goals = rows.filter((r) => r.goal !== undefined);
      const below = goals.filter((r) => (ratioOf(r) ?? 0) < r.goal!);
      let part: string;
      if (goals.length === 0) part = `${suite.name}: no goals measured`;
      else if (below.length === 0) part = `${suite.name}: meets all ${goals.length} goals`;
      else {
        const misses = below
          .map((r) => `${r.operation} at ${fmt.percent(ratioOf(r) ?? 0)} (goal ${fmt.percent(r.goal!)})`)
          .join('; ');
        part = `${suite.name}: meets ${goals.length - below.length} of ${goals.length} goals; below goal: ${misses}`;
      }
      if (error !== undefined) part += ' (the suite failed part-way)';
      parts.push(part);
    }
    return `Where it stands: ${parts.join('. ') || 'nothing was run'}.`;
  }

  get failed(): boolean {
    return this.#suites.some((s) => s.error !== undefined);
  }
}

function renderTable(suite: Suite, rows: readonly Comparison[]): string {
  const header = [
    'operation',
    'optic-mart',
    'p50 / p99 ms',
    suite.baseline,
    'p50 / p99 ms',
    'ratio',
    'goal',
    '',
  ];
  const body = rows.map((r) => {
    const ratio = ratioOf(r);
    const verdict = r.goal === undefined || ratio === undefined ? '' : ratio >= r.goal ? 'ok' : 'BELOW GOAL';
    return [
      r.operation,
      value(r.ours),
      latency(r.ours),
      r.baseline ? value(r.baseline) : '—',
      r.baseline ? latency(r.baseline) : '',
      ratio === undefined ? '—' : fmt.percent(ratio),
      r.goal === undefined ? '—' : `≥ ${fmt.percent(r.goal)}`,
      verdict,
    ];
  });
  return fmt.table([header, ...body], new Set([1, 2, 3, 4, 5, 6]));
}

function value(m: Measurement): string {
  const v = m.unit.endsWith('/s') ? fmt.count(m.value) : fmt.ms(m.value);
  return `${v} ${m.unit}${m.note ? ` (${m.note})` : ''}`;
}

function latency(m: Measurement): string {
  return m.latency ? `${fmt.ms(m.latency.p50)} / ${fmt.ms(m.latency.p99)}` : '';
}

function describeError(error: unknown): string {
  if (error instanceof Error) return error.message;
  return typeof error === 'string' ? error : JSON.stringify(error);
}
