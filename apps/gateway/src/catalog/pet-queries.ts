// The catalog's queries: pets and the inventory from the `pets` read model (never the event store),
// with read-your-writes: a query naming a position waits until the read model has reached it.
import type { FastifyRequest } from 'fastify';
import { AppError, isAppError, type HttpServer } from '@optic-mart/platform';
import type { ReadModels } from '@optic-mart/runtime';
import {
  idSchema,
  petStatuses,
  petStatusSchema,
  petsProjection,
  type PetStatus,
  type PetView,
} from '@optic-mart/catalog';

const PETS = petsProjection.name;
const sorts = ['id', 'name', 'status', 'category'].flatMap((s) => [s, `-${s}`]);

/** `?after=`: the position of a write (its reply's `position`) the answer must include. */
const afterSchema = { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER } as const;
const readAfterHeaders = {
  type: 'object',
  properties: { 'x-read-after': afterSchema },
} as const;

const listQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    status: petStatusSchema,
    tag: { type: 'string', minLength: 1, maxLength: 100 },
    limit: { type: 'integer', minimum: 1, maximum: 500 },
    cursor: { type: 'string', minLength: 1, maxLength: 1000 },
    sort: { type: 'string', enum: sorts },
    after: afterSchema,
  },
} as const;

const afterOnlyQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { after: afterSchema },
} as const;

const petParams = { type: 'object', required: ['petId'], properties: { petId: idSchema } } as const;

interface ReadAfter {
  Querystring: { after?: number };
  Headers: { 'x-read-after'?: number };
}

export interface PetQueryOptions {
  /** How long a query naming a position waits for the read model before 503 read_model_behind. */
  readonly readWaitMs: number;
}

/** Whether an If-None-Match header names this ETag (or `*`). */
function matches(ifNoneMatch: string | string[] | undefined, etag: string): boolean {
  if (ifNoneMatch === undefined) return false;
  const tags = (Array.isArray(ifNoneMatch) ? ifNoneMatch.join(',') : ifNoneMatch)
    .split(',')
    .map((t) => t.trim().replace(/^W\//, ''));
  return tags.includes('*') || tags.includes(etag);
}

export function registerPetQueries(app: HttpServer, readModels: ReadModels, options: PetQueryOptions): void {
  /** Read-your-writes: waits until the read model reflects the position the client names, if any. */
  const readAfter = async (request: FastifyRequest<ReadAfter>): Promise<void> => {
    const { after } = request.query;
    const header = request.headers['x-read-after'];
    const position = Math.max(after ?? -1, header ?? -1);
    if (position < 0) return;
    if (await readModels.waitForPosition(PETS, position, options.readWaitMs)) return;
    // Never a stale answer: the client asked to see its write.
    throw new AppError(
      'read_model_behind',
      `The ${PETS} read model has not reached position ${position} yet; try again shortly.`,
      { extra: { retryAfter: 1, position } },
    );
  };

  app.get<
    ReadAfter & {
      Querystring: { status?: PetStatus; tag?: string; limit?: number; cursor?: string; sort?: string };
    }
  >('/api/pets', { schema: { querystring: listQuery, headers: readAfterHeaders } }, async (request) => {
    await readAfter(request);
    const { status, tag, limit, cursor, sort } = request.query;
    try {
      const page = await readModels.find<PetView>(PETS, {
        where: { ...(status ? { status } : {}), ...(tag ? { tags: { contains: tag } } : {}) },
        ...(sort ? { sort } : {}),
        ...(limit ? { limit } : {}),
        ...(cursor ? { cursor } : {}),
      });
      return { items: page.items, nextCursor: page.nextCursor };
    } catch (err) {
      // A cursor from another sort, or not one of ours: name the query parameter.
      if (isAppError(err) && err.code === 'validation_failed' && err.errors?.[0]?.field === 'cursor') {
        throw new AppError('validation_failed', `query.cursor ${err.errors[0].message}`, {
          errors: [{ field: 'query.cursor', message: err.errors[0].message }],
        });
      }
      throw err;
    }
  });

  app.get<ReadAfter & { Params: { petId: string } }>(
    '/api/pets/:petId',
    { schema: { params: petParams, querystring: afterOnlyQuery, headers: readAfterHeaders } },
    async (request, reply) => {
      await readAfter(request);
      const { petId } = request.params;
      const pet = await readModels.get<PetView>(PETS, petId);
      if (pet === null) throw new AppError('pet_not_found', `There is no pet ${petId}.`);
      const etag = `"${pet.version}"`;
      reply.header('ETag', etag);
      if (matches(request.headers['if-none-match'], etag)) return reply.code(304).send();
      return pet;
    },
  );

  app.get<ReadAfter>(
    '/api/inventory',
    { schema: { querystring: afterOnlyQuery, headers: readAfterHeaders } },
    async (request) => {
      await readAfter(request);
      const counts = await readModels.counts(PETS, 'status');
      // Every status, at 0 when no pet has it (the Petstore's inventory is a status → count map).
      return Object.fromEntries(petStatuses.map((s) => [s, counts[s] ?? 0]));
    },
  );
}
