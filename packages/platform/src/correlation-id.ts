/**
 * The correlation id ties together everything one client request causes: the gateway's log
 * lines, the command, the worker's lines, the events and the projections they update.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

export const CORRELATION_ID_HEADER = 'x-correlation-id';

// The id lands in logs and message headers: a bounded, plain alphabet keeps a client from
// injecting newlines, control characters or megabytes of text there.
const acceptableId = /^[A-Za-z0-9._:-]{1,128}$/;

// W3C Trace Context: version-traceid-parentid-flags. Version ff and an all-zero trace id are invalid.
const traceparent = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})/;

function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** The trace id of a valid W3C `traceparent` header, or undefined. */
export function traceIdFrom(header: string | undefined): string | undefined {
  const match = header === undefined ? null : traceparent.exec(header.trim());
  if (match === null) return undefined;
  const [, version, traceId] = match;
  if (version === 'ff' || traceId === undefined || /^0+$/.test(traceId)) return undefined;
  return traceId;
}

/**
 * The request's correlation id: the caller's `X-Correlation-Id` if acceptable, else the
 * trace id of its `traceparent` (so logs and traces join on one id), else a new UUID.
 */
export function correlationIdFrom(headers: IncomingHttpHeaders): string {
  const given = firstHeader(headers[CORRELATION_ID_HEADER])?.trim();
  if (given !== undefined && acceptableId.test(given)) return given;
  return traceIdFrom(firstHeader(headers.traceparent)) ?? randomUUID();
}
