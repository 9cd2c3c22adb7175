import type { KeyValueStore } from './ports.js';

/** What a live worker says about itself in each heartbeat. */
export interface WorkerInfo {
  readonly workerId: string;
  readonly contexts: readonly string[];
  readonly inFlight: number;
  readonly pid: number;
  readonly host: string;
  readonly startedAt: string;
}

/** A context's workers are the members of the group `workers/<context>`. */
const PREFIX = 'workers/';

/**
 * Who is alive, per context: each worker refreshes a key with a TTL of a few heartbeats, so a
 * worker that dies (even by SIGKILL) disappears on its own. The gateway asks before it enqueues,
 * and answers 503 instead of queueing work nobody will take (seed 000, scenario 2a).
 */
export class WorkerRegistry {
  readonly #kv: KeyValueStore;
  readonly #heartbeatMs: number;
  readonly #cache = new Map<string, { at: number; workers: WorkerInfo[] }>();
  readonly #cacheMs: number;
  readonly #lookups = new Map<string, Promise<WorkerInfo[]>>();

  constructor(kv: KeyValueStore, options: { heartbeatMs?: number; cacheMs?: number } = {}) {
    this.#kv = kv;
    this.#heartbeatMs = options.heartbeatMs ?? 1000;
    this.#cacheMs = options.cacheMs ?? 250;
  }

  /** Keeps a worker registered until the returned function is called (which deregisters it at once). */
  async register(info: Omit<WorkerInfo, 'inFlight'>, inFlight: () => number): Promise<() => Promise<void>> {
    const ttlMs = this.#heartbeatMs * 3;
    const groups = info.contexts.map((c) => `${PREFIX}${c}`);
    const beat = async (): Promise<void> => {
      const value = JSON.stringify({ ...info, inFlight: inFlight() });
      await Promise.all(groups.map((g) => this.#kv.setMember(g, info.workerId, value, { ttlMs })));
    };
    await beat();
    let stopped = false;
    const timer = setInterval(() => {
      if (!stopped) beat().catch(() => undefined);
    }, this.#heartbeatMs);
    timer.unref();
    return async () => {
      stopped = true;
      clearInterval(timer);
      await Promise.all(groups.map((g) => this.#kv.deleteMember(g, info.workerId)));
    };
  }

  /** The live workers of a context (cached briefly: the gateway asks on every command). */
  async workers(context: string): Promise<WorkerInfo[]> {
    const hit = this.#cache.get(context);
    if (hit && Date.now() - hit.at < this.#cacheMs) return hit.workers;
    // Concurrent callers share one lookup (a burst of requests asks once, not once each).
    let lookup = this.#lookups.get(context);
    if (!lookup) {
      lookup = this.#lookup(context).finally(() => this.#lookups.delete(context));
      this.#lookups.set(context, lookup);
    }
    return lookup;
  }

  async #lookup(context: string): Promise<WorkerInfo[]> {
    const found = await this.#kv.members(`${PREFIX}${context}`);
    const workers = [...found.values()].map((v) => JSON.parse(v) as WorkerInfo);
    // Only a positive answer is cached: a worker that just came up must be seen at once.
    if (workers.length > 0) this.#cache.set(context, { at: Date.now(), workers });
    else this.#cache.delete(context);
    return workers;
  }

  /** Forgets cached answers (a test, or a gateway that just saw a worker appear). */
  invalidate(): void {
    this.#cache.clear();
  }
}
