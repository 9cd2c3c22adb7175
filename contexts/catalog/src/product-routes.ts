// The command routes of products (`product-<sku>`) and reviews (`review-<sku>-<userId>`) for the
// runtime's command handler; routes.ts joins them into the catalog's table.
import type { ErrorCode } from '@optic-mart/platform';
import {
  DomainError,
  commandValidator,
  streamIds,
  type CommandInput,
  type CommandRoute,
  type CommandRoutes,
} from '@optic-mart/runtime';
import { productCommandSchemas, reviewCommandSchemas, skuSchema, userIdSchema } from './product-commands.js';
import {
  Sku,
  productDecider,
  productErrorCodes,
  type ProductCommand,
  type ProductEvent,
  type ProductState,
} from './domain/product.js';
import {
  reviewDecider,
  reviewErrorCodes,
  type ReviewCommand,
  type ReviewEvent,
  type ReviewRef,
  type ReviewState,
} from './domain/review.js';

// Every code the deciders throw must be a line of the platform's error table.
const _productErrorCodes: readonly ErrorCode[] = productErrorCodes;
const _reviewErrorCodes: readonly ErrorCode[] = reviewErrorCodes;

const productStreams = streamIds({
  name: 'a product',
  prefix: 'product-',
  idName: 'sku',
  id: skuSchema,
  brand: Sku,
});
const REVIEW_PREFIX = 'review-';
const skuPattern = new RegExp(skuSchema.pattern);
const userIdPattern = new RegExp(userIdSchema.pattern);

/** The stream of a product: `product-<sku>`. */
export const productStreamId = productStreams.streamId;

/** The stream of a user's review of a product: `review-<sku>-<userId>`. */
export const reviewStreamId = (sku: string, userId: string): string => `${REVIEW_PREFIX}${sku}-${userId}`;

/** The SKU of a product stream id, or null when it is not one. */
export const skuOf = productStreams.idOf;

/** The SKU and author of a review stream id, or null when it is not one. */
export function reviewRefOf(streamId: string): ReviewRef | null {
  if (!streamId.startsWith(REVIEW_PREFIX)) return null;
  const rest = streamId.slice(REVIEW_PREFIX.length);
  // A SKU may hold dashes, a user id never does: the author is after the last one.
  const dash = rest.lastIndexOf('-');
  const sku = rest.slice(0, dash);
  const userId = rest.slice(dash + 1);
  return dash > 0 && skuPattern.test(sku) && userIdPattern.test(userId) ? { sku: Sku(sku), userId } : null;
}

const productCommands = commandValidator(productCommandSchemas);
const reviewCommands = commandValidator(reviewCommandSchemas);

function toProductCommand(command: CommandInput): ProductCommand {
  const sku = productStreams.requireIdOf(command.aggregateId);
  const { type, data } = productCommands.check<object>(command.type, command.data);
  return { type, data: { ...data, sku } } as ProductCommand;
}

function toReviewCommand(command: CommandInput): ReviewCommand {
  const ref = reviewRefOf(command.aggregateId);
  if (ref === null) {
    throw new DomainError(
      'validation_failed',
      `${command.aggregateId} is not a review stream id (review-<sku>-<userId>)`,
    );
  }
  const { type, data } = reviewCommands.check<{ rating: number; text?: string }>(command.type, command.data);
  if (type === 'DeleteReview') return { type, data: ref };
  return { type, data: { ...ref, rating: data.rating, text: data.text ?? '' } };
}

/** One Product aggregate per `product-<sku>` stream. */
export const productCommandRoute: CommandRoute<ProductCommand, ProductEvent, ProductState> = {
  decider: productDecider,
  toCommand: toProductCommand,
  // Bump schemaVersion when ProductState's shape changes, so older snapshots are ignored.
  snapshot: { type: 'product', schemaVersion: 1 },
};

/** One Review aggregate per `review-<sku>-<userId>` stream. */
export const reviewCommandRoute: CommandRoute<ReviewCommand, ReviewEvent, ReviewState> = {
  decider: reviewDecider,
  toCommand: toReviewCommand,
  snapshot: { type: 'review', schemaVersion: 1 },
};

/** The product and review routes by command type. */
export const productCommandRoutes: CommandRoutes = {
  ...Object.fromEntries(Object.keys(productCommandSchemas).map((type) => [type, productCommandRoute])),
  ...Object.fromEntries(Object.keys(reviewCommandSchemas).map((type) => [type, reviewCommandRoute])),
};
