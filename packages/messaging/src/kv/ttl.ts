/**
 * A TTL as both stores apply it: whole milliseconds, rounded up so a key never expires earlier
 * than asked. Zero, negative or non-finite values are programming errors: Redis would reject
 * them and PostgreSQL would store an already-expired key, so both stores refuse them alike.
 */
export function ttlMillis(ttlMs: number | undefined): number | undefined {
  if (ttlMs === undefined) return undefined;
  if (!Number.isFinite(ttlMs) || ttlMs <= 0) {
    throw new RangeError(`ttlMs must be a positive finite number of milliseconds, got ${ttlMs}`);
  }
  return Math.ceil(ttlMs);
}
