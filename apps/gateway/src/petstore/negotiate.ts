// Content negotiation for the Petstore API: a response is JSON unless the client's Accept header
// prefers XML (application/xml or text/xml over application/json).
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ComponentName, OpenApiSchema } from './contract.js';
import { toXml } from './representations.js';

/** A component, or `[component]` for an array of it. */
export type PetstoreShape = ComponentName | readonly [ComponentName];

export function shapeSchema(shape: PetstoreShape): OpenApiSchema {
  return typeof shape === 'string'
    ? { $ref: `#/components/schemas/${shape}` }
    : { type: 'array', items: { $ref: `#/components/schemas/${shape[0]}` } };
}

interface Preference {
  readonly type: string;
  readonly q: number;
}

function preferences(accept: string): Preference[] {
  return accept.split(',').map((part) => {
    const [type = '', ...params] = part.split(';').map((s) => s.trim().toLowerCase());
    const q = params.find((p) => p.startsWith('q='));
    const weight = q === undefined ? 1 : Number(q.slice(2));
    return { type, q: Number.isFinite(weight) ? weight : 0 };
  });
}

const qualityOf = (prefs: readonly Preference[], types: readonly string[]): number =>
  Math.max(0, ...prefs.filter((p) => types.includes(p.type)).map((p) => p.q));

/** Whether the request's Accept header prefers XML to JSON (JSON wins ties and wildcards). */
export function prefersXml(request: FastifyRequest): boolean {
  const accept = request.headers.accept;
  if (accept === undefined || accept === '') return false;
  const prefs = preferences(accept);
  const xml = qualityOf(prefs, ['application/xml', 'text/xml']);
  const json = qualityOf(prefs, ['application/json', 'application/*', '*/*']);
  return xml > 0 && xml > json;
}

/**
 * Sends `value` (already in the contract's shape) as JSON, or as XML when the client prefers it
 * and the operation offers it (`xml: false` for those that list JSON only, such as uploadFile).
 * Routes that send JSON themselves get the same XML from the /api/v3 scope's onSend hook.
 */
export function sendPetstore(
  request: FastifyRequest,
  reply: FastifyReply,
  shape: PetstoreShape,
  value: unknown,
  options: { readonly xml?: boolean; readonly status?: number } = {},
): FastifyReply {
  reply.code(options.status ?? 200);
  if (options.xml !== false && prefersXml(request)) {
    return reply.type('application/xml; charset=utf-8').send(toXml(value, shapeSchema(shape)));
  }
  return reply.type('application/json; charset=utf-8').send(JSON.stringify(value));
}
