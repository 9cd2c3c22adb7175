import { performance } from 'node:perf_hooks';
import { Samples, type LatencySummary } from './stats.js';

/** One operation of a worker; `n` numbers the operations of the run in the order they start. */
export type Operation = (n: number) => Promise<unknown>;

export interface LoadResult {
  /** Operations completed in the measured part. */
  readonly operations: number;
  /** Wall time of the measured part, from its start until the last worker finished. */
  readonly seconds: number;
  readonly latency: LatencySummary;
}

/** Operations per second. */
export const rate = (r: LoadResult, perOperation = 1): number => (r.operations * perOperation) / r.seconds;

export interface TimedLoad {
  readonly concurrency: number;
  readonly warmupSeconds: number;
  readonly seconds: number;
  /**
   * Makes the operation worker `index` repeats, one at a time. It is made once, so whatever state it
   * keeps (its stream, the next version) carries on from the warm-up into the measured part.
   */
  readonly worker: (index: number) => Operation;
}

/**
 * `concurrency` workers, each repeating its operation back to back: a warm-up that is not counted,
 * then a fixed duration in which every operation's latency is measured.
 */
export async function runTimed(load: TimedLoad): Promise<LoadResult> {
  const ops = Array.from({ length: load.concurrency }, (_, i) => load.worker(i));
  const counter = { next: 0 };
  if (load.warmupSeconds > 0) await drive(ops, counter, deadline(load.warmupSeconds), null);
  const samples = new Samples();
  const start = performance.now();
  await drive(ops, counter, deadline(load.seconds), samples);
  return {
    operations: samples.count,
    seconds: (performance.now() - start) / 1000,
    latency: samples.summary(),
  };
}

export interface CountedLoad {
  readonly concurrency: number;
  /** Operations to run in all, shared out to whichever worker is free. */
  readonly operations: number;
  readonly worker: (index: number) => Operation;
}

/** `concurrency` workers sharing a fixed number of operations (a fill, a full read). */
export async function runCounted(load: CountedLoad): Promise<LoadResult> {
  const ops = Array.from({ length: load.concurrency }, (_, i) => load.worker(i));
  const counter = { next: 0 };
  const samples = new Samples();
  const start = performance.now();
  await drive(ops, counter, () => counter.next < load.operations, samples);
  return {
    operations: samples.count,
    seconds: (performance.now() - start) / 1000,
    latency: samples.summary(),
  };
}

function deadline(seconds: number): () => boolean {
  const end = performance.now() + seconds * 1000;
  return () => performance.now() < end;
}

async function drive(
  ops: readonly Operation[],
  counter: { next: number },
  more: () => boolean,
  samples: Samples | null,
): Promise<void> {
  let failed = false;
  const outcomes = await Promise.allSettled(
    ops.map(async (op) => {
      try {
        while (!failed && more()) {
          const n = counter.next++;
          const t0 = performance.now();
          await op(n);
          samples?.add(performance.now() - t0);
        }
      } catch (err) {
        failed = true; // the other workers stop after their current operation
        throw err;
      }
    }),
  );
  // Every worker has stopped by now, so nothing is left running against what the caller closes next.
  const failure = outcomes.find((o) => o.status === 'rejected');
  if (failure) throw failure.reason;
}
