// The catalog's `products` read model: one document per SKU as the API shows it, with its average
// rating kept from the review events (which carry the rating they replace or remove).
import type { DocumentProjection, ProjectedEvent } from '@optic-mart/runtime';
import type { Currency, ProductData, ProductEventType, Sku } from '../domain/product.js';
import type { ReviewEvent, ReviewEventType } from '../domain/review.js';

export const productStatuses = ['active', 'discontinued'] as const;
export type ProductStatus = (typeof productStatuses)[number];

export interface ProductRating {
  /** The mean of the ratings, to two decimals; null without reviews. */
  readonly average: number | null;
  readonly count: number;
  readonly sum: number;
}

/** A product as `GET /api/products/{sku}` returns it, with its stream version (the ETag). */
export interface ProductView {
  readonly sku: Sku;
  readonly name: string;
  readonly description: string;
  readonly priceCents: number;
  readonly currency: Currency;
  readonly category: string | null;
  readonly tags: readonly string[];
  readonly status: ProductStatus;
  readonly rating: ProductRating;
  /** The product stream's version; reviews do not change it. */
  readonly version: number;
}

const productEvents = [
  'ProductCreated',
  'ProductUpdated',
  'ProductDiscontinued',
] as const satisfies readonly ProductEventType[];
const reviewEvents = [
  'ReviewCreated',
  'ReviewUpdated',
  'ReviewDeleted',
] as const satisfies readonly ReviewEventType[];

function documentId(event: ProjectedEvent): string | null {
  const data = event.data as { sku?: unknown } | null;
  return typeof data?.sku === 'string' && data.sku.length > 0 ? data.sku : null;
}

const rated = (sum: number, count: number): ProductRating => ({
  average: count === 0 ? null : Math.round((sum / count) * 100) / 100,
  count,
  sum,
});

/** The rating after a review event: plus its rating, minus the one it replaces or removes. */
function rerate(rating: ProductRating, event: ReviewEvent): ProductRating {
  switch (event.type) {
    case 'ReviewCreated':
      return rated(rating.sum + event.data.rating, rating.count + 1);
    case 'ReviewUpdated':
      return rated(rating.sum - event.data.previousRating + event.data.rating, rating.count);
    case 'ReviewDeleted':
      return rated(rating.sum - event.data.rating, Math.max(0, rating.count - 1));
    default:
      return rating;
  }
}

function apply(doc: ProductView | null, event: ProjectedEvent): ProductView | null {
  const version = event.version;
  switch (event.type) {
    case 'ProductCreated': {
      const { sku, name, description, priceCents, currency, category, tags } = event.data as ProductData;
      return {
        sku,
        name,
        description,
        priceCents,
        currency,
        category,
        tags,
        status: 'active',
        rating: rated(0, 0),
        version,
      };
    }
    case 'ProductUpdated': {
      if (doc === null) return null;
      const { name, description, priceCents, currency, category, tags } = event.data as ProductData;
      return { ...doc, name, description, priceCents, currency, category, tags, version };
    }
    case 'ProductDiscontinued':
      return doc && { ...doc, status: 'discontinued', version };
    case 'ReviewCreated':
    case 'ReviewUpdated':
    case 'ReviewDeleted':
      // The gateway admits reviews of existing products only, so the product comes first.
      return doc && { ...doc, rating: rerate(doc.rating, event as unknown as ReviewEvent) };
    default:
      return doc;
  }
}

/**
 * `read.products`: every product ever listed (a discontinued one stays, marked so), filterable by
 * status, category and tag, sortable by name, price and average rating.
 */
export const productsProjection: DocumentProjection<ProductView> = {
  name: 'products',
  version: 1,
  // No category: it reads the `product-…` and the `review-…` streams.
  events: [...productEvents, ...reviewEvents],
  documentId,
  apply,
  columns: {
    status: { type: 'text', value: (p) => p.status, index: 'btree' },
    name: { type: 'text', value: (p) => p.name, index: 'btree' },
    price: { type: 'bigint', value: (p) => p.priceCents, index: 'btree' },
    rating: { type: 'numeric', value: (p) => p.rating.average, index: 'btree' },
    category: { type: 'text', value: (p) => p.category, index: 'btree' },
    tags: { type: 'text[]', value: (p) => [...p.tags], index: 'gin' },
  },
  counters: { status: (p) => p.status },
  topics: (id) => ['products', `products/${id}`],
};
