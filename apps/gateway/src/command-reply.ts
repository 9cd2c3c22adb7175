import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError, isErrorCode } from '@optic-mart/platform';
import type { Principal } from './auth/index.js';
import type { CommandDispatcher, Outcome } from '@optic-mart/messaging';

/** The fields of a successful command's result the API shows. */
interface Applied {
  readonly version: number;
  readonly position: number;
}

/**
 * Turns a command's outcome into the HTTP answer: success as `status` with the resource's
 * location and version (also as ETag), a refusal as its problem+json, no reply in time as 202
 * with the status URL.
 */
export function replyWithOutcome(
  reply: FastifyReply,
  outcome: Outcome,
  success: { status: 200 | 201; location: string; body: Record<string, unknown> },
): FastifyReply {
  if (outcome.kind === 'pending') {
    return reply
      .code(202)
      .header('Location', `/api/commands/${outcome.commandId}`)
      .send({ commandId: outcome.commandId, status: 'pending' });
  }
  const { status } = outcome;
  if (status.status === 'failed') {
    const code = isErrorCode(status.error.code) ? status.error.code : 'internal';
    throw new AppError(code, status.error.detail, status.error.extra ? { extra: status.error.extra } : {});
  }
  const applied = status.result as unknown as Applied;
  return reply
    .code(success.status)
    .header('Location', success.location)
    .header('ETag', `"${applied.version}"`)
    .send({ ...success.body, version: applied.version, position: applied.position });
}

/**
 * For APIs with no 202 (the Petstore's): the position a command's events were written at, or its
 * refusal thrown as its AppError; a reply not in time is a 504 naming the status URL to follow.
 */
export function appliedPosition(outcome: Outcome): number {
  if (outcome.kind === 'pending') {
    throw new AppError(
      'timeout',
      `The change is accepted but not applied yet; see /api/commands/${outcome.commandId}.`,
      { extra: { commandId: outcome.commandId, retryAfter: 1 } },
    );
  }
  const { status } = outcome;
  if (status.status === 'failed') {
    const code = isErrorCode(status.error.code) ? status.error.code : 'internal';
    throw new AppError(code, status.error.detail, status.error.extra ? { extra: status.error.extra } : {});
  }
  return (status.result as unknown as Applied).position;
}

/**
 * Sends a command on behalf of the request's user: the correlation id is the request's, the user is
 * recorded in the events' metadata, and `If-Match` (a write's ETag `"3"`, or a read's
 * `"3-<more>"`) makes it conditional unless `expectedVersion` says otherwise.
 */
export function sendCommand(
  dispatcher: CommandDispatcher,
  request: FastifyRequest,
  principal: Principal,
  command: { context: string; type: string; aggregateId: string; data: unknown; expectedVersion?: number },
): Promise<Outcome> {
  const { expectedVersion = expectedVersionOf(request), ...rest } = command;
  return dispatcher.dispatch({
    ...rest,
    ...(expectedVersion !== undefined ? { expectedVersion } : {}),
    metadata: { correlationId: request.id, userId: principal.userId },
  });
}

/** The version a request's If-Match names: a write's ETag `"3"`, or a read's `"3-<count>-<sum>"`. */
function expectedVersionOf(request: FastifyRequest): number | undefined {
  // One If-Match header (a list of them names no single version; the first one counts).
  const header = request.headers['if-match'];
  const ifMatch = typeof header === 'object' ? header[0] : header;
  const read = ifMatch === undefined ? null : /^\s*(?:W\/)?"(\d+)-\d+-\d+"\s*$/.exec(ifMatch);
  return read ? Number(read[1]) : ifMatchVersion(ifMatch);
}

/** The version an `If-Match: "5"` asks for, or undefined without one. */
export function ifMatchVersion(header: string | undefined): number | undefined {
  if (header === undefined) return undefined;
  const match = /^\s*(?:W\/)?"(\d+)"\s*$/.exec(header);
  if (!match) {
    throw new AppError('validation_failed', 'If-Match must be an ETag this API gave out, such as "3"', {
      errors: [{ field: 'headers.if-match', message: 'must be a version ETag such as "3"' }],
    });
  }
  return Number(match[1]);
}
