/**
 * Turns whatever a request handler, a hook, the body parser or a schema validator threw into
 * an AppError, so the HTTP error handler has exactly one kind of error to render.
 */
import { z } from 'zod';
import { AppError, errorCodeForStatus, isAppError } from './errors.js';
import type { FieldError } from './errors.js';

/** One failed keyword as Ajv (Fastify's validator) reports it. */
interface SchemaValidationError {
  readonly keyword: string;
  readonly instancePath: string;
  readonly params: Readonly<Record<string, unknown>>;
  readonly message?: string;
}

interface FrameworkError extends Error {
  readonly code?: unknown;
  readonly statusCode?: unknown;
  readonly validation?: readonly SchemaValidationError[];
  readonly validationContext?: string;
}

// `querystring` is Fastify's name; clients know it as the query.
const contextNames: Readonly<Record<string, string>> = { querystring: 'query' };

const identifier = /^[A-Za-z_$][\w$]*$/;

/** Renders path segments as `body.tags[0].name` (odd keys as `["a key"]`). */
export function fieldPath(prefix: string | undefined, segments: readonly (string | number)[]): string {
  let path = prefix ?? '';
  for (const segment of segments) {
    if (typeof segment === 'number' || /^\d+$/.test(segment)) path += `[${segment}]`;
    else if (identifier.test(segment)) path += path === '' ? segment : `.${segment}`;
    else path += `[${JSON.stringify(segment)}]`;
  }
  return path === '' ? '(root)' : path;
}

// Ajv's instancePath is a JSON Pointer (RFC 6901): "/tags/0/name", with ~1 for "/" and ~0 for "~".
function pointerSegments(pointer: string): string[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function fromSchemaError(error: SchemaValidationError, context: string | undefined): FieldError {
  const segments = pointerSegments(error.instancePath);
  const prefix = context === undefined ? undefined : (contextNames[context] ?? context);
  const { missingProperty, additionalProperty } = error.params;
  // Ajv reports a missing or extra property on its parent object; name the property itself.
  if (error.keyword === 'required' && typeof missingProperty === 'string') {
    return { field: fieldPath(prefix, [...segments, missingProperty]), message: 'is required' };
  }
  if (error.keyword === 'additionalProperties' && typeof additionalProperty === 'string') {
    return { field: fieldPath(prefix, [...segments, additionalProperty]), message: 'is not allowed' };
  }
  return { field: fieldPath(prefix, segments), message: error.message ?? `fails ${error.keyword}` };
}

function fromZodError(error: z.ZodError, context: string | undefined): AppError {
  const prefix = context === undefined ? undefined : (contextNames[context] ?? context);
  const errors = error.issues.map((issue) => ({
    field: fieldPath(
      prefix,
      issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p)),
    ),
    message: issue.message,
  }));
  return new AppError('validation_failed', describe(errors), { errors });
}

function describe(errors: readonly FieldError[]): string {
  const fields = [...new Set(errors.map((e) => e.field))];
  return `Invalid ${fields.length === 1 ? 'field' : 'fields'}: ${fields.join(', ')}.`;
}

function isFrameworkError(error: unknown): error is FrameworkError {
  return error instanceof Error;
}

/**
 * The AppError for anything thrown while handling a request; unknown errors become
 * `internal`, with the original as `cause` for the log. `bodyLimit` is the route's limit,
 * quoted back to a client whose body was too large.
 */
export function appErrorFrom(error: unknown, options: { bodyLimit: number }): AppError {
  if (isAppError(error)) return error;
  if (!isFrameworkError(error)) return internalError(error);
  const context = error.validationContext;
  // A zod schema used as a route validator (Fastify then sets validationContext), or parsed
  // in a handler (no context: the paths start at whatever was parsed).
  if (error instanceof z.ZodError) return fromZodError(error, context);

  if (error.validation !== undefined) {
    const errors = error.validation.map((e) => fromSchemaError(e, context));
    return new AppError('validation_failed', describe(errors), { errors, cause: error });
  }
  // A custom validator that returned a plain Error: no fields to name, but still a validation failure.
  if (error.code === 'FST_ERR_VALIDATION') {
    return new AppError('validation_failed', error.message, { cause: error });
  }
  switch (error.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new AppError('bad_request', 'The request body is not valid JSON.', { cause: error });
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new AppError('bad_request', 'The request body is empty but its content type is JSON.', {
        cause: error,
      });
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new AppError('payload_too_large', `The request body exceeds ${options.bodyLimit} bytes.`, {
        extra: { limit: options.bodyLimit },
        cause: error,
      });
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new AppError(
        'unsupported_media_type',
        'This route does not accept the content type of the request body.',
        {
          cause: error,
        },
      );
  }
  // Other client errors from Fastify or a plugin (bad Content-Length, a rate limiter …): their
  // messages are written for clients. A 5xx statusCode says nothing safe to repeat.
  const status = typeof error.statusCode === 'number' ? error.statusCode : 500;
  if (status >= 400 && status < 500) {
    return new AppError(errorCodeForStatus(status), error.message, { cause: error });
  }
  if (status === 503 || status === 504) {
    return new AppError(errorCodeForStatus(status), undefined, { cause: error });
  }
  return internalError(error);
}

function internalError(cause: unknown): AppError {
  return new AppError('internal', 'An unexpected error occurred.', { cause });
}
