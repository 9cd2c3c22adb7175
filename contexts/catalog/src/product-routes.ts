// The command routes of products (`product-<sku>`) and reviews (`review-<sku>-<userId>`) for the
// runtime's command handler; routes.ts joins them into the catalog's table.
import { Ajv, type ValidateFunction } from 'ajv';
import type { ErrorCode } from '@optic-mart/platform';
import { DomainError, type CommandInput, type CommandRoute, type CommandRoutes } from '@optic-mart/runtime';
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

const PRODUCT_PREFIX = 'product-';
const REVIEW_PREFIX = 'review-';
const skuPattern = new RegExp(skuSchema.pattern);
const userIdPattern = new RegExp(userIdSchema.pattern);

/** The stream of a product: `product-<sku>`. */
export const productStreamId = (sku: string): string => PRODUCT_PREFIX + sku;

/** The stream of a user's review of a product: `review-<sku>-<userId>`. */
export const reviewStreamId = (sku: string, userId: string): string => `${REVIEW_PREFIX}${sku}-${userId}`;

/** The SKU of a product stream id, or null when it is not one. */
export function skuOf(streamId: string): Sku | null {
  if (!streamId.startsWith(PRODUCT_PREFIX)) return null;
  const sku = streamId.slice(PRODUCT_PREFIX.length);
  return skuPattern.test(sku) ? Sku(sku) : null;
}

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

// The gateway validates bodies already; commands also come from sagas and scripts, and an event
// written from a bad one would stay in the store for good.
const ajv = new Ajv({ allErrors: true, strict: true });
const compileAll = <T extends string>(schemas: Record<T, object>) =>
  Object.fromEntries(Object.entries(schemas).map(([type, s]) => [type, ajv.compile(s as object)])) as Record<
    T,
    ValidateFunction
  >;
const productValidators = compileAll(productCommandSchemas);
const reviewValidators = compileAll(reviewCommandSchemas);

function validData<T extends string>(
  validators: Record<T, ValidateFunction>,
  type: string,
  data: unknown,
): asserts type is T {
  if (!Object.hasOwn(validators, type)) throw new DomainError('bad_request', `${type} is not a command here`);
  const validate = validators[type as T];
  if (!validate(data)) {
    const problems = (validate.errors ?? []).map(
      (e) => `${e.instancePath || '(body)'} ${e.message ?? e.keyword}`,
    );
    throw new DomainError('validation_failed', `Invalid ${type}: ${problems.join('; ')}.`);
  }
}

function toProductCommand(command: CommandInput): ProductCommand {
  const sku = skuOf(command.aggregateId);
  if (sku === null) {
    throw new DomainError(
      'validation_failed',
      `${command.aggregateId} is not a product stream id (product-<sku>)`,
    );
  }
  validData(productValidators, command.type, command.data);
  return { type: command.type, data: { ...(command.data as object), sku } } as ProductCommand;
}

function toReviewCommand(command: CommandInput): ReviewCommand {
  const ref = reviewRefOf(command.aggregateId);
  if (ref === null) {
    throw new DomainError(
      'validation_failed',
      `${command.aggregateId} is not a review stream id (review-<sku>-<userId>)`,
    );
  }
  validData(reviewValidators, command.type, command.data);
  if (command.type === 'DeleteReview') return { type: command.type, data: ref };
  const { rating, text } = command.data as { rating: number; text?: string };
  return { type: command.type, data: { ...ref, rating, text: text ?? '' } };
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
