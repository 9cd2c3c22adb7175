// The catalog's `reviews` read model: one document per written review, listed per product.
import type { DocumentProjection, ProjectedEvent } from '@optic-mart/runtime';
import type { Sku } from '../domain/product.js';
import type { ReviewEventType, ReviewInput } from '../domain/review.js';

/** A review as `GET /api/products/{sku}/reviews` lists it. */
export interface ReviewView {
  readonly sku: Sku;
  readonly userId: string;
  readonly rating: number;
  readonly text: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  /** The review stream's version (its ETag). */
  readonly version: number;
}

const reviewEvents = [
  'ReviewCreated',
  'ReviewUpdated',
  'ReviewDeleted',
] as const satisfies readonly ReviewEventType[];

/** The document id of a user's review of a product. */
export const reviewDocumentId = (sku: string, userId: string): string => `${sku}/${userId}`;

function documentId(event: ProjectedEvent): string | null {
  const data = event.data as { sku?: unknown; userId?: unknown } | null;
  return typeof data?.sku === 'string' && typeof data.userId === 'string'
    ? reviewDocumentId(data.sku, data.userId)
    : null;
}

function apply(doc: ReviewView | null, event: ProjectedEvent): ReviewView | null {
  const at = event.recordedAt.toISOString();
  switch (event.type as ReviewEventType) {
    case 'ReviewCreated': {
      const { sku, userId, rating, text } = event.data as ReviewInput;
      return { sku, userId, rating, text, createdAt: at, updatedAt: at, version: event.version };
    }
    case 'ReviewUpdated': {
      if (doc === null) return null;
      const { rating, text } = event.data as ReviewInput;
      return { ...doc, rating, text, updatedAt: at, version: event.version };
    }
    case 'ReviewDeleted':
      return null;
    default:
      return doc;
  }
}

/** `read.reviews`: the reviews that exist, filterable by product and author, newest first or by rating. */
export const reviewsProjection: DocumentProjection<ReviewView> = {
  name: 'reviews',
  version: 1,
  category: 'review',
  events: reviewEvents,
  documentId,
  apply,
  columns: {
    sku: { type: 'text', value: (r) => r.sku, index: 'btree' },
    user_id: { type: 'text', value: (r) => r.userId, index: 'btree' },
    rating: { type: 'bigint', value: (r) => r.rating, index: 'btree' },
    created_at: { type: 'timestamptz', value: (r) => r.createdAt, index: 'btree' },
  },
  topics: (id, before, after) => {
    const sku = (after ?? before)?.sku;
    return ['reviews', ...(sku ? [`products/${sku}/reviews`] : [])];
  },
};
