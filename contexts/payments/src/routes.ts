// The payments context's command routes: each command addresses one payment, `payment-<orderId>`.
import type { ErrorCode } from '@optic-mart/platform';
import {
  commandValidator,
  streamIds,
  type CommandInput,
  type CommandRoute,
  type CommandRoutes,
} from '@optic-mart/runtime';
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

const paymentStreams = streamIds({ name: 'a payment', prefix: 'payment-', idName: 'orderId', id: idSchema });

/** The stream of an order's payment: `payment-<orderId>`. */
export const paymentStreamId = paymentStreams.streamId;

/** The order id of a payment stream id, or null when it is not one. */
export const paymentOrderIdOf = paymentStreams.idOf;

const paymentCommands = commandValidator<PaymentCommandType>(paymentCommandSchemas, { useDefaults: true });

function parse<Data>(command: CommandInput, type: PaymentCommandType): Data & { orderId: string } {
  const orderId = paymentStreams.requireIdOf(command.aggregateId);
  const { data } = paymentCommands.check<Data>(type, command.data);
  return { ...data, orderId };
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
