import { describe, it } from 'node:test';
import { given } from '@optic-mart/runtime';
import { Sku } from './product.js';
import { reviewDecider, type ReviewCommand, type ReviewEvent } from './review.js';

const sku = Sku('FOOD-1');
const userId = '7';
const ref = { sku, userId };

const created: ReviewEvent = { type: 'ReviewCreated', data: { ...ref, rating: 4, text: 'Good' } };
const updated: ReviewEvent = {
  type: 'ReviewUpdated',
  data: { ...ref, rating: 2, text: 'Went off', previousRating: 4 },
};
const deleted: ReviewEvent = { type: 'ReviewDeleted', data: { ...ref, rating: 4 } };

const create = (rating = 4, text = 'Good'): ReviewCommand => ({
  type: 'CreateReview',
  data: { ...ref, rating, text },
});
const update = (rating: number, text: string): ReviewCommand => ({
  type: 'UpdateReview',
  data: { ...ref, rating, text },
});
const remove: ReviewCommand = { type: 'DeleteReview', data: ref };

describe('CreateReview', () => {
  it('writes the review', () => {
    given(reviewDecider).when(create()).then([created]);
  });

  it('refuses a second review by the same user of the same product', () => {
    given(reviewDecider, [created]).when(create(5, 'Even better')).thenThrows('review_exists');
    given(reviewDecider, [created, updated]).when(create()).thenThrows('review_exists');
  });

  it('may write again once the review was deleted', () => {
    given(reviewDecider, [created, deleted])
      .when(create(5, 'Back again'))
      .then([{ type: 'ReviewCreated', data: { ...ref, rating: 5, text: 'Back again' } }]);
  });
});

describe('UpdateReview', () => {
  it('changes the rating and text, carrying the rating it replaces', () => {
    given(reviewDecider, [created]).when(update(2, 'Went off')).then([updated]);
  });

  it('carries the latest rating as the one replaced', () => {
    given(reviewDecider, [created, updated])
      .when(update(3, 'Fine'))
      .then([{ type: 'ReviewUpdated', data: { ...ref, rating: 3, text: 'Fine', previousRating: 2 } }]);
  });

  it('decides nothing when nothing changes', () => {
    given(reviewDecider, [created]).when(update(4, 'Good')).then([]);
  });

  it('refuses a review that does not exist or was deleted', () => {
    given(reviewDecider).when(update(1, 'x')).thenThrows('review_not_found');
    given(reviewDecider, [created, deleted]).when(update(1, 'x')).thenThrows('review_not_found');
  });
});

describe('DeleteReview', () => {
  it('deletes the review, carrying the rating it removes', () => {
    given(reviewDecider, [created]).when(remove).then([deleted]);
    given(reviewDecider, [created, updated])
      .when(remove)
      .then([{ type: 'ReviewDeleted', data: { ...ref, rating: 2 } }]);
  });

  it('refuses a review that does not exist or was deleted', () => {
    given(reviewDecider).when(remove).thenThrows('review_not_found');
    given(reviewDecider, [created, deleted]).when(remove).thenThrows('review_not_found');
  });
});
