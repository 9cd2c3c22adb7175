import { randomInt } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { HttpServer } from '@optic-mart/platform';
import { createPetSchema, idSchema, petStreamId, updatePetSchema } from '@optic-mart/catalog';
import { replyWithOutcome, sendCommand } from '../command-reply.js';
import { onlyRoles, requireRole } from '../auth/index.js';
import type { CommandDispatcher } from '@optic-mart/messaging';

const petParams = { type: 'object', required: ['petId'], properties: { petId: idSchema } } as const;

/** A new pet's id: a random integer (the Petstore API's ids are integers), as text. */
const newPetId = (): string => String(randomInt(1, 2 ** 48 - 1));

/**
 * The catalog's native pet commands, for sellers and admins: each becomes a command for the
 * catalog's workers, and its reply carries the version (ETag) and position (for read-your-writes).
 * Reads: pet-queries.ts.
 */
export function registerPetRoutes(app: HttpServer, dispatcher: CommandDispatcher): void {
  const sellers = onlyRoles('seller');
  const send = (request: FastifyRequest, type: string, petId: string, data: unknown) =>
    sendCommand(dispatcher, request, requireRole(request, 'seller'), {
      context: 'catalog',
      type,
      aggregateId: petStreamId(petId),
      data,
    });

  app.post<{ Body: Record<string, unknown> }>(
    '/api/pets',
    { schema: { body: createPetSchema }, preValidation: sellers },
    async (request, reply) => {
      const petId = newPetId();
      const outcome = await send(request, 'CreatePet', petId, request.body);
      return replyWithOutcome(reply, outcome, {
        status: 201,
        location: `/api/pets/${petId}`,
        body: { id: petId },
      });
    },
  );

  app.put<{ Params: { petId: string }; Body: Record<string, unknown> }>(
    '/api/pets/:petId',
    { schema: { params: petParams, body: updatePetSchema }, preValidation: sellers },
    async (request, reply) => {
      const { petId } = request.params;
      const outcome = await send(request, 'UpdatePet', petId, request.body);
      return replyWithOutcome(reply, outcome, {
        status: 200,
        location: `/api/pets/${petId}`,
        body: { id: petId },
      });
    },
  );

  app.delete<{ Params: { petId: string } }>(
    '/api/pets/:petId',
    { schema: { params: petParams }, preValidation: sellers },
    async (request, reply) => {
      const { petId } = request.params;
      const outcome = await send(request, 'DeletePet', petId, {});
      return replyWithOutcome(reply, outcome, {
        status: 200,
        location: `/api/pets/${petId}`,
        body: { id: petId },
      });
    },
  );
}
