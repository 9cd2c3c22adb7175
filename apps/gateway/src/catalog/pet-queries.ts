// The catalog's queries: pets and the inventory from the `pets` read model (never the event store),
// with read-your-writes: a query naming a position waits until the read model has reached it.
import { AppError, type HttpServer } from '@optic-mart/platform';
import type { ReadModels } from '@optic-mart/runtime';
import {
  idSchema,
  petStatuses,
  petStatusSchema,
  petsProjection,
  type PetStatus,
  type PetView,
} from '@optic-mart/catalog';
import {
  afterOnlyQuery,
  etagMatches,
  pagingProperties,
  readAfter,
  readAfterHeaders,
  withCursorField,
  type ReadAfter,
} from '../read-support.js';

const PETS = petsProjection.name;
const sorts = ['id', 'name', 'status', 'category'].flatMap((s) => [s, `-${s}`]);

const listQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    status: petStatusSchema,
    tag: { type: 'string', minLength: 1, maxLength: 100 },
    sort: { type: 'string', enum: sorts },
    ...pagingProperties,
  },
} as const;

const petParams = { type: 'object', required: ['petId'], properties: { petId: idSchema } } as const;

export interface PetQueryOptions {
  /** How long a query naming a position waits for the read model before 503 read_model_behind. */
  readonly readWaitMs: number;
}

export function registerPetQueries(app: HttpServer, readModels: ReadModels, options: PetQueryOptions): void {
  const { readWaitMs } = options;

  app.get<
    ReadAfter & {
      Querystring: { status?: PetStatus; tag?: string; limit?: number; cursor?: string; sort?: string };
    }
  >('/api/pets', { schema: { querystring: listQuery, headers: readAfterHeaders } }, async (request) => {
    await readAfter(readModels, PETS, request, readWaitMs);
    const { status, tag, limit, cursor, sort } = request.query;
    const page = await withCursorField(() =>
      readModels.find<PetView>(PETS, {
        where: { ...(status ? { status } : {}), ...(tag ? { tags: { contains: tag } } : {}) },
        ...(sort ? { sort } : {}),
        ...(limit ? { limit } : {}),
        ...(cursor ? { cursor } : {}),
      }),
    );
    return { items: page.items, nextCursor: page.nextCursor };
  });

  app.get<ReadAfter & { Params: { petId: string } }>(
    '/api/pets/:petId',
    { schema: { params: petParams, querystring: afterOnlyQuery, headers: readAfterHeaders } },
    async (request, reply) => {
      await readAfter(readModels, PETS, request, readWaitMs);
      const { petId } = request.params;
      const pet = await readModels.get<PetView>(PETS, petId);
      if (pet === null) throw new AppError('pet_not_found', `There is no pet ${petId}.`);
      const etag = `"${pet.version}"`;
      reply.header('ETag', etag);
      if (etagMatches(request.headers['if-none-match'], etag)) return reply.code(304).send();
      return pet;
    },
  );

  app.get<ReadAfter>(
    '/api/inventory',
    { schema: { querystring: afterOnlyQuery, headers: readAfterHeaders } },
    async (request) => {
      await readAfter(readModels, PETS, request, readWaitMs);
      const counts = await readModels.counts(PETS, 'status');
      // Every status, at 0 when no pet has it (the Petstore's inventory is a status → count map).
      return Object.fromEntries(petStatuses.map((s) => [s, counts[s] ?? 0]));
    },
  );
}
