// The public surface of @optic-mart/catalog.
export { OrderId, PetId } from './domain/ids.js';
export type { Branded } from './domain/ids.js';
export { petDecider, petErrorCodes, petStatuses } from './domain/pet.js';
export type {
  Category,
  OrderRef,
  Pet,
  PetCommand,
  PetCommandType,
  PetData,
  PetDetails,
  PetErrorCode,
  PetEvent,
  PetEventType,
  PetInput,
  PetState,
  PetStatus,
  Tag,
} from './domain/pet.js';
export {
  categorySchema,
  createPetSchema,
  deletePetSchema,
  idSchema,
  nameSchema,
  orderRefSchema,
  petCommandSchemas,
  petStatusSchema,
  photoUrlSchema,
  tagSchema,
  updatePetSchema,
} from './commands.js';
export type { JsonSchema, OrderRefBody, PetBody } from './commands.js';
export { catalogCommandRoutes, petCommandRoute, petIdOf, petStreamId } from './routes.js';
export { petsProjection } from './projections/pets.js';
export type { PetView } from './projections/pets.js';
