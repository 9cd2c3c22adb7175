// Pet photos over the native API: upload (`POST /api/pets/{petId}/photos`, the raw image as the
// body) and serving (`GET /api/photos/{photoId}`, cacheable forever: the id is the content's hash).
// The Petstore's uploadFile (petstore/pet-routes.ts) stores photos the same way.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type {} from '@fastify/swagger';
import { AppError } from '@optic-mart/platform';
import { idSchema, petStreamId, photoContentTypes } from '@optic-mart/catalog';
import { requireRole } from '../auth/index.js';
import { replyWithOutcome } from '../command-reply.js';
import type { CommandDispatcher, Outcome } from '@optic-mart/messaging';
import type { PhotoStore, StoredPhoto } from './photo-store.js';

/** The bodies a photo upload may arrive as; the type that counts is sniffed from the bytes. */
export const photoUploadTypes = ['application/octet-stream', ...photoContentTypes] as const;

const photoIdSchema = { type: 'string', pattern: '^[0-9a-f]{64}$' } as const;

/**
 * Parses raw image bodies as Buffers in `scope` (its routes only), up to the photo limit; a
 * larger body is refused while it streams in (413), before it is buffered whole.
 */
export function acceptPhotoBodies(scope: FastifyInstance, maxBytes: number): void {
  scope.addContentTypeParser(
    [...photoUploadTypes],
    { parseAs: 'buffer', bodyLimit: maxBytes },
    (_request, body, done) => done(null, body),
  );
}

/** The uploaded bytes, or 415 when the body came as something else (JSON, text, a form). */
export function uploadedBytes(request: FastifyRequest): Buffer {
  const { body } = request;
  if (body === undefined || body === null) throw new AppError('bad_request', 'No file uploaded.');
  if (!Buffer.isBuffer(body)) {
    throw new AppError('unsupported_media_type', `Send the image as ${photoUploadTypes.join(', ')}.`);
  }
  return body;
}

/** Stores the photo and lists it on the pet (AddPetPhoto), on behalf of a seller or admin. */
export async function addPetPhoto(
  deps: { dispatcher: CommandDispatcher; photos: PhotoStore },
  request: FastifyRequest,
  petId: string,
  bytes: Buffer,
): Promise<{ photo: StoredPhoto; outcome: Outcome }> {
  const principal = requireRole(request, 'seller');
  const photo = await deps.photos.put(bytes);
  const outcome = await deps.dispatcher.dispatch({
    context: 'catalog',
    type: 'AddPetPhoto',
    aggregateId: petStreamId(petId),
    data: { photoId: photo.id, contentType: photo.contentType, url: photo.url },
    metadata: { correlationId: request.id, userId: principal.userId },
  });
  return { photo, outcome };
}

export function registerPhotoRoutes(
  app: FastifyInstance,
  deps: { dispatcher: CommandDispatcher; photos: PhotoStore },
): void {
  const { photos } = deps;

  app.get<{ Params: { photoId: string } }>(
    '/api/photos/:photoId',
    {
      schema: {
        tags: ['photos'],
        summary: 'A stored photo: its bytes, with an immutable cache lifetime',
        params: {
          type: 'object',
          additionalProperties: false,
          required: ['photoId'],
          properties: { photoId: photoIdSchema },
        },
      },
    },
    async (request, reply) => {
      const { photoId } = request.params;
      const etag = `"${photoId}"`;
      // The id is the content's hash: whoever has this ETag has these bytes.
      const cached = request.headers['if-none-match'];
      if (cached !== undefined && cached.split(',').some((t) => t.trim().replace(/^W\//, '') === etag)) {
        return reply.code(304).header('ETag', etag).send();
      }
      const photo = await photos.get(photoId);
      if (photo === null) throw new AppError('not_found', `There is no photo ${photoId}.`);
      return reply
        .header('Content-Type', photo.contentType)
        .header('ETag', etag)
        .header('Cache-Control', 'public, max-age=31536000, immutable')
        .header('X-Content-Type-Options', 'nosniff')
        .header('Content-Security-Policy', "default-src 'none'")
        .send(photo.bytes);
    },
  );

  void app.register(async (scope) => {
    acceptPhotoBodies(scope, photos.maxBytes);
    scope.post<{ Params: { petId: string } }>(
      '/api/pets/:petId/photos',
      {
        bodyLimit: photos.maxBytes,
        // Who may upload is checked before the bytes are looked at.
        preValidation: async (request) => {
          requireRole(request, 'seller');
        },
        schema: {
          tags: ['pets', 'photos'],
          summary: 'Upload a photo of a pet (PNG, JPEG, GIF or WebP, raw bytes as the body)',
          params: {
            type: 'object',
            additionalProperties: false,
            required: ['petId'],
            properties: { petId: idSchema },
          },
        },
      },
      async (request, reply) => {
        const { petId } = request.params;
        const { photo, outcome } = await addPetPhoto(deps, request, petId, uploadedBytes(request));
        return replyWithOutcome(reply, outcome, {
          status: 201,
          location: photo.url,
          body: {
            id: petId,
            photoId: photo.id,
            url: photo.url,
            contentType: photo.contentType,
            size: photo.size,
          },
        });
      },
    );
  });
}
