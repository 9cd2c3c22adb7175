// The public surface of @optic-mart/cart: a user's cart (`cart-<userId>`) and its checkout.
export {
  cartDecider,
  cartErrorCodes,
  cartItemKey,
  cartTotal,
  orderLinesOf,
  repricedLines,
} from './domain/cart.js';
export type {
  CartCommand,
  CartCommandType,
  CartErrorCode,
  CartEvent,
  CartEventType,
  CartItem,
  CartState,
  NewCartItem,
  RepricedLine,
} from './domain/cart.js';
export {
  addCartItemSchema,
  cartCommandSchemas,
  cartItemKeySchema,
  changeCartItemSchema,
  checkOutSchema,
  checkoutBodySchema,
} from './commands.js';
export type { AddCartItemBody } from './commands.js';
export {
  addCartItemRoute,
  cartCommandRoutes,
  cartItemKeyOf,
  cartSnapshot,
  cartStreamId,
  cartUserOf,
  changeCartItemRoute,
  checkOutRoute,
  clearCartRoute,
  removeCartItemRoute,
} from './routes.js';
