// Notifications in the native API: a user's own messages (the `messages` read model) and, for
// admins, the local mailbox the notifier delivers to when no SMTP server is configured.
import type pg from 'pg';
// Its types give route schemas the OpenAPI `tags` and `summary`.
import type {} from '@fastify/swagger';
import type { HttpServer } from '@optic-mart/platform';
import type { AnyProjection, ReadModels } from '@optic-mart/runtime';
import {
  messagesProjection,
  messageStatuses,
  readMailbox,
  type MailboxPage,
  type MessageView,
} from '@optic-mart/notifications';
import { onlyRoles, requireUser } from '../auth/index.js';
import {
  pagingProperties,
  readAfter,
  readAfterHeaders,
  withCursorField,
  type ReadAfter,
} from '../read-support.js';

/** The read models these routes query: the gateway's ReadModels must list them. */
export const notificationsProjections: readonly AnyProjection[] = [messagesProjection];

const MESSAGES = messagesProjection.name;

const messagesQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    status: { type: 'string', enum: messageStatuses },
    ...pagingProperties,
  },
} as const;

const mailboxQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    userId: { type: 'string', minLength: 1, maxLength: 16, pattern: '^[1-9][0-9]{0,15}$' },
    limit: pagingProperties.limit,
    cursor: { type: 'string', minLength: 1, maxLength: 19, pattern: '^[1-9][0-9]{0,18}$' },
  },
} as const;

export interface NotificationRouteOptions {
  readonly readModels: ReadModels;
  /** The event store's database, where the notifier keeps the local mailbox (schema `notifications`). */
  readonly pool: pg.Pool;
  /** How long a query naming a position waits for the read model before 503 read_model_behind. */
  readonly readWaitMs: number;
}

export function registerNotifications(app: HttpServer, options: NotificationRouteOptions): void {
  const { readModels, pool, readWaitMs } = options;

  app.get<ReadAfter & { Querystring: { status?: MessageView['status']; limit?: number; cursor?: string } }>(
    '/api/users/me/messages',
    {
      schema: {
        tags: ['notifications'],
        summary: 'The caller’s own messages (emails about their orders), newest first',
        querystring: messagesQuery,
        headers: readAfterHeaders,
      },
      preValidation: onlyRoles(),
    },
    async (request) => {
      const principal = requireUser(request);
      await readAfter(readModels, MESSAGES, request, readWaitMs);
      const { status, limit, cursor } = request.query;
      const page = await withCursorField(() =>
        readModels.find<MessageView>(MESSAGES, {
          where: { user_id: principal.userId, ...(status ? { status } : {}) },
          sort: '-queued_at',
          ...(limit ? { limit } : {}),
          ...(cursor ? { cursor } : {}),
        }),
      );
      return { items: page.items, nextCursor: page.nextCursor };
    },
  );

  app.get<{ Querystring: { userId?: string; limit?: number; cursor?: string } }>(
    '/api/notifications/mailbox',
    {
      schema: {
        tags: ['notifications'],
        summary: 'Admins: every message in the local mailbox, newest first (of one user with userId)',
        querystring: mailboxQuery,
      },
      preValidation: onlyRoles('admin'),
    },
    async (request): Promise<MailboxPage> => {
      const { userId, limit, cursor } = request.query;
      try {
        return await readMailbox(pool, {
          ...(userId ? { userId } : {}),
          ...(limit ? { limit } : {}),
          ...(cursor ? { cursor } : {}),
        });
      } catch (err) {
        // No notifier has run yet: its tables do not exist, and the mailbox is empty.
        if ((err as { code?: string }).code === '42P01') return { items: [], nextCursor: null };
        throw err;
      }
    },
  );
}
