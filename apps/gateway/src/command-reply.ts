import type { FastifyReply } from 'fastify';
import { AppError, isErrorCode } from '@optic-mart/platform';
import type { Outcome } from './dispatcher.js';

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
