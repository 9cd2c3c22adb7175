// The saga's PaymentPort over the payments context's PaymentProviderClient (HTTP only): a decline
// becomes a `declined` payment, a 4xx refusal a PermanentFailure (no retry helps), and
// unavailability and timeouts stay thrown as they are (retryable).
import { PaymentDeclinedError, PaymentProviderError, type PaymentProviderClient } from '@optic-mart/payments';
import { PermanentFailure, type PaymentPort, type ProviderPayment } from './ports.js';

async function mapped(call: () => Promise<ProviderPayment>): Promise<ProviderPayment> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof PaymentDeclinedError) {
      return { id: err.payment.id, status: 'declined', declineReason: err.reason };
    }
    if (err instanceof PaymentProviderError && !err.retryable) {
      const code = (err as { code?: unknown }).code;
      throw new PermanentFailure(typeof code === 'string' ? code : err.kind, err.message);
    }
    throw err;
  }
}

export function providerClientPort(client: PaymentProviderClient): PaymentPort {
  return {
    authorize: (input, key) => mapped(() => client.authorize({ ...input, capture: false }, key)),
    capture: (id, key) => mapped(() => client.capture(id, key)),
    void: (id, key) => mapped(() => client.void(id, key)),
    refund: (id, amountCents, key) =>
      mapped(async () => {
        const refund = await client.refund(id, amountCents, key);
        return { id: refund.payment.id, status: refund.payment.status, refundId: refund.id };
      }),
    get: (id) => mapped(() => client.get(id)),
  };
}
