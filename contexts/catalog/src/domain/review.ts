// The Review aggregate: one user's rating (1 to 5) and text about one product, on the stream
// `review-<sku>-<userId>`, so one review per user per product holds by construction. Who may write
// which review (its author; an admin may delete any) is the gateway's policy.
import { DomainError, type Decider } from '@optic-mart/runtime';
import type { Sku } from './product.js';

export const MIN_RATING = 1;
export const MAX_RATING = 5;
export const MAX_REVIEW_TEXT_LENGTH = 2000;

export interface ReviewRef {
  readonly sku: Sku;
  /** The author's user id (an integer, as text). */
  readonly userId: string;
}

export interface ReviewInput extends ReviewRef {
  readonly rating: number;
  readonly text: string;
}

export type ReviewCommand =
  | { readonly type: 'CreateReview'; readonly data: ReviewInput }
  | { readonly type: 'UpdateReview'; readonly data: ReviewInput }
  | { readonly type: 'DeleteReview'; readonly data: ReviewRef };

export type ReviewCommandType = ReviewCommand['type'];

// The events carry the rating they replace or remove, so that a read model keeping a product's
// average needs no per-user memory of its own.
export type ReviewEvent =
  | { readonly type: 'ReviewCreated'; readonly data: ReviewInput }
  | { readonly type: 'ReviewUpdated'; readonly data: ReviewInput & { readonly previousRating: number } }
  | { readonly type: 'ReviewDeleted'; readonly data: ReviewRef & { readonly rating: number } };

export type ReviewEventType = ReviewEvent['type'];

export interface Review extends ReviewInput {
  readonly kind: 'written';
}

export type ReviewState = { readonly kind: 'none' } | { readonly kind: 'deleted' } | Review;

/** Every code the review decider throws; each is a line of the platform's error table. */
export const reviewErrorCodes = ['review_exists', 'review_not_found'] as const;

export type ReviewErrorCode = (typeof reviewErrorCodes)[number];

const fail = (code: ReviewErrorCode, detail: string) => new DomainError(code, detail);

function written(state: ReviewState, { sku, userId }: ReviewRef): Review {
  if (state.kind !== 'written') {
    throw fail('review_not_found', `user ${userId} has no review of product ${sku}`);
  }
  return state;
}

export function decide(command: ReviewCommand, state: ReviewState): ReviewEvent[] {
  switch (command.type) {
    case 'CreateReview': {
      const { sku, userId, rating, text } = command.data;
      // One review per user per product; a deleted one may be written again.
      if (state.kind === 'written') {
        throw fail('review_exists', `user ${userId} has reviewed product ${sku} already; edit that review`);
      }
      return [{ type: 'ReviewCreated', data: { sku, userId, rating, text } }];
    }
    case 'UpdateReview': {
      const review = written(state, command.data);
      const { rating, text } = command.data;
      if (rating === review.rating && text === review.text) return [];
      return [
        {
          type: 'ReviewUpdated',
          data: { sku: review.sku, userId: review.userId, rating, text, previousRating: review.rating },
        },
      ];
    }
    case 'DeleteReview': {
      const review = written(state, command.data);
      return [
        { type: 'ReviewDeleted', data: { sku: review.sku, userId: review.userId, rating: review.rating } },
      ];
    }
    default: {
      const unknown: never = command;
      throw new Error(`unknown command ${JSON.stringify(unknown)}`);
    }
  }
}

export function evolve(state: ReviewState, event: ReviewEvent): ReviewState {
  switch (event.type) {
    case 'ReviewCreated': {
      const { sku, userId, rating, text } = event.data;
      return { kind: 'written', sku, userId, rating, text };
    }
    case 'ReviewUpdated':
      return state.kind === 'written'
        ? { ...state, rating: event.data.rating, text: event.data.text }
        : state;
    case 'ReviewDeleted':
      return { kind: 'deleted' };
    default: {
      // An event type this build does not know yet (a newer writer): it changes nothing here.
      const _unknown: never = event;
      return state;
    }
  }
}

export const initialState = (): ReviewState => ({ kind: 'none' });

export const reviewDecider: Decider<ReviewCommand, ReviewEvent, ReviewState> = {
  decide,
  evolve,
  initialState,
};
