// The Petstore's user operations (contracts/petstore3-openapi.yaml, tag `user`), on the identity
// context. Paths are relative: the /api/v3 adapter mounts them under its prefix. The Petstore
// User's `id` is the integer id minted at registration (a client's id is not used); the password
// is never returned, nor its hash. Users register as customers. Reading, changing or deleting a
// user takes that user's token (or an admin's); anybody else's username answers 404. Responses are
// JSON (one of the types the contract offers); bodies JSON, XML or form (read by index.ts).
import type { FastifyReply } from 'fastify';
import { AppError, type HttpServer } from '@optic-mart/platform';
import { usernameSchema } from '@optic-mart/identity';
import { requireUser } from '../auth/index.js';
import type { Outcome } from '@optic-mart/messaging';
import type { IdentityService, UserDto } from '../identity/index.js';
import { petstoreSchemas } from './contract.js';

/** The identity service; by default the one the gateway's registerIdentity put on the server. */
export interface PetstoreUserDeps {
  readonly identity?: IdentityService;
}

/** A User as the Petstore request bodies carry it (validated by the contract's schema). */
interface PetstoreUserBody {
  readonly id?: number;
  readonly username?: string;
  readonly firstName?: string;
  readonly lastName?: string;
  readonly email?: string;
  readonly password?: string;
  readonly phone?: string;
  readonly userStatus?: number;
}

/** The Petstore User of a user: integer id, no password, no null members (the contract has none). */
export function toPetstoreUser(user: Omit<UserDto, 'version' | 'role'>): Record<string, unknown> {
  const out: Record<string, unknown> = { id: Number(user.id), username: user.username };
  for (const key of ['firstName', 'lastName', 'email', 'phone', 'userStatus'] as const) {
    const value = user[key];
    if (value !== null && value !== undefined) out[key] = value;
  }
  return out;
}

const userParams = {
  type: 'object',
  required: ['username'],
  properties: { username: usernameSchema },
} as const;

const loginQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    username: { type: 'string', maxLength: 64 },
    password: { type: 'string', maxLength: 128 },
  },
} as const;

const userListSchema = { type: 'array', minItems: 1, maxItems: 100, items: petstoreSchemas.User } as const;

const profileOf = (body: PetstoreUserBody) => ({
  ...(body.firstName !== undefined && { firstName: body.firstName }),
  ...(body.lastName !== undefined && { lastName: body.lastName }),
  ...(body.email !== undefined && { email: body.email }),
  ...(body.phone !== undefined && { phone: body.phone }),
  ...(body.userStatus !== undefined && { userStatus: body.userStatus }),
});

function usernameRequired(body: PetstoreUserBody, field: string): string {
  if (body.username === undefined) {
    throw new AppError('validation_failed', `${field} is required: a user is known by it.`, {
      errors: [{ field, message: 'is required' }],
    });
  }
  return body.username;
}

/** A Petstore User as JSON. */
const sendUser = (reply: FastifyReply, user: Record<string, unknown>): FastifyReply =>
  reply.code(200).type('application/json; charset=utf-8').send(JSON.stringify(user));

/** A command not answered in time: 202 and where to ask (the contract's `default`). */
function pending(reply: FastifyReply, outcome: Extract<Outcome, { kind: 'pending' }>): FastifyReply {
  return reply
    .code(202)
    .header('Location', `/api/commands/${outcome.commandId}`)
    .send({ commandId: outcome.commandId, status: 'pending' });
}

export function registerPetstoreUserRoutes(app: HttpServer, deps: PetstoreUserDeps = {}): void {
  const identity = deps.identity ?? (app.hasDecorator('identity') ? app.identity : undefined);
  if (identity === undefined) {
    throw new Error('the Petstore user operations need the identity service: call registerIdentity first');
  }

  const create = async (
    body: PetstoreUserBody,
    field: string,
    principal: Parameters<IdentityService['register']>[0],
    correlationId: string,
  ) => {
    const username = usernameRequired(body, field);
    const { userId, outcome } = await identity.register(
      principal,
      { username, ...profileOf(body), ...(body.password !== undefined && { password: body.password }) },
      correlationId,
    );
    return { outcome, user: toPetstoreUser({ id: userId, username, ...nulls, ...profileOf(body) }) };
  };

  // createUser
  app.post<{ Body: PetstoreUserBody }>(
    '/user',
    { schema: { body: petstoreSchemas.User } },
    async (request, reply) => {
      const { outcome, user } = await create(request.body, 'body.username', request.principal, request.id);
      if (outcome.kind === 'pending') return pending(reply, outcome);
      return reply.code(200).send(user);
    },
  );

  // createUsersWithListInput: one by one (each user is its own stream); answers the last one.
  app.post<{ Body: PetstoreUserBody[] }>(
    '/user/createWithList',
    { config: { operationId: 'createUsersWithListInput' }, schema: { body: userListSchema } },
    async (request, reply) => {
      const names = request.body.map((u, i) => usernameRequired(u, `body[${i}].username`));
      const twice = names.find((n, i) => names.indexOf(n) !== i);
      if (twice !== undefined) {
        throw new AppError('validation_failed', `The username ${twice} appears twice in the list.`, {
          errors: [{ field: `body[${names.lastIndexOf(twice)}].username`, message: 'appears twice' }],
        });
      }
      let last: Awaited<ReturnType<typeof create>> | undefined;
      for (const [i, body] of request.body.entries()) {
        last = await create(body, `body[${i}].username`, request.principal, request.id);
        if (last.outcome.kind === 'pending') return pending(reply, last.outcome);
      }
      return sendUser(reply, last!.user);
    },
  );

  // loginUser: the token as a JSON string; X-Rate-Limit (logins an hour) and X-Expires-After.
  app.get<{ Querystring: { username?: string; password?: string } }>(
    '/user/login',
    { config: { operationId: 'loginUser' }, schema: { querystring: loginQuery } },
    async (request, reply) => {
      const { username, password } = request.query;
      if (!username || !password) {
        throw new AppError('invalid_credentials', 'Give both a username and a password.');
      }
      const session = await identity.login(username, password, request.ip);
      // One answer for an unknown user and a wrong password: the contract's 400.
      if (session === null) throw new AppError('invalid_credentials', 'Invalid username/password supplied.');
      return reply
        .code(200)
        .header('X-Rate-Limit', String(identity.limiter.perHour))
        .header('X-Expires-After', session.expiresAt.toISOString())
        .header('Cache-Control', 'no-store')
        .type('application/json')
        .send(JSON.stringify(session.token));
    },
  );

  // logoutUser: ends the caller's session, if they have one.
  app.get('/user/logout', { config: { operationId: 'logoutUser' } }, async (request, reply) => {
    if (request.principal !== null) await identity.logout(request.principal);
    return reply.code(200).send();
  });

  // getUserByName
  app.get<{ Params: { username: string } }>(
    '/user/:username',
    { config: { operationId: 'getUserByName' }, schema: { params: userParams } },
    async (request, reply) => {
      const found = await identity.visible(requireUser(request), request.params.username);
      const { user } = found;
      reply.header('Cache-Control', 'no-store');
      return sendUser(reply, toPetstoreUser({ ...user, id: user.userId }));
    },
  );

  // updateUser: replaces the profile; the username may be repeated, never changed (400).
  app.put<{ Params: { username: string }; Body: PetstoreUserBody }>(
    '/user/:username',
    {
      config: { operationId: 'updateUser', petstoreBody: 'User' },
      schema: { params: userParams, body: petstoreSchemas.User },
    },
    async (request, reply) => {
      const { body } = request;
      const outcome = await identity.update(
        requireUser(request),
        request.params.username,
        {
          ...profileOf(body),
          ...(body.username !== undefined && { username: body.username }),
          ...(body.password !== undefined && { password: body.password }),
        },
        request.id,
      );
      if (outcome.kind === 'pending') return pending(reply, outcome);
      return reply.code(200).send();
    },
  );

  // deleteUser: ends their sessions and erases their personal data.
  app.delete<{ Params: { username: string } }>(
    '/user/:username',
    { config: { operationId: 'deleteUser' }, schema: { params: userParams } },
    async (request, reply) => {
      const outcome = await identity.remove(requireUser(request), request.params.username, request.id);
      if (outcome.kind === 'pending') return pending(reply, outcome);
      return reply.code(200).send();
    },
  );
}

const nulls = { firstName: null, lastName: null, email: null, phone: null, userStatus: null };
