// The identity context's `users` read model, for the admins' list of users: one document per
// registered user (by username), never the password hash. A deleted user's document is removed,
// and a rebuild after their personal data was erased reads it as null, so it converges the same.
import type { DocumentProjection, ProjectedEvent } from '@optic-mart/runtime';
import type {
  UserEventType,
  UserId,
  UserProfile,
  UserRegisteredData,
  UserRole,
  UserUpdatedData,
  Username,
} from '../domain/user.js';

/** A user as the admin list shows it. */
export interface UserView extends UserProfile {
  readonly id: UserId;
  readonly username: Username;
  readonly role: UserRole;
  readonly version: number;
}

const userEvents = [
  'UserRegistered',
  'UserUpdated',
  'UserPasswordChanged',
  'UserRoleChanged',
  'UserDeleted',
] as const satisfies readonly UserEventType[];

const record = (event: ProjectedEvent): Readonly<Record<string, unknown>> =>
  typeof event.data === 'object' && event.data !== null ? (event.data as Record<string, unknown>) : {};

function documentId(event: ProjectedEvent): string | null {
  const { username } = record(event);
  return typeof username === 'string' && username.length > 0 ? username : null;
}

const profileOf = (data: UserProfile): UserProfile => ({
  firstName: data.firstName ?? null,
  lastName: data.lastName ?? null,
  email: data.email ?? null,
  phone: data.phone ?? null,
  userStatus: data.userStatus ?? null,
});

function apply(doc: UserView | null, event: ProjectedEvent): UserView | null {
  const version = event.version;
  switch (event.type as UserEventType) {
    case 'UserRegistered': {
      const data = event.data as UserRegisteredData;
      return { id: data.userId, username: data.username, role: data.role, ...profileOf(data), version };
    }
    case 'UserUpdated':
      return doc && { ...doc, ...profileOf(event.data as UserUpdatedData), version };
    case 'UserPasswordChanged':
      return doc && { ...doc, version };
    case 'UserRoleChanged':
      return doc && { ...doc, role: record(event).role as UserRole, version };
    case 'UserDeleted':
      return null;
    default:
      return doc;
  }
}

/** `read.users`: registered users, filterable by role, sortable by username (the id) or user id. */
export const usersProjection: DocumentProjection<UserView> = {
  name: 'users',
  version: 1,
  category: 'user',
  events: userEvents,
  documentId,
  apply,
  columns: {
    role: { type: 'text', value: (user) => user.role, index: 'btree' },
    user_id: { type: 'bigint', value: (user) => user.id, index: 'btree' },
  },
  counters: { role: (user) => user.role },
  // No topics: users are not for the live-update stream, which anyone may subscribe to.
};
