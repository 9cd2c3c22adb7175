// The native reviews API: any logged-in user reviews a product once (rating 1 to 5 and text), and
// edits or deletes their own review; an admin may delete anyone's. Each review is the aggregate
// `review-<sku>-<userId>`; the list comes from the `reviews` read model.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError, type HttpServer } from '@optic-mart/platform';
import type { EventStore } from '@optic-mart/eventstore';
import {
  productDecider,
  productStreamId,
  productsProjection,
  reviewBodySchema,
  reviewDocumentId,
  reviewStreamId,
  reviewsProjection,
  skuSchema,
  userIdSchema,
  type ProductEvent,
  type ProductView,
  type ReviewView,
} from '@optic-mart/catalog';
import { mayAct, onlyRoles, requireUser } from '../auth/index.js';
import { replyWithOutcome } from '../command-reply.js';
import { sendCommand } from '../command-reply.js';
import { skuParams, type CatalogRouteOptions } from './product-routes.js';
import {
  afterOnlyQuery,
  etagMatches,
  pagingProperties,
  readAfter,
  type ReadAfter,
  readAfterHeaders,
  sortBy,
  withCursorField,
} from '../read-support.js';

const REVIEWS = reviewsProjection.name;
const PRODUCTS = productsProjection.name;

const reviewParams = {
  type: 'object',
  additionalProperties: false,
  required: ['sku', 'userId'],
  properties: { sku: skuSchema, userId: userIdSchema },
} as const;

// API sort names → read model columns.
const sortColumns: Readonly<Record<string, string>> = { createdAt: 'created_at', rating: 'rating' };
const sorts = Object.keys(sortColumns).flatMap((s) => [s, `-${s}`]);

const listQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { sort: { type: 'string', enum: sorts, default: '-createdAt' }, ...pagingProperties },
} as const;

const loggedIn = onlyRoles();

export interface ReviewRouteOptions extends CatalogRouteOptions {
  /** The write side's store: whether a product may be reviewed is read from its stream, not a read model that may lag. */
  readonly store: EventStore;
}

export function registerReviewRoutes(app: HttpServer, options: ReviewRouteOptions): void {
  const { dispatcher, readModels, readWaitMs, store } = options;

  /** Refuses a review of a product that does not exist (404) or is discontinued (409). */
  const reviewable = async (sku: string): Promise<void> => {
    const { state } = await store.aggregate(productStreamId(sku), {
      initialState: productDecider.initialState,
      evolve: (s, e) => productDecider.evolve(s, e as unknown as ProductEvent),
    });
    if (state.kind === 'none') throw new AppError('product_not_found', `There is no product ${sku}.`);
    if (state.kind === 'discontinued') {
      throw new AppError('product_discontinued', `Product ${sku} is discontinued; it takes no new reviews.`);
    }
  };

  app.post<{ Params: { sku: string }; Body: { rating: number; text?: string } }>(
    '/api/products/:sku/reviews',
    {
      schema: {
        tags: ['reviews'],
        summary: 'Review a product (once per user)',
        params: skuParams,
        body: reviewBodySchema,
      },
      preValidation: loggedIn,
    },
    async (request, reply) => {
      const principal = requireUser(request);
      const { sku } = request.params;
      await reviewable(sku);
      const outcome = await sendCommand(dispatcher, request, principal, {
        context: 'catalog',
        type: 'CreateReview',
        aggregateId: reviewStreamId(sku, principal.userId),
        data: request.body,
      });
      return replyWithOutcome(reply, outcome, {
        status: 201,
        location: `/api/products/${sku}/reviews/${principal.userId}`,
        body: { sku, userId: principal.userId },
      });
    },
  );

  app.put<{ Params: { sku: string }; Body: { rating: number; text?: string } }>(
    '/api/products/:sku/reviews/mine',
    {
      schema: { tags: ['reviews'], summary: 'Edit your review', params: skuParams, body: reviewBodySchema },
      preValidation: loggedIn,
    },
    async (request, reply) => {
      const principal = requireUser(request);
      const { sku } = request.params;
      const outcome = await sendCommand(dispatcher, request, principal, {
        context: 'catalog',
        type: 'UpdateReview',
        aggregateId: reviewStreamId(sku, principal.userId),
        data: request.body,
      });
      return replyWithOutcome(reply, outcome, {
        status: 200,
        location: `/api/products/${sku}/reviews/${principal.userId}`,
        body: { sku, userId: principal.userId },
      });
    },
  );

  const deleteReview = (request: FastifyRequest, reply: FastifyReply, sku: string, userId: string) => {
    const principal = requireUser(request);
    return sendCommand(dispatcher, request, principal, {
      context: 'catalog',
      type: 'DeleteReview',
      aggregateId: reviewStreamId(sku, userId),
      data: {},
    }).then((outcome) =>
      replyWithOutcome(reply, outcome, {
        status: 200,
        location: `/api/products/${sku}/reviews/${userId}`,
        body: { sku, userId },
      }),
    );
  };

  app.delete<{ Params: { sku: string } }>(
    '/api/products/:sku/reviews/mine',
    {
      schema: { tags: ['reviews'], summary: 'Delete your review', params: skuParams },
      preValidation: loggedIn,
    },
    async (request, reply) => deleteReview(request, reply, request.params.sku, requireUser(request).userId),
  );

  app.delete<{ Params: { sku: string; userId: string } }>(
    '/api/products/:sku/reviews/:userId',
    {
      schema: {
        tags: ['reviews'],
        summary: "Delete a user's review (its author or an admin)",
        params: reviewParams,
      },
      preValidation: loggedIn,
    },
    async (request, reply) => {
      const { sku, userId } = request.params;
      if (!mayAct(requireUser(request), userId)) {
        throw new AppError('forbidden', "Only its author or an admin may delete someone's review.");
      }
      return deleteReview(request, reply, sku, userId);
    },
  );

  app.get<
    ReadAfter & { Params: { sku: string }; Querystring: { sort: string; limit?: number; cursor?: string } }
  >(
    '/api/products/:sku/reviews',
    {
      schema: {
        tags: ['reviews'],
        summary: "A product's reviews, newest first (or by rating), paged",
        params: skuParams,
        querystring: listQuery,
        headers: readAfterHeaders,
      },
    },
    async (request) => {
      await Promise.all([
        readAfter(readModels, REVIEWS, request, readWaitMs),
        readAfter(readModels, PRODUCTS, request, readWaitMs),
      ]);
      const { sku } = request.params;
      if ((await readModels.get<ProductView>(PRODUCTS, sku)) === null) {
        throw new AppError('product_not_found', `There is no product ${sku}.`);
      }
      const { sort, limit, cursor } = request.query;
      const page = await withCursorField(() =>
        readModels.find<ReviewView>(REVIEWS, {
          where: { sku },
          sort: sortBy(sort, sortColumns, 'created_at'),
          ...(limit ? { limit } : {}),
          ...(cursor ? { cursor } : {}),
        }),
      );
      return { items: page.items, nextCursor: page.nextCursor };
    },
  );

  /** One review with its ETag (its version), or 404. */
  const sendReview = async (
    request: FastifyRequest<ReadAfter>,
    reply: FastifyReply,
    sku: string,
    userId: string,
  ): Promise<FastifyReply | ReviewView> => {
    await readAfter(readModels, REVIEWS, request, readWaitMs);
    const review = await readModels.get<ReviewView>(REVIEWS, reviewDocumentId(sku, userId));
    if (review === null) throw new AppError('review_not_found', `User ${userId} has no review of ${sku}.`);
    const etag = `"${review.version}"`;
    reply.header('ETag', etag);
    if (etagMatches(request.headers['if-none-match'], etag)) return reply.code(304).send();
    return review;
  };

  app.get<ReadAfter & { Params: { sku: string } }>(
    '/api/products/:sku/reviews/mine',
    {
      schema: {
        tags: ['reviews'],
        summary: 'Your review of a product (ETag: its version)',
        params: skuParams,
        querystring: afterOnlyQuery,
        headers: readAfterHeaders,
      },
      preValidation: loggedIn,
    },
    async (request, reply) => sendReview(request, reply, request.params.sku, requireUser(request).userId),
  );

  app.get<ReadAfter & { Params: { sku: string; userId: string } }>(
    '/api/products/:sku/reviews/:userId',
    {
      schema: {
        tags: ['reviews'],
        summary: "One user's review of a product (ETag: its version)",
        params: reviewParams,
        querystring: afterOnlyQuery,
        headers: readAfterHeaders,
      },
    },
    async (request, reply) => sendReview(request, reply, request.params.sku, request.params.userId),
  );
}
