// Money (seed 003): an integer amount in the currency's minor unit (cents), never a float, with
// its currency; amounts of different currencies never mix.
import { DomainError } from '@optic-mart/runtime';
import { currencies, type Currency } from '@optic-mart/catalog';

export { currencies, type Currency };

export interface Money {
  readonly amountCents: number;
  readonly currency: Currency;
}

/** Money from cents; refuses what is not a non-negative safe integer. */
export function money(amountCents: number, currency: Currency): Money {
  if (!Number.isSafeInteger(amountCents) || amountCents < 0) {
    throw new DomainError('validation_failed', `${amountCents} is not an amount in cents`);
  }
  return { amountCents, currency };
}

export const zero = (currency: Currency): Money => ({ amountCents: 0, currency });

export function add(a: Money, b: Money): Money {
  if (a.currency !== b.currency) {
    throw new DomainError(
      'validation_failed',
      `cannot add ${b.currency} to ${a.currency}: one order, one currency`,
    );
  }
  return money(a.amountCents + b.amountCents, a.currency);
}

export const times = (m: Money, quantity: number): Money => money(m.amountCents * quantity, m.currency);
