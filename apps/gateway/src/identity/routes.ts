// The identity context's native API: users and sessions.
//   POST   /api/users                    register (anyone: a customer; an admin: any role)
//   POST   /api/sessions                 log in → { token, expiresAt }
//   DELETE /api/sessions/current         log out (this token's session)
//   GET    /api/users/me                 the caller
//   GET    /api/users                    admins: the list, by role, paged
//   GET|PUT|DELETE /api/users/{username} the caller themselves, or an admin (anyone else: 404)
//   PUT    /api/users/{username}/role    admins: change a role (the user's sessions end)
import { AppError, type HttpServer } from '@optic-mart/platform';
import type { ReadModels } from '@optic-mart/runtime';
import {
  profileProperties,
  userRoleSchema,
  usernameSchema,
  usersProjection,
  type UserRole,
  type UserView,
} from '@optic-mart/identity';
import { requireRole, requireUser } from '../auth/index.js';
import { ifMatchVersion, replyWithOutcome } from '../command-reply.js';
import {
  etagMatches,
  pagingProperties,
  readAfter,
  readAfterHeaders,
  withCursorField,
} from '../read-support.js';
import { toUserDto, type IdentityService } from './service.js';

const USERS = usersProjection.name;

/** A password as clients send it (hashed at once; never stored, logged or sent on). */
export const passwordSchema = { type: 'string', minLength: 8, maxLength: 128 } as const;

const registerBody = {
  type: 'object',
  additionalProperties: false,
  required: ['username', 'password'],
  properties: {
    username: usernameSchema,
    password: passwordSchema,
    role: { ...userRoleSchema, description: 'customer (the default); only an admin may ask for another' },
    ...profileProperties,
  },
} as const;

const updateBody = {
  type: 'object',
  additionalProperties: false,
  description: 'Replaces the profile (omitted fields become empty); an omitted password stays.',
  properties: {
    username: { ...usernameSchema, description: 'may be repeated, never changed' },
    password: passwordSchema,
    ...profileProperties,
  },
} as const;

const loginBody = {
  type: 'object',
  additionalProperties: false,
  required: ['username', 'password'],
  // Loose on purpose: a username that cannot exist fails like a wrong password, not with a 400.
  properties: {
    username: { type: 'string', minLength: 1, maxLength: 64 },
    password: { type: 'string', minLength: 1, maxLength: 128 },
  },
} as const;

const roleBody = {
  type: 'object',
  additionalProperties: false,
  required: ['role'],
  properties: { role: userRoleSchema },
} as const;

const userParams = {
  type: 'object',
  required: ['username'],
  properties: { username: usernameSchema },
} as const;

const sorts = ['id', 'user_id', 'role'].flatMap((s) => [s, `-${s}`]);

const listQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    role: userRoleSchema,
    sort: { type: 'string', enum: sorts },
    ...pagingProperties,
  },
} as const;

interface UserBody {
  readonly username?: string;
  readonly password?: string;
  readonly role?: UserRole;
  readonly firstName?: string;
  readonly lastName?: string;
  readonly email?: string;
  readonly phone?: string;
  readonly userStatus?: number;
}

export interface IdentityRouteOptions {
  /** How long a list naming a position (`?after=`) waits for the users read model. */
  readonly readWaitMs: number;
}

export function registerIdentityRoutes(
  app: HttpServer,
  identity: IdentityService,
  readModels: ReadModels,
  options: IdentityRouteOptions,
): void {
  app.post<{ Body: UserBody & { username: string; password: string } }>(
    '/api/users',
    { schema: { body: registerBody } },
    async (request, reply) => {
      const { body } = request;
      const { userId, outcome } = await identity.register(request.principal, body, request.id);
      return replyWithOutcome(reply, outcome, {
        status: 201,
        location: `/api/users/${body.username}`,
        body: { id: userId, username: body.username, role: body.role ?? 'customer' },
      });
    },
  );

  app.post<{ Body: { username: string; password: string } }>(
    '/api/sessions',
    { schema: { body: loginBody } },
    async (request, reply) => {
      const { username, password } = request.body;
      const session = await identity.login(username, password, request.ip);
      // The same answer for an unknown user and a wrong password: nobody learns who has an account.
      if (session === null) throw new AppError('unauthorized', 'The username or password is wrong.');
      const { principal, token, expiresAt } = session;
      return reply
        .code(201)
        .header('Cache-Control', 'no-store')
        .send({
          token,
          tokenType: 'Bearer',
          expiresAt: expiresAt.toISOString(),
          user: { id: principal.userId, username: principal.username, role: principal.role },
        });
    },
  );

  app.delete('/api/sessions/current', async (request, reply) => {
    await identity.logout(requireUser(request));
    return reply.code(204).send();
  });

  app.get('/api/users/me', async (request, reply) => {
    const principal = requireUser(request);
    const found = await identity.visible(principal, principal.username);
    return reply
      .header('ETag', `"${found.version}"`)
      .header('Cache-Control', 'no-store')
      .send(toUserDto(found));
  });

  app.get<{
    Querystring: { role?: UserRole; sort?: string; limit?: number; cursor?: string; after?: number };
    Headers: { 'x-read-after'?: number };
  }>(
    '/api/users',
    { schema: { querystring: listQuery, headers: readAfterHeaders } },
    async (request, reply) => {
      requireRole(request, 'admin');
      await readAfter(readModels, USERS, request, options.readWaitMs);
      const { role, sort, limit, cursor } = request.query;
      const page = await withCursorField(() =>
        readModels.find<UserView>(USERS, {
          where: role ? { role } : {},
          ...(sort ? { sort } : {}),
          ...(limit ? { limit } : {}),
          ...(cursor ? { cursor } : {}),
        }),
      );
      return reply
        .header('Cache-Control', 'no-store')
        .send({ items: page.items, nextCursor: page.nextCursor });
    },
  );

  app.get<{ Params: { username: string } }>(
    '/api/users/:username',
    { schema: { params: userParams } },
    async (request, reply) => {
      const found = await identity.visible(requireUser(request), request.params.username);
      const etag = `"${found.version}"`;
      reply.header('ETag', etag).header('Cache-Control', 'no-store');
      if (etagMatches(request.headers['if-none-match'], etag)) return reply.code(304).send();
      return toUserDto(found);
    },
  );

  app.put<{ Params: { username: string }; Body: UserBody }>(
    '/api/users/:username',
    { schema: { params: userParams, body: updateBody } },
    async (request, reply) => {
      const { username } = request.params;
      const ifMatch: unknown = request.headers['if-match'];
      const expectedVersion = ifMatchVersion(typeof ifMatch === 'string' ? ifMatch : undefined);
      const outcome = await identity.update(
        requireUser(request),
        username,
        request.body,
        request.id,
        expectedVersion,
      );
      return replyWithOutcome(reply, outcome, {
        status: 200,
        location: `/api/users/${username}`,
        body: { username },
      });
    },
  );

  app.delete<{ Params: { username: string } }>(
    '/api/users/:username',
    { schema: { params: userParams } },
    async (request, reply) => {
      const { username } = request.params;
      const outcome = await identity.remove(requireUser(request), username, request.id);
      return replyWithOutcome(reply, outcome, {
        status: 200,
        location: `/api/users/${username}`,
        body: { username },
      });
    },
  );

  app.put<{ Params: { username: string }; Body: { role: UserRole } }>(
    '/api/users/:username/role',
    { schema: { params: userParams, body: roleBody } },
    async (request, reply) => {
      const admin = requireRole(request, 'admin');
      const { username } = request.params;
      const outcome = await identity.changeRole(admin, username, request.body.role, request.id);
      return replyWithOutcome(reply, outcome, {
        status: 200,
        location: `/api/users/${username}`,
        body: { username, role: request.body.role },
      });
    },
  );
}
