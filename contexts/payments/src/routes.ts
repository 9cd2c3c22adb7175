// The payments context's command routes: each command addresses one payment, `payment-<orderId>`.
import { Ajv, type ValidateFunction } from 'ajv';
import type { ErrorCode } from '@optic-mart/platform';
import { DomainError, type CommandInput, type CommandRoute, type CommandRoutes } from '@optic-mart/runtime';
import { idSchema } from '@optic-mart/catalog';
import { paymentCommandSchemas } from './commands.js';
import {
  paymentDecider,
  paymentErrorCodes,
  type PaymentCommand,
  type PaymentCommandType,
  type PaymentEvent,
  type PaymentState,
} from './domain/payment.js';

// Every code the decider throws must be a line of the platform's error table.
const _paymentErrorCodes: readonly ErrorCode[] = paymentErrorCodes;

const PAYMENT_PREFIX = 'payment-';
const idPattern = new RegExp(idSchema.pattern);

/** The stream of an order's payment: `payment-<orderId>`. */
export const paymentStreamId = (orderId: string): string => PAYMENT_PREFIX + orderId;

/** The order id of a payment stream id, or null when it is not one. */
export function paymentOrderIdOf(streamId: string): string | null {
  if (!streamId.startsWith(PAYMENT_PREFIX)) return null;
  const id = streamId.slice(PAYMENT_PREFIX.length);
  return id.length <= idSchema.maxLength && idPattern.test(id) ? id : null;
}

const ajv = new Ajv({ allErrors: true, strict: true, useDefaults: true });
const validators = Object.fromEntries(
  Object.entries(paymentCommandSchemas).map(([type, schema]) => [type, ajv.compile(schema)]),
) as Record<PaymentCommandType, ValidateFunction>;

function parse<Data>(command: CommandInput, type: PaymentCommandType): Data & { orderId: string } {
  const orderId = paymentOrderIdOf(command.aggregateId);
  if (orderId === null) {
    throw new DomainError(
      'validation_failed',
      `${command.aggregateId} is not a payment stream id (payment-<orderId>)`,
    );
  }
  const data = structuredClone(command.data);
  const validate = validators[type];
  if (!validate(data)) {
    const problems = (validate.errors ?? []).map(
      (e) => `${e.instancePath || '(body)'} ${e.message ?? e.keyword}`,
    );
    throw new DomainError('validation_failed', `Invalid ${type}: ${problems.join('; ')}.`);
  }
  return { ...(data as Data), orderId };
}

/** Snapshots of payments: bump schemaVersion when PaymentState's shape changes. */
export const paymentSnapshot = { type: 'payment', schemaVersion: 1 } as const;

const route = (type: PaymentCommandType): CommandRoute<PaymentCommand, PaymentEvent, PaymentState> => ({
  decider: paymentDecider,
  toCommand: (command) => ({ type, data: parse(command, type) }) as PaymentCommand,
  snapshot: paymentSnapshot,
});

/** RequestPayment, RecordProviderResult and RefundPayment, for `createCommandHandler` (context `payments`). */
export const paymentsCommandRoutes: CommandRoutes = {
  RequestPayment: route('RequestPayment'),
  RecordProviderResult: route('RecordProviderResult'),
  RefundPayment: route('RefundPayment'),
};
