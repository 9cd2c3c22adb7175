/**
 * Every error Optic Mart can return, in one table (the shape of Fastify's lib/errors.js).
 * A code is a stable contract with clients and with other processes: rename one and you
 * break them, so add new codes and retire old ones instead.
 */

/** What a code means over HTTP and to a retrying caller. */
export interface ErrorSpec {
  readonly status: number;
  readonly title: string;
  /** Whether the same request, sent again later, can succeed (queue consumers retry these, dead-letter the rest). */
  readonly retryable: boolean;
}

// Adding a code is one line here. Keep each line a literal so ErrorCode stays a closed union.
const errorTable = {
  validation_failed: { status: 400, title: 'The request is invalid', retryable: false },
  bad_request: { status: 400, title: 'Bad request', retryable: false },
  // 000, scenario 7a: the append's version tag does not follow the stream's current version.
  // Not retryable as sent: the caller must reload the stream and decide again.
  wrong_version: { status: 400, title: 'Wrong version tag', retryable: false },
  unauthorized: { status: 401, title: 'Authentication required', retryable: false },
  forbidden: { status: 403, title: 'Forbidden', retryable: false },
  stream_not_found: { status: 404, title: 'Stream not found', retryable: false },
  not_found: { status: 404, title: 'Not found', retryable: false },
  conflict: { status: 409, title: 'Conflict', retryable: false },
  event_id_conflict: { status: 409, title: 'Event id already used with different content', retryable: false },
  stream_deleted: { status: 410, title: 'Stream deleted', retryable: false },
  subject_erased: { status: 410, title: 'Personal data erased', retryable: false },
  // Idempotency-Key: the same key with a different request, or while the first is still running.
  idempotency_key_reused: {
    status: 422,
    title: 'Idempotency key used for another request',
    retryable: false,
  },
  idempotency_key_in_progress: {
    status: 409,
    title: 'A request with this idempotency key is in progress',
    retryable: true,
  },
  payload_too_large: { status: 413, title: 'Payload too large', retryable: false },
  unsupported_media_type: { status: 415, title: 'Unsupported media type', retryable: false },
  // Retryable after the delay the server asks for (Retry-After).
  too_many_requests: { status: 429, title: 'Too many requests', retryable: true },
  internal: { status: 500, title: 'Internal error', retryable: false },
  service_unavailable: { status: 503, title: 'Service unavailable', retryable: true },
  timeout: { status: 504, title: 'Timed out', retryable: true },
  // Read-your-writes: the read model did not reach the position the query asked for in time.
  read_model_behind: { status: 503, title: 'The read model has not caught up yet', retryable: true },
  // Command handling (packages/runtime). If-Match: the aggregate is not at the version the client named.
  version_mismatch: { status: 412, title: 'The resource is not at the expected version', retryable: false },
  // Concurrent writers kept taking the aggregate's next version for every retry: a later try can win.
  concurrency_conflict: { status: 409, title: 'Too many concurrent changes; try again', retryable: true },
  invalid_status_transition: { status: 409, title: 'This status change is not allowed', retryable: false },
  // Catalog: pets (seed 002).
  pet_not_found: { status: 404, title: 'Pet not found', retryable: false },
  pet_already_exists: { status: 409, title: 'A pet with this id exists', retryable: false },
  pet_not_available: { status: 409, title: 'The pet is not available', retryable: false },
  pet_reserved: { status: 409, title: 'The pet is reserved by an order', retryable: false },
  reservation_mismatch: { status: 409, title: 'The pet is not reserved by this order', retryable: false },
  // Catalog: pet photos, and the Petstore API at /api/v3 (its "Validation exception").
  pet_photo_limit: { status: 409, title: 'The pet has as many photos as it may', retryable: false },
  validation_exception: { status: 422, title: 'Validation exception', retryable: false },
  // Identity: users and sessions.
  user_not_found: { status: 404, title: 'User not found', retryable: false },
  user_already_exists: { status: 409, title: 'A user with this username exists', retryable: false },
  username_immutable: { status: 400, title: 'A username cannot change', retryable: false },
  // The Petstore's loginUser answers a bad username or password with 400 (the native API with 401).
  invalid_credentials: { status: 400, title: 'Invalid username/password supplied', retryable: false },
  // Catalog: supplies (products) and their reviews.
  product_not_found: { status: 404, title: 'Product not found', retryable: false },
  product_already_exists: { status: 409, title: 'A product with this SKU exists', retryable: false },
  product_discontinued: { status: 409, title: 'The product is discontinued', retryable: false },
  review_exists: { status: 409, title: 'You have reviewed this product already', retryable: false },
  review_not_found: { status: 404, title: 'Review not found', retryable: false },
  // Inventory: stock per SKU, reservations per order.
  insufficient_stock: { status: 409, title: 'Not enough stock', retryable: false },
  stock_already_reserved: { status: 409, title: 'The order holds stock of this SKU', retryable: false },
  stock_reservation_not_found: { status: 409, title: 'The order holds none of this SKU', retryable: false },
  // Ordering: orders (seed 003's state machine, 002's statuses).
  order_not_found: { status: 404, title: 'Order not found', retryable: false },
  order_already_exists: { status: 409, title: 'An order with this id exists', retryable: false },
  // Cart (helper F, issue 6): a user's cart and its checkout.
  cart_item_not_found: { status: 404, title: 'The cart has no such item', retryable: false },
  cart_empty: { status: 409, title: 'The cart is empty', retryable: false },
  price_changed: { status: 409, title: 'Prices changed since they were added to the cart', retryable: false },
  // Shipping (helper F, issue 6): shipments of orders.
  shipment_not_found: { status: 404, title: 'Shipment not found', retryable: false },
  shipment_already_exists: { status: 409, title: 'The order has a shipment', retryable: false },
  shipping_unavailable: { status: 422, title: 'The shop does not ship to this address', retryable: false },
  // Payments (helper E, issue 6): payments of orders, the payment provider and its webhooks.
  payment_not_found: { status: 404, title: 'Payment not found', retryable: false },
  payment_already_exists: { status: 409, title: 'The order has a payment', retryable: false },
  payment_declined: { status: 402, title: 'The payment was declined', retryable: false },
  payment_invalid_state: { status: 409, title: 'The payment’s status does not allow this', retryable: false },
  refund_exceeds_captured: { status: 422, title: 'The refund exceeds what was captured', retryable: false },
  webhook_signature_invalid: { status: 401, title: 'The webhook signature is invalid', retryable: false },
  // Notifications (helper G, issue 6): messages to users (their emails).
  message_not_found: { status: 404, title: 'Message not found', retryable: false },
} as const satisfies Record<string, ErrorSpec>;

/** A stable error code: the key clients and other processes switch on. */
export type ErrorCode = keyof typeof errorTable;

/** The table, read-only, for docs generation and tests. */
export const errorCodes: Readonly<Record<ErrorCode, ErrorSpec>> = errorTable;

/** Narrows a string (e.g. from another process) to a known code. */
export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(errorTable, value);
}

/** The table entry for a code. */
export function errorSpec(code: ErrorCode): ErrorSpec {
  return errorTable[code];
}

/** Media type of every error body (RFC 9457). */
export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

const PROBLEM_TYPE_BASE = 'https://optic-mart.dev/problems/';

/** The problem `type` URI of a code. */
export function problemType(code: ErrorCode): string {
  return PROBLEM_TYPE_BASE + code;
}

/** One bad field of a rejected input; `field` is a path such as `body.tags[0].name`. */
export interface FieldError {
  readonly field: string;
  readonly message: string;
}

/** An RFC 9457 problem body as Optic Mart sends it. */
export interface ProblemDetails {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly code: ErrorCode;
  readonly instance?: string;
  readonly errors?: readonly FieldError[];
  readonly [extension: string]: unknown;
}

export interface AppErrorOptions {
  /** Extension members merged into the problem body, e.g. `{ currentVersion: 7 }` for wrong_version. */
  readonly extra?: Readonly<Record<string, unknown>>;
  /** Per-field reasons, for validation_failed. */
  readonly errors?: readonly FieldError[];
  readonly cause?: unknown;
}

/** An error the system returns on purpose: its code decides the status, title and retryability. */
export class AppError extends Error {
  override name = 'AppError';
  readonly code: ErrorCode;
  readonly status: number;
  readonly title: string;
  readonly retryable: boolean;
  /** Human-readable explanation of this occurrence; safe to show to the client. */
  readonly detail: string;
  readonly extra: Readonly<Record<string, unknown>> | undefined;
  readonly errors: readonly FieldError[] | undefined;

  constructor(code: ErrorCode, detail?: string, options: AppErrorOptions = {}) {
    const spec = errorTable[code];
    super(detail ?? spec.title, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = spec.status;
    this.title = spec.title;
    this.retryable = spec.retryable;
    this.detail = detail ?? spec.title;
    this.extra = options.extra;
    this.errors = options.errors;
  }
}

/** Whether a value is an AppError. */
export function isAppError(value: unknown): value is AppError {
  return value instanceof AppError;
}

/** Whether retrying the failed operation can help; unknown errors are not retried. */
export function isRetryable(err: unknown): boolean {
  return isAppError(err) && err.retryable;
}

// Members the extras may not overwrite: a careless extra must not change the status a client sees.
const reservedMembers = new Set(['type', 'title', 'status', 'detail', 'code', 'instance', 'errors']);

/**
 * The problem+json body for an error. Anything that is not an AppError becomes `internal`
 * with a generic detail: its message may hold SQL, paths or secrets, and the stack never
 * leaves the process.
 */
export function toProblem(err: unknown, instance?: string): ProblemDetails {
  const appError = isAppError(err) ? err : new AppError('internal', 'An unexpected error occurred.');
  const extensions = Object.entries(appError.extra ?? {}).filter(([key]) => !reservedMembers.has(key));
  return {
    type: problemType(appError.code),
    title: appError.title,
    status: appError.status,
    detail: appError.detail,
    code: appError.code,
    ...(instance !== undefined && { instance }),
    ...Object.fromEntries(extensions),
    ...(appError.errors !== undefined && appError.errors.length > 0 && { errors: appError.errors }),
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function fieldErrorsFrom(value: unknown): FieldError[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const text = (v: unknown): string => (typeof v === 'string' ? v : '');
  return value.filter(isRecord).map((e) => ({ field: text(e.field), message: text(e.message) }));
}

// Only generic codes: a bare status says nothing about streams or version tags.
const genericCodes: readonly ErrorCode[] = [
  'bad_request',
  'unauthorized',
  'forbidden',
  'not_found',
  'conflict',
  'payload_too_large',
  'unsupported_media_type',
  'too_many_requests',
  'internal',
  'service_unavailable',
  'timeout',
];

/**
 * The generic code for a bare HTTP status, else bad_request for other 4xx and internal for
 * the rest. For when all we have is a status: a framework error, or a peer answering with a
 * code this build does not know yet (a rolling deploy).
 */
export function errorCodeForStatus(status: number): ErrorCode {
  const exact = genericCodes.find((code) => errorTable[code].status === status);
  if (exact !== undefined) return exact;
  // A proxy's 502 means the service behind it is restarting or gone: worth a retry.
  if (status === 502) return 'service_unavailable';
  return status >= 400 && status < 500 ? 'bad_request' : 'internal';
}

/**
 * Rebuilds an AppError from a problem body received from another process, so the caller
 * can rethrow it or decide on a retry by its code. `status` is the HTTP status the body came
 * with, used when the body is not a problem at all (a proxy's HTML page, say).
 */
export function problemFromJson(body: unknown, status = 500): AppError {
  if (!isRecord(body)) {
    return new AppError(errorCodeForStatus(status), `Upstream answered ${status} without a problem body.`);
  }
  const bodyStatus = typeof body.status === 'number' ? body.status : status;
  const code = isErrorCode(body.code) ? body.code : errorCodeForStatus(bodyStatus);
  const extra: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(body)) {
    if (!reservedMembers.has(key)) extra[key] = value;
  }
  const errors = fieldErrorsFrom(body.errors);
  return new AppError(code, typeof body.detail === 'string' ? body.detail : undefined, {
    ...(Object.keys(extra).length > 0 && { extra }),
    ...(errors !== undefined && { errors }),
  });
}
