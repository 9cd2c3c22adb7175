// The public surface of @optic-mart/identity.
export {
  UserId,
  Username,
  initialState as initialUserState,
  personalFields,
  userDecider,
  userErrorCodes,
  userRoles,
} from './domain/user.js';
export type {
  ProfileInput,
  RegisterUserInput,
  UpdateUserInput,
  User,
  UserCommand,
  UserCommandType,
  UserErrorCode,
  UserEvent,
  UserEventType,
  UserProfile,
  UserRegisteredData,
  UserRole,
  UserState,
  UserUpdatedData,
} from './domain/user.js';
export {
  changeUserRoleSchema,
  deleteUserSchema,
  emailSchema,
  passwordHashSchema,
  personNameSchema,
  phoneSchema,
  profileProperties,
  registerUserSchema,
  updateUserSchema,
  userCommandSchemas,
  userIdSchema,
  userRoleSchema,
  userStatusSchema,
  usernameSchema,
} from './commands.js';
export type { JsonSchema } from './commands.js';
export { identityCommandRoutes, isUsername, userCommandRoute, userStreamId, usernameOf } from './routes.js';
export { usersProjection } from './projections/users.js';
export type { UserView } from './projections/users.js';
