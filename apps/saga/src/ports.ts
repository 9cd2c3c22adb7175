// What the fulfillment process drives, as ports: the other contexts' commands (sent through the
// command queue) and the payment service provider (through the payments context's
// PaymentProviderClient). Tests substitute fakes; main.ts wires the real ones.

/** A command to another context, with a deterministic id: sent again, it is applied once. */
export interface OutwardCommand {
  readonly commandId: string;
  readonly context: string;
  readonly type: string;
  readonly aggregateId: string;
  readonly data: unknown;
  /** Whom the saga acts for (the order's user): commands on orders need one. */
  readonly userId: string;
  readonly correlationId: string;
}

export type CommandOutcome =
  | { readonly ok: true; readonly result: Readonly<Record<string, unknown>> }
  | { readonly ok: false; readonly code: string; readonly detail: string; readonly retryable: boolean };

export interface CommandSender {
  /** Sends and waits up to `timeoutMs` for the outcome; no outcome in time is a retryable `timeout`. */
  send(command: OutwardCommand, timeoutMs: number): Promise<CommandOutcome>;
}

/** A payment at the provider, as the saga needs it. */
export interface ProviderPayment {
  readonly id: string;
  /** authorized | declined | pending | captured | voided | refunded | partially_refunded | failed … */
  readonly status: string;
  /** Why it was declined, when it was. */
  readonly declineReason?: string | null;
  /** A refund's id (the answer of `refund`). */
  readonly refundId?: string;
}

/**
 * The provider's operations, each with an idempotency key. A refusal for good (a decline) is a
 * `declined` status, or a thrown error the classifier below calls not retryable; anything else
 * thrown (5xx, network, timeout) is retryable.
 */
export interface PaymentPort {
  authorize(
    input: { amountCents: number; currency: string; reference: string },
    idempotencyKey: string,
  ): Promise<ProviderPayment>;
  capture(paymentId: string, idempotencyKey: string): Promise<ProviderPayment>;
  void(paymentId: string, idempotencyKey: string): Promise<ProviderPayment>;
  refund(paymentId: string, amountCents: number, idempotencyKey: string): Promise<ProviderPayment>;
  get(paymentId: string): Promise<ProviderPayment>;
}

/** An error thrown by a port that no retry can help with (e.g. the provider's 402 decline, or 422). */
export class PermanentFailure extends Error {
  override name = 'PermanentFailure';
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}
