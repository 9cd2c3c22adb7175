// The gateway's one authorization policy (issue 5): a customer sees and changes only their own
// data, sellers manage the catalog and approve orders, admins may do everything.
import type { FastifyRequest } from 'fastify';
import { AppError } from '@optic-mart/platform';
import type { Principal, Role } from './principal.js';

/** The request's user; 401 when it has none. */
export function requireUser(request: FastifyRequest): Principal {
  const { principal } = request;
  if (principal === null) throw new AppError('unauthorized', 'Log in first: this needs an access token.');
  return principal;
}

/** The request's user, who must hold one of `allowed` (admins always do); 401 or 403 otherwise. */
export function requireRole(request: FastifyRequest, ...allowed: readonly Role[]): Principal {
  const principal = requireUser(request);
  if (principal.role !== 'admin' && !allowed.includes(principal.role)) {
    throw new AppError('forbidden', `This needs the role ${[...allowed, 'admin'].join(' or ')}.`);
  }
  return principal;
}

/**
 * Whether `principal` may see or change what `ownerUserId` owns: its owner, an admin, or one of
 * the `also` roles (sellers, for orders). A caller that may not should answer 404, not 403, so
 * that nobody learns what exists in someone else's account.
 */
export function mayAct(principal: Principal, ownerUserId: string, ...also: readonly Role[]): boolean {
  return principal.userId === ownerUserId || principal.role === 'admin' || also.includes(principal.role);
}

/**
 * A route hook (preValidation) letting on only signed-in users — of these roles (and admins) when
 * some are named — before the body is even validated: nobody learns the schema's verdict on a
 * request they may not make.
 */
export const onlyRoles =
  (...allowed: readonly Role[]) =>
  async (request: FastifyRequest): Promise<void> => {
    if (allowed.length > 0) requireRole(request, ...allowed);
    else requireUser(request);
  };
