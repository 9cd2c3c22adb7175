// Ids as distinct types (seed 003): an OrderId cannot be passed where a PetId or UserId is expected.
import type { Branded } from '@optic-mart/catalog';

export { OrderId, PetId, Sku } from '@optic-mart/catalog';

export type UserId = Branded<string, 'UserId'>;
export const UserId = (value: string): UserId => value as UserId;
