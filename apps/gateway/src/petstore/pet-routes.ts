// The Petstore's pet operations on the catalog: writes are the catalog's pet commands (CreatePet,
// UpdatePet, DeletePet, AddPetPhoto) sent through the dispatcher on behalf of a seller or admin;
// reads come from the `pets` read model. A write answers only once the read model reflects it, so a
// Petstore client (which knows nothing of positions) reads its own writes on the next request.
import { randomInt } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError } from '@optic-mart/platform';
import {
  nameSchema,
  petStatuses,
  petStreamId,
  petsProjection,
  type PetStatus,
  type PetView,
} from '@optic-mart/catalog';
import { onlyRoles, requireRole } from '../auth/index.js';
import { appliedPosition, sendCommand } from '../command-reply.js';
import { reachPosition } from '../read-support.js';
import { acceptPhotoBodies, addPetPhoto, uploadedBytes } from '../photos/photo-routes.js';
import { petstoreIdParam, petstoreSchemas } from './contract.js';
import type { PetstoreDeps } from './deps.js';
import { sendPetstore } from './negotiate.js';

const PETS = petsProjection.name;
/** Most pets one findByStatus / findByTags answer lists (the contract has no paging). */
export const MAX_FOUND_PETS = 1000;
const PAGE = 500;

/** A pet as the contract shapes it. */
export interface PetstorePet {
  id: number;
  name: string;
  category?: { id?: number; name: string };
  photoUrls: string[];
  tags: { id?: number; name: string }[];
  status: PetStatus;
}

interface PetstorePetBody {
  id?: number;
  name: string;
  category?: { id?: number; name: string };
  photoUrls: string[];
  tags?: { id?: number; name: string }[];
  status?: PetStatus;
}

/** Ids the contract can carry: the catalog mints decimal integers; any other id is not a Petstore pet. */
const isPetstoreId = (id: string): boolean =>
  /^[1-9]\d{0,15}$/.test(id) && Number(id) <= Number.MAX_SAFE_INTEGER;

const label = ({ id, name }: { id?: number; name: string }) => (id === undefined ? { name } : { id, name });

export function toPetstorePet(pet: PetView): PetstorePet {
  return {
    id: Number(pet.id),
    name: pet.name,
    ...(pet.category ? { category: label(pet.category) } : {}),
    photoUrls: [...pet.photoUrls],
    tags: pet.tags.map(label),
    status: pet.status,
  };
}

const newPetId = (): string => String(randomInt(1, 2 ** 48 - 1));

const petIdParams = {
  type: 'object',
  additionalProperties: false,
  required: ['petId'],
  properties: { petId: petstoreIdParam },
} as const;

/** `?status=a,b&status=c` or `?tags=…`: repeated and comma-separated values, bounded. */
const listParam = (maxItems: number) =>
  ({ type: 'array', maxItems, items: { type: 'string', maxLength: 500 } }) as const;

function splitList(values: readonly string[] | undefined, field: string, max: number): string[] {
  const items = [...new Set((values ?? []).flatMap((v) => v.split(',')).map((v) => v.trim()))].filter(
    Boolean,
  );
  if (items.length > max) {
    throw new AppError('validation_failed', `${field} may list at most ${max} values.`, {
      errors: [{ field, message: `must have at most ${max} values` }],
    });
  }
  return items;
}

const onlySellers = onlyRoles('seller');

export function registerPetstorePetRoutes(v3: FastifyInstance, deps: PetstoreDeps): void {
  const { dispatcher, readModels, readWaitMs } = deps;

  /** The pet as the read model has it once it reflects `position` (the write just made). */
  const petAfter = async (petId: string, position: number): Promise<PetView | null> => {
    await reachPosition(readModels, PETS, position, readWaitMs);
    return readModels.get<PetView>(PETS, petId);
  };

  const send = (
    request: FastifyRequest,
    type: string,
    petId: string,
    data: unknown,
    expectedVersion?: number,
  ) =>
    sendCommand(dispatcher, request, requireRole(request, 'seller'), {
      context: 'catalog',
      type,
      aggregateId: petStreamId(petId),
      data,
      ...(expectedVersion !== undefined ? { expectedVersion } : {}),
    });

  const found = (pet: PetView | null, petId: string): PetView => {
    if (pet === null) throw new AppError('pet_not_found', `There is no pet ${petId}.`);
    return pet;
  };

  const details = (body: PetstorePetBody) => ({
    name: body.name,
    ...(body.category ? { category: body.category } : {}),
    ...(body.tags ? { tags: body.tags } : {}),
    photoUrls: body.photoUrls,
    ...(body.status ? { status: body.status } : {}),
  });

  // addPet: a client's id (1 … 2^53 - 1) is honoured, one that exists is refused (409); none, or 0
  // (what generated clients send for "unset"), and the catalog mints one.
  v3.post<{ Body: PetstorePetBody }>(
    '/pet',
    {
      config: { operationId: 'addPet' },
      preValidation: onlySellers,
      schema: { body: petstoreSchemas.Pet },
    },
    async (request, reply) => {
      const petId = request.body.id ? String(request.body.id) : newPetId();
      const position = appliedPosition(await send(request, 'CreatePet', petId, details(request.body)));
      const pet = found(await petAfter(petId, position), petId);
      return sendPetstore(request, reply, 'Pet', toPetstorePet(pet));
    },
  );

  // updatePet: replaces name, category, tags and photoUrls of the pet `id` names; an omitted status
  // is unchanged.
  v3.put<{ Body: PetstorePetBody }>(
    '/pet',
    {
      config: { operationId: 'updatePet' },
      preValidation: onlySellers,
      schema: { body: petstoreSchemas.Pet },
    },
    async (request, reply) => {
      const { id } = request.body;
      if (!id) {
        throw new AppError('validation_failed', 'Invalid ID supplied: updatePet needs the pet id.', {
          errors: [{ field: 'body.id', message: 'is required' }],
        });
      }
      const petId = String(id);
      const position = appliedPosition(await send(request, 'UpdatePet', petId, details(request.body)));
      const pet = found(await petAfter(petId, position), petId);
      return sendPetstore(request, reply, 'Pet', toPetstorePet(pet));
    },
  );

  /** Every pet matching one read-model filter, up to MAX_FOUND_PETS, in id order. */
  const collect = async (
    where: Record<string, string | { contains: string }>,
    into: Map<string, PetView>,
  ) => {
    let cursor: string | undefined;
    do {
      const page = await readModels.find<PetView>(PETS, {
        where,
        limit: PAGE,
        ...(cursor ? { cursor } : {}),
      });
      for (const pet of page.items) {
        if (into.size >= MAX_FOUND_PETS) return;
        if (isPetstoreId(pet.id)) into.set(pet.id, pet);
      }
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined);
  };

  v3.get<{ Querystring: { status?: string[] } }>(
    '/pet/findByStatus',
    {
      config: { operationId: 'findPetsByStatus' },
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { status: listParam(petStatuses.length) },
        },
      },
    },
    async (request, reply) => {
      const statuses = splitList(request.query.status, 'query.status', petStatuses.length);
      const bad = statuses.filter((s) => !(petStatuses as readonly string[]).includes(s));
      if (bad.length > 0) {
        throw new AppError('validation_failed', `Invalid status value: ${bad.join(', ')}.`, {
          errors: [{ field: 'query.status', message: `must be one of ${petStatuses.join(', ')}` }],
        });
      }
      const pets = new Map<string, PetView>();
      for (const status of statuses.length > 0 ? statuses : ['available']) await collect({ status }, pets);
      return sendPetstore(request, reply, ['Pet'], [...pets.values()].map(toPetstorePet));
    },
  );

  v3.get<{ Querystring: { tags?: string[] } }>(
    '/pet/findByTags',
    {
      config: { operationId: 'findPetsByTags' },
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { tags: listParam(20) },
        },
      },
    },
    async (request, reply) => {
      const tags = splitList(request.query.tags, 'query.tags', 20);
      const tooLong = tags.find((t) => t.length > nameSchema.maxLength);
      if (tooLong !== undefined) {
        throw new AppError('validation_failed', 'Invalid tag value: a tag is at most 100 characters.', {
          errors: [
            { field: 'query.tags', message: `must be at most ${nameSchema.maxLength} characters each` },
          ],
        });
      }
      const pets = new Map<string, PetView>();
      for (const tag of tags) await collect({ tags: { contains: tag } }, pets);
      const list = [...pets.values()].sort((a, b) => Number(a.id) - Number(b.id));
      return sendPetstore(request, reply, ['Pet'], list.map(toPetstorePet));
    },
  );

  v3.get<{ Params: { petId: number } }>(
    '/pet/:petId',
    { config: { operationId: 'getPetById' }, schema: { params: petIdParams } },
    async (request, reply) => {
      const petId = String(request.params.petId);
      const pet = found(await readModels.get<PetView>(PETS, petId), petId);
      return sendPetstore(request, reply, 'Pet', toPetstorePet(pet));
    },
  );

  // updatePetWithForm: name and status from the query (as the contract has them) or, as Petstore
  // v2 clients send them, from a form body. The rest of the pet stays as it is: the command names
  // the version read, and a change in between makes it read and try again.
  v3.post<{
    Params: { petId: number };
    Querystring: { name?: string; status?: PetStatus };
    Body: { name?: string; status?: PetStatus } | undefined;
  }>(
    '/pet/:petId',
    {
      config: { operationId: 'updatePetWithForm' },
      preValidation: onlySellers,
      schema: {
        params: petIdParams,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { name: nameSchema, status: { type: 'string', enum: petStatuses } },
        },
      },
    },
    async (request, reply) => {
      const petId = String(request.params.petId);
      const form = formFields(request.body);
      const name = request.query.name ?? form.name;
      const status = request.query.status ?? form.status;
      for (let attempt = 1; ; attempt++) {
        const pet = found(await readModels.get<PetView>(PETS, petId), petId);
        if (name === undefined && status === undefined)
          return sendPetstore(request, reply, 'Pet', toPetstorePet(pet));
        const data = {
          name: name ?? pet.name,
          ...(pet.category ? { category: pet.category } : {}),
          tags: pet.tags,
          photoUrls: pet.photoUrls,
          ...(status !== undefined ? { status } : {}),
        };
        const outcome = await send(request, 'UpdatePet', petId, data, pet.version);
        const stale =
          outcome.kind === 'completed' &&
          outcome.status.status === 'failed' &&
          outcome.status.error.code === 'version_mismatch';
        if (stale && attempt < 3) {
          // The read model is behind the pet's stream: give it a moment, then read again.
          await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
          continue;
        }
        const updated = found(await petAfter(petId, appliedPosition(outcome)), petId);
        return sendPetstore(request, reply, 'Pet', toPetstorePet(updated));
      }
    },
  );

  v3.delete<{ Params: { petId: number } }>(
    '/pet/:petId',
    {
      config: { operationId: 'deletePet' },
      preValidation: onlySellers,
      schema: {
        params: petIdParams,
        headers: { type: 'object', properties: { api_key: { type: 'string', maxLength: 4096 } } },
      },
    },
    async (request, reply) => {
      const petId = String(request.params.petId);
      const position = appliedPosition(await send(request, 'DeletePet', petId, {}));
      await petAfter(petId, position);
      // The contract's 200 "Pet deleted" has no content.
      return reply.code(200).send();
    },
  );

  // uploadFile: the raw image as the body (application/octet-stream, or its image type).
  void v3.register(async (scope) => {
    acceptPhotoBodies(scope, deps.photos.maxBytes);
    scope.post<{ Params: { petId: number }; Querystring: { additionalMetadata?: string } }>(
      '/pet/:petId/uploadImage',
      {
        config: { operationId: 'uploadFile' },
        bodyLimit: deps.photos.maxBytes,
        preValidation: onlySellers,
        schema: {
          params: petIdParams,
          querystring: {
            type: 'object',
            additionalProperties: false,
            properties: { additionalMetadata: { type: 'string', maxLength: 1000 } },
          },
        },
      },
      async (request, reply) => {
        const petId = String(request.params.petId);
        const { photo, outcome } = await addPetPhoto(deps, request, petId, uploadedBytes(request));
        await petAfter(petId, appliedPosition(outcome));
        const { additionalMetadata } = request.query;
        const message =
          `stored ${photo.size} bytes of ${photo.contentType} at ${photo.url}` +
          (additionalMetadata ? `; additionalMetadata: ${additionalMetadata}` : '');
        return sendPetstore(
          request,
          reply,
          'ApiResponse',
          { code: 200, type: photo.contentType, message },
          { xml: false },
        );
      },
    );
  });
}

/** name and status of a form body sent to updatePetWithForm (only those; anything else is refused). */
function formFields(body: unknown): { name?: string; status?: PetStatus } {
  if (body === undefined || body === null) return {};
  if (typeof body !== 'object')
    throw new AppError('bad_request', 'Send name and status as query parameters.');
  const fields = body as Record<string, unknown>;
  const errors = Object.keys(fields)
    .filter((k) => k !== 'name' && k !== 'status')
    .map((k) => ({ field: `body.${k}`, message: 'is not allowed' }));
  const { name, status } = fields;
  if (
    name !== undefined &&
    (typeof name !== 'string' || !/\S/.test(name) || name.length > nameSchema.maxLength)
  ) {
    errors.push({ field: 'body.name', message: 'must be 1 to 100 characters' });
  }
  if (status !== undefined && !(petStatuses as readonly unknown[]).includes(status)) {
    errors.push({ field: 'body.status', message: `must be one of ${petStatuses.join(', ')}` });
  }
  if (errors.length > 0) {
    throw new AppError('validation_failed', 'Invalid input.', { errors });
  }
  return {
    ...(typeof name === 'string' ? { name } : {}),
    ...(typeof status === 'string' ? { status: status as PetStatus } : {}),
  };
}
