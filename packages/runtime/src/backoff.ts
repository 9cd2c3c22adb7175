/** How a version-conflict retry waits. */
export interface BackoffOptions {
  /** Most attempts in all (the first one included). Default 10. */
  readonly maxAttempts?: number;
  /** Upper bound of the first wait, doubled per attempt. Default 10 ms. */
  readonly baseDelayMs?: number;
  /** Upper bound of any wait. Default 500 ms. */
  readonly maxDelayMs?: number;
}

/**
 * The wait after failed attempt `attempt` (1-based): uniformly random up to an exponentially
 * growing cap ("full jitter"). Without jitter, writers that collided once wake together and
 * collide again; the random spread lets one of them win each round.
 */
export function backoffDelay(attempt: number, options: BackoffOptions = {}, random = Math.random): number {
  const base = options.baseDelayMs ?? 10;
  const max = options.maxDelayMs ?? 500;
  const cap = Math.min(max, base * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * cap);
}
