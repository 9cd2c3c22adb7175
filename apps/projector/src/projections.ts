// The projections the projector runs, of every context. Adding one is one line here.
import type { AnyProjection } from '@optic-mart/runtime';
import { petsProjection } from '@optic-mart/catalog';

export const projections: readonly AnyProjection[] = [petsProjection];
