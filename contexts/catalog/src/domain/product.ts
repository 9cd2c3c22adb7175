// The Product aggregate (supplies): a SKU with a price in cents; listed until discontinued, which is
// final (orders and reviews of it stay in history, so its SKU is never reused).
import { DomainError, type Decider } from '@optic-mart/runtime';
import type { Branded } from './ids.js';

export type Sku = Branded<string, 'Sku'>;
export const Sku = (value: string): Sku => value as Sku;

export const currencies = ['USD', 'EUR', 'GBP'] as const;
export type Currency = (typeof currencies)[number];

/** What CreateProduct sets and UpdateProduct replaces. */
export interface ProductDetails {
  readonly name: string;
  readonly description: string;
  /** The price in the currency's minor unit (cents): an integer, never a float. */
  readonly priceCents: number;
  readonly currency: Currency;
  readonly category: string | null;
  readonly tags: readonly string[];
}

export interface ProductInput {
  readonly sku: Sku;
  readonly name: string;
  readonly description?: string;
  readonly priceCents: number;
  /** Omitted: USD on create, unchanged on update. */
  readonly currency?: Currency;
  readonly category?: string | null;
  readonly tags?: readonly string[];
}

export type ProductCommand =
  | { readonly type: 'CreateProduct'; readonly data: ProductInput }
  | { readonly type: 'UpdateProduct'; readonly data: ProductInput }
  | { readonly type: 'DiscontinueProduct'; readonly data: { readonly sku: Sku } };

export type ProductCommandType = ProductCommand['type'];

export type ProductData = ProductDetails & { readonly sku: Sku };

export type ProductEvent =
  | { readonly type: 'ProductCreated'; readonly data: ProductData }
  | { readonly type: 'ProductUpdated'; readonly data: ProductData }
  | { readonly type: 'ProductDiscontinued'; readonly data: { readonly sku: Sku } };

export type ProductEventType = ProductEvent['type'];

export interface Product extends ProductData {
  readonly kind: 'listed' | 'discontinued';
}

export type ProductState = { readonly kind: 'none' } | Product;

/** Every code the product decider throws; each is a line of the platform's error table. */
export const productErrorCodes = [
  'product_already_exists',
  'product_not_found',
  'product_discontinued',
] as const;

export type ProductErrorCode = (typeof productErrorCodes)[number];

const fail = (code: ProductErrorCode, detail: string) => new DomainError(code, detail);

const details = (input: ProductInput, currency: Currency): ProductDetails => ({
  name: input.name,
  description: input.description ?? '',
  priceCents: input.priceCents,
  currency: input.currency ?? currency,
  category: input.category ?? null,
  // A tag listed twice is one tag.
  tags: [...new Set(input.tags ?? [])],
});

const sameDetails = (a: ProductDetails, b: ProductDetails): boolean =>
  a.name === b.name &&
  a.description === b.description &&
  a.priceCents === b.priceCents &&
  a.currency === b.currency &&
  a.category === b.category &&
  JSON.stringify(a.tags) === JSON.stringify(b.tags);

function listed(state: ProductState, sku: Sku): Product {
  if (state.kind === 'none') throw fail('product_not_found', `product ${sku} does not exist`);
  if (state.kind === 'discontinued') throw fail('product_discontinued', `product ${sku} is discontinued`);
  return state;
}

export function decide(command: ProductCommand, state: ProductState): ProductEvent[] {
  switch (command.type) {
    case 'CreateProduct': {
      const { sku } = command.data;
      if (state.kind !== 'none') throw fail('product_already_exists', `product ${sku} exists`);
      return [{ type: 'ProductCreated', data: { sku, ...details(command.data, 'USD') } }];
    }
    case 'UpdateProduct': {
      const product = listed(state, command.data.sku);
      const next = details(command.data, product.currency);
      if (sameDetails(product, next)) return [];
      return [{ type: 'ProductUpdated', data: { sku: product.sku, ...next } }];
    }
    case 'DiscontinueProduct': {
      const product = listed(state, command.data.sku);
      return [{ type: 'ProductDiscontinued', data: { sku: product.sku } }];
    }
    default: {
      const unknown: never = command;
      throw new Error(`unknown command ${JSON.stringify(unknown)}`);
    }
  }
}

export function evolve(state: ProductState, event: ProductEvent): ProductState {
  switch (event.type) {
    case 'ProductCreated':
      return { kind: 'listed', ...event.data };
    case 'ProductUpdated':
      return state.kind === 'listed' ? { kind: 'listed', ...event.data } : state;
    case 'ProductDiscontinued':
      return state.kind === 'none' ? state : { ...state, kind: 'discontinued' };
    default: {
      // An event type this build does not know yet (a newer writer): it changes nothing here.
      const _unknown: never = event;
      return state;
    }
  }
}

export const initialState = (): ProductState => ({ kind: 'none' });

export const productDecider: Decider<ProductCommand, ProductEvent, ProductState> = {
  decide,
  evolve,
  initialState,
};
