// Ids as distinct types (seed 003): a PetId cannot be passed where an OrderId is expected.
declare const brand: unique symbol;

export type Branded<T, Brand extends string> = T & { readonly [brand]: Brand };

export type PetId = Branded<string, 'PetId'>;
export type OrderId = Branded<string, 'OrderId'>;

export const PetId = (value: string): PetId => value as PetId;
export const OrderId = (value: string): OrderId => value as OrderId;
