// Pet photos' bytes, stored for real: one row per distinct content in `media.photos`, keyed by the
// SHA-256 of the bytes (content-addressed: the same upload twice is one row, and a photo's URL can
// be cached forever because its content cannot change). The type is sniffed from the magic bytes,
// never taken from the client, so a photo served back is the image it claims to be.
import { createHash } from 'node:crypto';
import type pg from 'pg';
import { AppError } from '@optic-mart/platform';
import type { photoContentTypes } from '@optic-mart/catalog';

export type PhotoContentType = (typeof photoContentTypes)[number];

export interface StoredPhoto {
  /** SHA-256 of the bytes, hex. */
  readonly id: string;
  readonly contentType: PhotoContentType;
  readonly size: number;
  /** Where the gateway serves it (relative: right behind any host or proxy). */
  readonly url: string;
}

/** The path a stored photo is served at. */
export const photoUrl = (id: string): string => `/api/photos/${id}`;

const startsWith = (bytes: Uint8Array, signature: readonly number[], offset = 0): boolean =>
  bytes.length >= offset + signature.length && signature.every((b, i) => bytes[offset + i] === b);

const ascii = (text: string): number[] => [...text].map((c) => c.charCodeAt(0));

/** The image type of `bytes` by their magic number: PNG, JPEG, GIF or WebP; null for anything else. */
export function sniffImageType(bytes: Uint8Array): PhotoContentType | null {
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'image/png';
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return 'image/jpeg';
  if (startsWith(bytes, ascii('GIF87a')) || startsWith(bytes, ascii('GIF89a'))) return 'image/gif';
  if (startsWith(bytes, ascii('RIFF')) && startsWith(bytes, ascii('WEBP'), 8)) return 'image/webp';
  return null;
}

const DDL = `
  CREATE SCHEMA IF NOT EXISTS media;
  CREATE TABLE IF NOT EXISTS media.photos (
    id           text PRIMARY KEY CHECK (id ~ '^[0-9a-f]{64}$'),
    content_type text NOT NULL,
    size         integer NOT NULL,
    bytes        bytea NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
  );`;

export interface PhotoStoreOptions {
  /** Largest photo accepted, in bytes (PHOTO_MAX_BYTES); larger ones are refused with 413. */
  readonly maxBytes: number;
}

export class PhotoStore {
  readonly maxBytes: number;
  readonly #pool: pg.Pool;

  constructor(pool: pg.Pool, options: PhotoStoreOptions) {
    this.#pool = pool;
    this.maxBytes = options.maxBytes;
  }

  /** Creates the table if needed; replicas starting together take turns (one advisory lock). */
  async migrate(): Promise<void> {
    const client = await this.#pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(`SELECT pg_advisory_xact_lock(hashtext('optic-mart media.photos'))`);
      await client.query(DDL);
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  /**
   * Stores `bytes` (once per distinct content) and returns where they are served. Refuses an
   * empty upload (400), one over the limit (413) and anything but PNG, JPEG, GIF or WebP (415).
   */
  async put(bytes: Buffer): Promise<StoredPhoto> {
    if (bytes.length === 0) throw new AppError('bad_request', 'No file uploaded: the body is empty.');
    if (bytes.length > this.maxBytes) {
      throw new AppError('payload_too_large', `A photo may be at most ${this.maxBytes} bytes.`, {
        extra: { limit: this.maxBytes },
      });
    }
    const contentType = sniffImageType(bytes);
    if (contentType === null) {
      throw new AppError('unsupported_media_type', 'A photo must be a PNG, JPEG, GIF or WebP image.');
    }
    const id = createHash('sha256').update(bytes).digest('hex');
    await this.#pool.query(
      `INSERT INTO media.photos (id, content_type, size, bytes) VALUES ($1, $2, $3, $4)
       ON CONFLICT (id) DO NOTHING`,
      [id, contentType, bytes.length, bytes],
    );
    return { id, contentType, size: bytes.length, url: photoUrl(id) };
  }

  /** The photo `id`, or null when none is stored under it. */
  async get(id: string): Promise<{ contentType: string; bytes: Buffer } | null> {
    const { rows } = await this.#pool.query<{ content_type: string; bytes: Buffer }>(
      'SELECT content_type, bytes FROM media.photos WHERE id = $1',
      [id],
    );
    const row = rows[0];
    return row === undefined ? null : { contentType: row.content_type, bytes: row.bytes };
  }
}
