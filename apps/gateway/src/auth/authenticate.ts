// Authentication for every request: `Authorization: Bearer <token>`, or the Petstore's `api_key`
// header carrying the same token. No credentials = anonymous (routes decide with policy.ts); bad
// credentials = 401 whatever the route, so that a client never mistakes a broken token for
// anonymous access.
import type { FastifyRequest } from 'fastify';
import { AppError, type HttpServer } from '@optic-mart/platform';
import type { Principal } from './principal.js';
import type { SessionStore } from './sessions.js';
import type { TokenService } from './tokens.js';

const MAX_TOKEN_LENGTH = 4096;

function credentialsOf(request: FastifyRequest): string | null {
  const { authorization } = request.headers;
  const apiKey = request.headers['api_key'];
  if (authorization !== undefined) {
    const match = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/i.exec(authorization.trim());
    if (!match)
      throw new AppError('unauthorized', 'The Authorization header must be "Bearer <access token>".');
    return match[1]!;
  }
  if (apiKey !== undefined) {
    const value = Array.isArray(apiKey) ? apiKey[0] : apiKey;
    if (!value) throw new AppError('unauthorized', 'The api_key header is empty.');
    return value.trim();
  }
  return null;
}

export function registerAuthentication(
  app: HttpServer,
  deps: { tokens: TokenService; sessions: SessionStore },
): void {
  app.decorateRequest('principal', null);
  app.addHook('onRequest', async (request, reply) => {
    request.principal = null;
    let token: string | null;
    try {
      token = credentialsOf(request);
      if (token === null) return;
      if (token.length > MAX_TOKEN_LENGTH)
        throw new AppError('unauthorized', 'The access token is not valid.');
      const principal: Principal = await deps.tokens.verify(token);
      if (!(await deps.sessions.isOpen(principal))) {
        throw new AppError('unauthorized', 'This session has ended; log in again.');
      }
      request.principal = principal;
    } catch (err) {
      reply.header('WWW-Authenticate', 'Bearer realm="optic-mart", error="invalid_token"');
      throw err;
    }
  });
}
