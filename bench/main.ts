/**
 * `npm run bench`: Optic Mart measured against the physical limit of plain SQL on the same
 * machine, in one run, side by side. Settings: see lib/settings.ts (BENCH_QUICK=1 for a short run,
 * BENCH_ONLY=eventstore for one suite). Progress goes to stderr, the report to stdout.
 */
import { performance } from 'node:perf_hooks';
import { createDatabase, openServer, type BenchDatabase, type BenchServer } from './lib/database.js';
import * as fmt from './lib/format.js';
import { describeMachine, loadAverage } from './lib/machine.js';
import { Report } from './lib/report.js';
import { loadSettings, type BenchSettings } from './lib/settings.js';
import type { Suite } from './lib/suite.js';
import { suites } from './suites/index.js';

const progress = (message: string): void => {
  process.stderr.write(`[bench] ${message}\n`);
};

function selectSuites(settings: BenchSettings): readonly Suite[] {
  if (settings.only === null) return suites;
  const unknown = [...settings.only].filter((name) => !suites.some((s) => s.name === name));
  if (unknown.length > 0) {
    throw new Error(
      `BENCH_ONLY names no suite ${unknown.join(', ')}; suites: ${suites.map((s) => s.name).join(', ')}`,
    );
  }
  return suites.filter((s) => settings.only!.has(s.name));
}

async function main(): Promise<number> {
  const settings = loadSettings();
  const selected = selectSuites(settings);

  let server: BenchServer | undefined;
  let database: BenchDatabase | undefined;
  let cleaning: Promise<void> | undefined;
  let interrupted = false;
  const dropDatabase = async (): Promise<void> => {
    const current = database;
    database = undefined;
    await current?.drop().catch((err: unknown) => progress(`could not drop ${current.name}: ${String(err)}`));
  };
  // The database goes, and an embedded server stops, however the run ends (Ctrl-C included).
  const cleanUp = () =>
    (cleaning ??= (async () => {
      await dropDatabase();
      await server
        ?.close()
        .catch((err: unknown) => progress(`could not stop the embedded server: ${String(err)}`));
    })());
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      interrupted = true;
      progress(`${signal}: cleaning up`);
      void cleanUp().finally(() => process.exit(130));
    });
  }

  const report = new Report();
  const started = performance.now();
  let header: string[] = [];
  try {
    server = await openServer();
    header = await describeMachine(server.url);
    for (const line of header) progress(line);

    for (const suite of selected) {
      const entry = report.begin(suite);
      // Each suite gets a database of its own: what one suite wrote neither slows nor skews the next.
      database = await createDatabase(server.url);
      progress(`suite ${suite.name}: ${suite.title} (database ${database.name} on ${server.source})`);
      try {
        await suite.run({
          databaseUrl: database.url,
          settings,
          progress: (message) => progress(`${suite.name}: ${message}`),
          record: (row) => entry.rows.push(row),
          note: (text) => entry.notes.push(text),
        });
      } catch (err) {
        entry.error = err;
        if (interrupted) break; // its queries were cut off by the cleanup: nothing to say
        progress(
          `suite ${suite.name} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`,
        );
      }
      await dropDatabase();
    }
  } finally {
    await cleanUp();
  }

  const mode = settings.quick ? 'BENCH_QUICK (small, fast run: not for comparing releases)' : 'full';
  console.log(
    [
      '# Optic Mart benchmark',
      '',
      ...header.map((line) => `- ${line}`),
      `- server: ${server?.source ?? '?'}; a fresh database per suite, dropped after it`,
      `- run: ${mode}; ${settings.phaseSeconds} s per timed phase after ${settings.warmupSeconds} s warm-up; ` +
        `${fmt.count(settings.events)} events filled and read; load average ${loadAverage()} at the end; ` +
        `took ${fmt.seconds((performance.now() - started) / 1000)}`,
      '- ratio: optic-mart as a share of the baseline (100% = as fast as plain SQL)',
      '',
      report.render(),
    ].join('\n'),
  );
  return report.failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    progress(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  },
);
