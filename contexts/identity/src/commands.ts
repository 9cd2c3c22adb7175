// The identity context's commands as JSON Schemas: the worker checks every command with them
// (commands also come from scripts and the bootstrap), and the gateway builds its HTTP bodies from
// the same field schemas. Unknown properties are refused, never dropped.
import { userRoles, type UserCommandType } from './domain/user.js';

/** A JSON Schema as Fastify and Ajv take it. */
export type JsonSchema = Readonly<Record<string, unknown>>;

/** The Petstore's key and the stream id `user-<username>`: 1 to 64 plain characters. */
export const usernameSchema = {
  type: 'string',
  minLength: 1,
  maxLength: 64,
  pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$',
} as const;

/** A user id: an integer from 1 to 2^48 - 1, as text (the Petstore's int64 ids). */
export const userIdSchema = { type: 'string', pattern: '^[1-9][0-9]{0,14}$' } as const;

export const userRoleSchema = { type: 'string', enum: userRoles } as const;

export const personNameSchema = { type: 'string', maxLength: 100 } as const;
export const emailSchema = { type: 'string', format: 'email', maxLength: 254 } as const;
export const phoneSchema = { type: 'string', maxLength: 32, pattern: '^[0-9+(). /-]*$' } as const;
/** The Petstore's userStatus (int32), never negative here. */
export const userStatusSchema = { type: 'integer', minimum: 0, maximum: 2_147_483_647 } as const;

/** An argon2 hash in PHC form; commands carry it, never a password. */
export const passwordHashSchema = {
  type: 'string',
  minLength: 20,
  maxLength: 256,
  pattern: '^\\$argon2(?:id|i|d)\\$',
} as const;

/** The Petstore User's profile fields, all optional. */
export const profileProperties = {
  firstName: personNameSchema,
  lastName: personNameSchema,
  email: emailSchema,
  phone: phoneSchema,
  userStatus: userStatusSchema,
} as const;

export const registerUserSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['userId'],
  properties: {
    userId: userIdSchema,
    role: { ...userRoleSchema, default: 'customer' },
    passwordHash: passwordHashSchema,
    ...profileProperties,
  },
} as const;

export const updateUserSchema = {
  type: 'object',
  additionalProperties: false,
  description: 'Replaces the profile (an omitted field becomes empty); an omitted passwordHash is unchanged.',
  properties: {
    username: {
      ...usernameSchema,
      description: 'if given, must be the user’s own: a username never changes',
    },
    passwordHash: passwordHashSchema,
    ...profileProperties,
  },
} as const;

export const changeUserRoleSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['role'],
  properties: { role: userRoleSchema },
} as const;

export const deleteUserSchema = { type: 'object', additionalProperties: false, properties: {} } as const;

/** The data schema of each user command, by command type (the username comes from the stream). */
export const userCommandSchemas = {
  RegisterUser: registerUserSchema,
  UpdateUser: updateUserSchema,
  ChangeUserRole: changeUserRoleSchema,
  DeleteUser: deleteUserSchema,
} as const satisfies Record<UserCommandType, JsonSchema>;
