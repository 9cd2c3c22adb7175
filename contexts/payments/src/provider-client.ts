// The payment provider, as the shop calls it: over HTTP only (fetch), every POST with the caller's
// Idempotency-Key (so a retried call never repeats an effect), each call bounded by a timeout.
// Outcomes are typed: a payment (authorized, captured, pending …) comes back as a value; a
// decline, a retryable failure (5xx, network), a timeout and a refusal (4xx) are distinct errors.

/** A payment as the provider reports it. */
export interface ProviderPayment {
  readonly id: string;
  readonly reference: string;
  readonly amount: number;
  readonly currency: string;
  readonly status:
    'pending' | 'authorized' | 'declined' | 'captured' | 'voided' | 'partially_refunded' | 'refunded';
  readonly capturedAmount: number;
  readonly refundedAmount: number;
  readonly declineReason: string | null;
}

/** A ledger entry of a payment's history (GET). */
export interface ProviderHistoryEntry {
  readonly kind: 'authorization' | 'decline' | 'capture' | 'void' | 'refund';
  readonly amount: number;
  readonly refundId: string | null;
  readonly createdAt: string;
}

/** A refund as the provider reports it. */
export interface ProviderRefund {
  readonly id: string;
  readonly amount: number;
  readonly status: 'succeeded';
  readonly payment: ProviderPayment;
}

/** Base of every provider error; `retryable` says whether the same call (same key) may succeed later. */
export class PaymentProviderError extends Error {
  override name = 'PaymentProviderError';
  constructor(
    readonly kind: 'declined' | 'unavailable' | 'timeout' | 'rejected',
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

/** The provider declined the payment (a final answer: do not retry); the declined payment is attached. */
export class PaymentDeclinedError extends PaymentProviderError {
  override name = 'PaymentDeclinedError';
  constructor(
    readonly payment: ProviderPayment,
    readonly reason: string,
  ) {
    super('declined', `payment ${payment.id} was declined: ${reason}`, false);
  }
}

/** A 5xx or a network failure: nothing or something may have happened; retry with the same key. */
export class ProviderUnavailableError extends PaymentProviderError {
  override name = 'ProviderUnavailableError';
  constructor(
    message: string,
    readonly status: number | null,
  ) {
    super('unavailable', message, true);
  }
}

/** No answer within the timeout: the call may have taken effect; retry with the same key (or GET). */
export class ProviderTimeoutError extends PaymentProviderError {
  override name = 'ProviderTimeoutError';
  constructor(readonly timeoutMs: number) {
    super('timeout', `the payment provider did not answer within ${timeoutMs} ms`, true);
  }
}

/** A 4xx: the provider refused the call (payment_invalid_state, refund_exceeds_captured, …); final. */
export class ProviderRejectedError extends PaymentProviderError {
  override name = 'ProviderRejectedError';
  constructor(
    readonly status: number,
    readonly code: string,
    readonly detail: string,
  ) {
    super('rejected', `the payment provider refused (${status} ${code}): ${detail}`, false);
  }
}

export interface PaymentProviderClientOptions {
  /** The provider's base URL, e.g. http://127.0.0.1:8090. */
  readonly baseUrl: string;
  /** Per call; default 5000 ms. */
  readonly timeoutMs?: number;
}

/** What authorize sends: amount in cents, an ISO 4217 currency, the shop's reference (the order id). */
export interface AuthorizeInput {
  readonly amountCents: number;
  readonly currency: string;
  readonly reference: string;
  /** Capture at once (one call instead of two). */
  readonly capture?: boolean;
}

/** The payment provider's HTTP API, with idempotency keys, timeouts and typed outcomes. */
export class PaymentProviderClient {
  readonly #baseUrl: string;
  readonly #timeoutMs: number;

  constructor(options: PaymentProviderClientOptions) {
    this.#baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.#timeoutMs = options.timeoutMs ?? 5000;
  }

  /** Authorizes (or, with capture, takes) a payment; a decline throws PaymentDeclinedError; may be `pending`. */
  async authorize(input: AuthorizeInput, idempotencyKey: string): Promise<ProviderPayment> {
    const payment = await this.#call<ProviderPayment>('POST', '/v1/payments', idempotencyKey, {
      amount: input.amountCents,
      currency: input.currency,
      reference: input.reference,
      capture: input.capture ?? false,
    });
    if (payment.status === 'declined')
      throw new PaymentDeclinedError(payment, payment.declineReason ?? 'declined');
    return payment;
  }

  /** Captures an authorized payment (all of it unless `amountCents`). */
  capture(paymentId: string, idempotencyKey: string, amountCents?: number): Promise<ProviderPayment> {
    return this.#call('POST', `/v1/payments/${encodeURIComponent(paymentId)}/capture`, idempotencyKey, {
      ...(amountCents !== undefined && { amount: amountCents }),
    });
  }

  /** Voids an authorization that was not captured. */
  void(paymentId: string, idempotencyKey: string): Promise<ProviderPayment> {
    return this.#call('POST', `/v1/payments/${encodeURIComponent(paymentId)}/void`, idempotencyKey, {});
  }

  /** Refunds (part of) what was captured. */
  refund(paymentId: string, amountCents: number, idempotencyKey: string): Promise<ProviderRefund> {
    return this.#call('POST', `/v1/payments/${encodeURIComponent(paymentId)}/refunds`, idempotencyKey, {
      amount: amountCents,
    });
  }

  /** A payment's current status and history (for a pending payment, or after a timeout). */
  get(paymentId: string): Promise<ProviderPayment & { readonly history: readonly ProviderHistoryEntry[] }> {
    return this.#call('GET', `/v1/payments/${encodeURIComponent(paymentId)}`);
  }

  async #call<T>(method: 'GET' | 'POST', path: string, idempotencyKey?: string, body?: unknown): Promise<T> {
    let response: Response;
    try {
      response = await fetch(this.#baseUrl + path, {
        method,
        headers: {
          accept: 'application/json',
          ...(body !== undefined && { 'content-type': 'application/json' }),
          ...(idempotencyKey !== undefined && { 'idempotency-key': idempotencyKey }),
        },
        ...(body !== undefined && { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
    } catch (err) {
      if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) {
        throw new ProviderTimeoutError(this.#timeoutMs);
      }
      throw new ProviderUnavailableError(`the payment provider is unreachable: ${String(err)}`, null);
    }
    let parsed: unknown;
    try {
      parsed = await response.json();
    } catch (err) {
      if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) {
        throw new ProviderTimeoutError(this.#timeoutMs);
      }
      parsed = null;
    }
    if (response.ok) return parsed as T;
    const problem = (parsed ?? {}) as { code?: unknown; detail?: unknown };
    if (
      response.status >= 500 ||
      response.status === 429 ||
      (response.status === 409 && problem.code === 'idempotency_key_in_progress')
    ) {
      throw new ProviderUnavailableError(`the payment provider answered ${response.status}`, response.status);
    }
    throw new ProviderRejectedError(
      response.status,
      typeof problem.code === 'string' ? problem.code : 'bad_request',
      typeof problem.detail === 'string' ? problem.detail : `HTTP ${response.status}`,
    );
  }
}
