/** Longest wait before a redelivery, however many attempts failed: a retry an hour away helps nobody. */
const MAX_BACKOFF_MS = 60_000;

/**
 * How long to wait before delivery `attempt + 1` after attempt `attempt` failed: `backoffMs`
 * doubled per attempt, with "equal jitter" (half fixed, half random) so that consumers failing on
 * the same cause (a database restart, say) do not all come back in the same millisecond.
 */
export function retryDelayMs(attempt: number, backoffMs: number, random: () => number = Math.random): number {
  const base = Math.min(backoffMs * 2 ** Math.max(0, attempt - 1), MAX_BACKOFF_MS);
  return Math.round(base / 2 + random() * (base / 2));
}
