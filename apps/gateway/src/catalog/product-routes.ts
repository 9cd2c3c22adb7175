// The native supplies API: sellers (and admins) list, change and discontinue products; everyone
// may browse them. Writes become catalog commands on `product-<sku>`; reads come from the
// `products` read model, with read-your-writes.
import { AppError, type HttpServer } from '@optic-mart/platform';
import type { ReadModels } from '@optic-mart/runtime';
import {
  createProductRequestSchema,
  productBodySchema,
  productStatuses,
  productStreamId,
  productsProjection,
  skuSchema,
  type ProductStatus,
  type ProductView,
} from '@optic-mart/catalog';
import { requireRole } from '../auth/index.js';
import { replyWithOutcome } from '../command-reply.js';
import type { CommandDispatcher } from '@optic-mart/messaging';
import { onlyRoles } from '../auth/index.js';
import { sendCommand } from '../command-reply.js';
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

const PRODUCTS = productsProjection.name;

export const skuParams = {
  type: 'object',
  additionalProperties: false,
  required: ['sku'],
  properties: { sku: skuSchema },
} as const;

// API sort names → read model columns.
const sortColumns: Readonly<Record<string, string>> = {
  name: 'name',
  price: 'price',
  rating: 'rating',
  sku: 'id',
};
const sorts = Object.keys(sortColumns).flatMap((s) => [s, `-${s}`]);

const listQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    status: { type: 'string', enum: productStatuses, default: 'active' },
    category: { type: 'string', minLength: 1, maxLength: 50 },
    tag: { type: 'string', minLength: 1, maxLength: 50 },
    sort: { type: 'string', enum: sorts, default: 'name' },
    ...pagingProperties,
  },
} as const;

export interface CatalogRouteOptions {
  readonly dispatcher: CommandDispatcher;
  readonly readModels: ReadModels;
  /** How long a query naming a position waits for the read model before 503 read_model_behind. */
  readonly readWaitMs: number;
}

/**
 * A product's ETag: its version and its rating. Reviews change the representation without
 * changing the product's version, so a cached copy must not be confirmed by the version alone.
 */
const productEtag = (p: ProductView): string => `"${p.version}-${p.rating.count}-${p.rating.sum}"`;

export function registerProductRoutes(app: HttpServer, options: CatalogRouteOptions): void {
  const { dispatcher, readModels, readWaitMs } = options;
  const sellers = onlyRoles('seller');

  app.post<{ Body: { sku: string } & Record<string, unknown> }>(
    '/api/products',
    {
      schema: {
        tags: ['products'],
        summary: 'List a new product (sellers)',
        body: createProductRequestSchema,
      },
      preValidation: sellers,
    },
    async (request, reply) => {
      const principal = requireRole(request, 'seller');
      const { sku, ...data } = request.body;
      const outcome = await sendCommand(dispatcher, request, principal, {
        context: 'catalog',
        type: 'CreateProduct',
        aggregateId: productStreamId(sku),
        data,
      });
      return replyWithOutcome(reply, outcome, {
        status: 201,
        location: `/api/products/${sku}`,
        body: { sku },
      });
    },
  );

  app.put<{ Params: { sku: string }; Body: Record<string, unknown> }>(
    '/api/products/:sku',
    {
      schema: {
        tags: ['products'],
        summary: 'Replace a product (sellers)',
        params: skuParams,
        body: productBodySchema,
      },
      preValidation: sellers,
    },
    async (request, reply) => {
      const principal = requireRole(request, 'seller');
      const { sku } = request.params;
      const outcome = await sendCommand(dispatcher, request, principal, {
        context: 'catalog',
        type: 'UpdateProduct',
        aggregateId: productStreamId(sku),
        data: request.body,
      });
      return replyWithOutcome(reply, outcome, {
        status: 200,
        location: `/api/products/${sku}`,
        body: { sku },
      });
    },
  );

  app.delete<{ Params: { sku: string } }>(
    '/api/products/:sku',
    {
      schema: { tags: ['products'], summary: 'Discontinue a product (sellers)', params: skuParams },
      preValidation: sellers,
    },
    async (request, reply) => {
      const principal = requireRole(request, 'seller');
      const { sku } = request.params;
      const outcome = await sendCommand(dispatcher, request, principal, {
        context: 'catalog',
        type: 'DiscontinueProduct',
        aggregateId: productStreamId(sku),
        data: {},
      });
      return replyWithOutcome(reply, outcome, {
        status: 200,
        location: `/api/products/${sku}`,
        body: { sku },
      });
    },
  );

  app.get<
    ReadAfter & {
      Querystring: {
        status: ProductStatus;
        category?: string;
        tag?: string;
        sort: string;
        limit?: number;
        cursor?: string;
      };
    }
  >(
    '/api/products',
    {
      schema: {
        tags: ['products'],
        summary: 'Browse products: filter by status, category, tag; sort by name, price, rating',
        querystring: listQuery,
        headers: readAfterHeaders,
      },
    },
    async (request) => {
      await readAfter(readModels, PRODUCTS, request, readWaitMs);
      const { status, category, tag, sort, limit, cursor } = request.query;
      const page = await withCursorField(() =>
        readModels.find<ProductView>(PRODUCTS, {
          where: { status, ...(category ? { category } : {}), ...(tag ? { tags: { contains: tag } } : {}) },
          sort: sortBy(sort, sortColumns, 'name'),
          ...(limit ? { limit } : {}),
          ...(cursor ? { cursor } : {}),
        }),
      );
      return { items: page.items, nextCursor: page.nextCursor };
    },
  );

  app.get<ReadAfter & { Params: { sku: string } }>(
    '/api/products/:sku',
    {
      schema: {
        tags: ['products'],
        summary: 'One product, with its average rating (ETag: its version)',
        params: skuParams,
        querystring: afterOnlyQuery,
        headers: readAfterHeaders,
      },
    },
    async (request, reply) => {
      await readAfter(readModels, PRODUCTS, request, readWaitMs);
      const { sku } = request.params;
      const product = await readModels.get<ProductView>(PRODUCTS, sku);
      if (product === null) throw new AppError('product_not_found', `There is no product ${sku}.`);
      const etag = productEtag(product);
      reply.header('ETag', etag);
      if (etagMatches(request.headers['if-none-match'], etag)) return reply.code(304).send();
      return product;
    },
  );
}
