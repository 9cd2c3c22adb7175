// What the queries share: read-your-writes (`?after=` / `X-Read-After`), ETags, paging, and a bad
// cursor named as the query parameter it came in.
import type { FastifyRequest } from 'fastify';
import { AppError, isAppError } from '@optic-mart/platform';
import type { ReadModels } from '@optic-mart/runtime';

/** `?after=`: the position of a write (its reply's `position`) the answer must include. */
export const afterSchema = { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER } as const;

export const readAfterHeaders = {
  type: 'object',
  properties: { 'x-read-after': afterSchema },
} as const;

export const pagingProperties = {
  limit: { type: 'integer', minimum: 1, maximum: 500 },
  cursor: { type: 'string', minLength: 1, maxLength: 1000 },
  after: afterSchema,
} as const;

export interface ReadAfter {
  Querystring: { after?: number };
  Headers: { 'x-read-after'?: number };
}

/** `?after=` alone, for queries of one resource. */
export const afterOnlyQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { after: afterSchema },
} as const;

/**
 * Waits until read model `name` has applied the log up to `position` (a write's reply). Never a
 * stale answer: after `waitMs` it is 503 read_model_behind with Retry-After, or a 400 when no write
 * ever had that position (it lies beyond the end of the log), which no wait would cure.
 */
export async function reachPosition(
  readModels: ReadModels,
  name: string,
  position: number,
  waitMs: number,
): Promise<void> {
  if (await readModels.waitForPosition(name, position, waitMs)) return;
  const head = await readModels.logHead();
  if (position > head) {
    throw new AppError('validation_failed', `Position ${position} is beyond the end of the log (${head}).`, {
      errors: [
        { field: 'query.after', message: `must be a position a write answered with (at most ${head})` },
      ],
    });
  }
  throw new AppError(
    'read_model_behind',
    `The ${name} read model has not reached position ${position} yet; try again shortly.`,
    { extra: { retryAfter: 1, position } },
  );
}

/** Read-your-writes: waits for the position the request names (`?after=`, X-Read-After), if any. */
export async function readAfter(
  readModels: ReadModels,
  name: string,
  request: FastifyRequest<ReadAfter>,
  waitMs: number,
): Promise<void> {
  const position = Math.max(request.query.after ?? -1, request.headers['x-read-after'] ?? -1);
  if (position >= 0) await reachPosition(readModels, name, position, waitMs);
}

/** A `sort` query value (`name`, `-price`) as a read-model sort over its column. */
export function sortBy(sort: string, columns: Readonly<Record<string, string>>, fallback: string): string {
  const descending = sort.startsWith('-');
  const column = columns[descending ? sort.slice(1) : sort] ?? fallback;
  return descending ? `-${column}` : column;
}

/** Whether an If-None-Match header names this ETag (or `*`). */
export function etagMatches(ifNoneMatch: string | string[] | undefined, etag: string): boolean {
  if (ifNoneMatch === undefined) return false;
  const tags = (Array.isArray(ifNoneMatch) ? ifNoneMatch.join(',') : ifNoneMatch)
    .split(',')
    .map((t) => t.trim().replace(/^W\//, ''));
  return tags.includes('*') || tags.includes(etag);
}

/** Runs a paged query, naming a cursor this API did not give out as `query.cursor`. */
export async function withCursorField<T>(query: () => Promise<T>): Promise<T> {
  try {
    return await query();
  } catch (err) {
    if (isAppError(err) && err.code === 'validation_failed' && err.errors?.[0]?.field === 'cursor') {
      throw new AppError('validation_failed', `query.cursor ${err.errors[0].message}`, {
        errors: [{ field: 'query.cursor', message: err.errors[0].message }],
      });
    }
    throw err;
  }
}
