// The public surface of @optic-mart/catalog.
export { OrderId, PetId } from './domain/ids.js';
export type { Branded } from './domain/ids.js';
export { MAX_PET_PHOTOS, petDecider, petErrorCodes, petStatuses } from './domain/pet.js';
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
  PetPhoto,
  PetState,
  PetStatus,
  Tag,
} from './domain/pet.js';
export {
  addPetPhotoSchema,
  photoContentTypes,
  storedPhotoPathPattern,
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
// Supplies (products) and their reviews.
export { Sku, currencies, productDecider, productErrorCodes } from './domain/product.js';
export type {
  Currency,
  Product,
  ProductCommand,
  ProductCommandType,
  ProductData,
  ProductDetails,
  ProductEvent,
  ProductEventType,
  ProductInput,
  ProductState,
} from './domain/product.js';
export {
  MAX_RATING,
  MAX_REVIEW_TEXT_LENGTH,
  MIN_RATING,
  reviewDecider,
  reviewErrorCodes,
} from './domain/review.js';
export type {
  Review,
  ReviewCommand,
  ReviewCommandType,
  ReviewEvent,
  ReviewEventType,
  ReviewInput,
  ReviewRef,
  ReviewState,
} from './domain/review.js';
export {
  MAX_PRICE_CENTS,
  createProductRequestSchema,
  productBodySchema,
  productCommandSchemas,
  reviewBodySchema,
  reviewCommandSchemas,
  skuSchema,
  userIdSchema,
} from './product-commands.js';
export type { ProductBody, ReviewBody } from './product-commands.js';
export {
  productCommandRoute,
  productCommandRoutes,
  productStreamId,
  reviewCommandRoute,
  reviewRefOf,
  reviewStreamId,
  skuOf,
} from './product-routes.js';
export { productStatuses, productsProjection } from './projections/products.js';
export type { ProductRating, ProductStatus, ProductView } from './projections/products.js';
export { reviewDocumentId, reviewsProjection } from './projections/reviews.js';
export type { ReviewView } from './projections/reviews.js';
