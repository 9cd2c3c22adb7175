import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Pool } from 'pg';
import { AppError } from '@optic-mart/platform';

const ALGORITHM = 'aes-256-gcm';
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** How an encrypted field is stored in an event's data. */
const ENCRYPTED_KEY = '$pii';

/**
 * Crypto-shredding: each subject's personal data is encrypted with a key of its own, kept in
 * `eventstore.subject_keys`. Erasing a subject deletes its key, after which the ciphertext in the
 * immutable log is noise and reads return those fields as null.
 */
export class PersonalDataVault {
  readonly #pool: Pool;
  readonly #keys = new Map<string, { key: Buffer | null; at: number }>();
  readonly #cacheMs: number;

  constructor(pool: Pool, options: { cacheMs?: number } = {}) {
    this.#pool = pool;
    this.#cacheMs = options.cacheMs ?? 60_000;
  }

  /** Forgets a cached key (another process erased the subject). */
  forget(subjectId: string): void {
    this.#keys.delete(subjectId);
  }

  /** The subject's key, made on first use; refuses a subject that has been erased. */
  async keyForWriting(subjectId: string): Promise<Buffer> {
    const cached = this.#cached(subjectId);
    if (cached) return cached;
    const { rows } = await this.#pool.query<{ key: Buffer | null; erased: boolean }>(
      `WITH erased AS (SELECT 1 FROM eventstore.erased_subjects WHERE subject_id = $1),
            made AS (
              INSERT INTO eventstore.subject_keys (subject_id, key)
              SELECT $1, $2 WHERE NOT EXISTS (SELECT 1 FROM erased)
              ON CONFLICT (subject_id) DO NOTHING RETURNING key)
       SELECT coalesce((SELECT key FROM made), (SELECT key FROM eventstore.subject_keys WHERE subject_id = $1)) AS key,
              EXISTS (SELECT 1 FROM erased) AS erased`,
      [subjectId, randomBytes(32)],
    );
    const row = rows[0];
    if (!row || row.erased || !row.key) {
      throw new AppError('subject_erased', `the personal data of subject ${subjectId} was erased`);
    }
    this.#keys.set(subjectId, { key: row.key, at: Date.now() });
    return row.key;
  }

  /** Keys of the given subjects; an erased subject maps to null. */
  async keysForReading(subjectIds: Iterable<string>): Promise<Map<string, Buffer | null>> {
    const out = new Map<string, Buffer | null>();
    const missing: string[] = [];
    for (const id of new Set(subjectIds)) {
      const hit = this.#keys.get(id);
      if (hit && Date.now() - hit.at < this.#cacheMs) out.set(id, hit.key);
      else missing.push(id);
    }
    if (missing.length > 0) {
      const { rows } = await this.#pool.query<{ subject_id: string; key: Buffer }>(
        'SELECT subject_id, key FROM eventstore.subject_keys WHERE subject_id = ANY ($1)',
        [missing],
      );
      const found = new Map(rows.map((r) => [r.subject_id, r.key]));
      for (const id of missing) {
        const key = found.get(id) ?? null;
        this.#keys.set(id, { key, at: Date.now() });
        out.set(id, key);
      }
    }
    return out;
  }

  #cached(subjectId: string): Buffer | null {
    const hit = this.#keys.get(subjectId);
    return hit?.key && Date.now() - hit.at < this.#cacheMs ? hit.key : null;
  }
}

/** Returns `data` with the named top-level fields encrypted under `key`. */
export function encryptFields(data: unknown, fields: readonly string[], key: Buffer): unknown {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new AppError('validation_failed', 'personal data fields need an object as event data');
  }
  const out: Record<string, unknown> = { ...(data as Record<string, unknown>) };
  for (const field of fields) {
    if (!(field in out)) continue;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv(ALGORITHM, key, iv);
    const plain = Buffer.from(JSON.stringify(out[field]), 'utf8');
    const sealed = Buffer.concat([cipher.update(plain), cipher.final()]);
    out[field] = { [ENCRYPTED_KEY]: Buffer.concat([iv, cipher.getAuthTag(), sealed]).toString('base64') };
  }
  return out;
}

/** Returns `data` with the named fields decrypted, or set to null when the key is gone. */
export function decryptFields(data: unknown, fields: readonly string[], key: Buffer | null): unknown {
  if (typeof data !== 'object' || data === null) return data;
  const out: Record<string, unknown> = { ...(data as Record<string, unknown>) };
  for (const field of fields) {
    const value = out[field];
    if (typeof value !== 'object' || value === null || !(ENCRYPTED_KEY in value)) continue;
    if (!key) {
      out[field] = null;
      continue;
    }
    const raw = Buffer.from(String((value as Record<string, unknown>)[ENCRYPTED_KEY]), 'base64');
    const decipher = createDecipheriv(ALGORITHM, key, raw.subarray(0, IV_BYTES));
    decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    const plain = Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]);
    out[field] = JSON.parse(plain.toString('utf8')) as unknown;
  }
  return out;
}
