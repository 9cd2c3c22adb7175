import type { BenchSettings } from './settings.js';
import type { Comparison } from './report.js';

/** What a suite gets from the runner. */
export interface SuiteContext {
  /** A fresh database of this run, dropped at its end; a suite makes its own schemas in it. */
  readonly databaseUrl: string;
  readonly settings: BenchSettings;
  /** A line of progress while the run goes (stderr). */
  progress(message: string): void;
  /** A result row for the report. */
  record(comparison: Comparison): void;
  /** A remark printed under the suite's table (what was seen along the way). */
  note(text: string): void;
}

/** One group of measurements in `npm run bench`, selected by name with BENCH_ONLY. */
export interface Suite {
  readonly name: string;
  readonly title: string;
  /** Heading of the column ours is compared with ("plain SQL"). */
  readonly baseline: string;
  /** What that baseline is, printed above the suite's table. */
  readonly baselineDescription: string;
  run(ctx: SuiteContext): Promise<void>;
}
