// The Pet aggregate (seed 002): available → pending (reserved by one order) → sold.
import { DomainError, type Decider } from '@optic-mart/runtime';
import type { OrderId, PetId } from './ids.js';

export const petStatuses = ['available', 'pending', 'sold'] as const;
export type PetStatus = (typeof petStatuses)[number];

export interface Category {
  readonly id?: number;
  readonly name: string;
}

export interface Tag {
  readonly id?: number;
  readonly name: string;
}

/** What UpdatePet replaces. */
export interface PetDetails {
  readonly name: string;
  readonly category: Category | null;
  readonly tags: readonly Tag[];
  readonly photoUrls: readonly string[];
}

export interface PetInput {
  readonly petId: PetId;
  readonly name: string;
  readonly category?: Category | null;
  readonly tags?: readonly Tag[];
  readonly photoUrls?: readonly string[];
  /** Omitted: `available` on create, unchanged on update. */
  readonly status?: PetStatus;
}

/** A stored photo (its bytes are kept by the gateway, content-addressed) and the URL serving it. */
export interface PetPhoto {
  readonly petId: PetId;
  /** The SHA-256 of the bytes, in hex. */
  readonly photoId: string;
  readonly contentType: string;
  readonly url: string;
}

/** Most photos a pet lists (the photoUrls schema's maxItems). */
export const MAX_PET_PHOTOS = 20;

export interface OrderRef {
  readonly petId: PetId;
  readonly orderId: OrderId;
}

export type PetCommand =
  | { readonly type: 'CreatePet'; readonly data: PetInput }
  | { readonly type: 'UpdatePet'; readonly data: PetInput }
  | { readonly type: 'DeletePet'; readonly data: { readonly petId: PetId } }
  | { readonly type: 'AddPetPhoto'; readonly data: PetPhoto }
  | { readonly type: 'ReservePet'; readonly data: OrderRef }
  | { readonly type: 'ReleasePet'; readonly data: OrderRef }
  | { readonly type: 'MarkPetSold'; readonly data: OrderRef };

export type PetCommandType = PetCommand['type'];

export type PetData = PetDetails & { readonly petId: PetId; readonly status: PetStatus };

export type PetEvent =
  | { readonly type: 'PetCreated'; readonly data: PetData }
  | { readonly type: 'PetUpdated'; readonly data: PetData }
  | { readonly type: 'PetDeleted'; readonly data: { readonly petId: PetId } }
  | { readonly type: 'PetPhotoAdded'; readonly data: PetPhoto }
  | { readonly type: 'PetReserved'; readonly data: OrderRef }
  | { readonly type: 'PetReleased'; readonly data: OrderRef }
  | { readonly type: 'PetSold'; readonly data: OrderRef };

export type PetEventType = PetEvent['type'];

export interface Pet extends PetDetails {
  readonly kind: 'listed';
  readonly id: PetId;
  readonly status: PetStatus;
  /** The order holding the reservation (pending) or that bought the pet (sold through an order). */
  readonly orderId: OrderId | null;
}

export type PetState = { readonly kind: 'none' } | { readonly kind: 'deleted'; readonly id: PetId } | Pet;

/** Every code the pet decider throws; each is a line of the platform's error table. */
export const petErrorCodes = [
  'pet_already_exists',
  'pet_not_found',
  'pet_not_available',
  'pet_reserved',
  'reservation_mismatch',
  'invalid_status_transition',
  'pet_photo_limit',
] as const;

export type PetErrorCode = (typeof petErrorCodes)[number];

const fail = (code: PetErrorCode, detail: string, extra?: Record<string, unknown>) =>
  new DomainError(code, detail, extra);

const label = ({ id, name }: Category | Tag) => (id === undefined ? { name } : { id, name });

const details = (input: PetInput): PetDetails => ({
  name: input.name,
  category: input.category ? label(input.category) : null,
  tags: (input.tags ?? []).map(label),
  photoUrls: [...(input.photoUrls ?? [])],
});

const sameDetails = (pet: Pet, next: PetDetails): boolean =>
  JSON.stringify(details({ ...pet, petId: pet.id })) === JSON.stringify(next);

function listed(state: PetState, petId: PetId): Pet {
  if (state.kind !== 'listed') throw fail('pet_not_found', `pet ${petId} does not exist`);
  return state;
}

// Pending means "reserved by an order", so only ReservePet makes a pet pending and only
// ReleasePet / MarkPetSold end that; sold is final. UpdatePet may sell an available pet (a sale
// outside the shop).
function nextStatus(pet: Pet, requested: PetStatus | undefined): PetStatus {
  if (requested === undefined || requested === pet.status) return pet.status;
  if (pet.status === 'pending') {
    throw fail('pet_reserved', `pet ${pet.id} is reserved by an order; its order releases or buys it`);
  }
  if (pet.status === 'sold') {
    throw fail('invalid_status_transition', `pet ${pet.id} is sold`, { from: 'sold', to: requested });
  }
  if (requested === 'pending') {
    throw fail('invalid_status_transition', 'a pet becomes pending only when an order reserves it', {
      from: pet.status,
      to: 'pending',
    });
  }
  return requested;
}

function reservedBy(state: PetState, { petId, orderId }: OrderRef): Pet {
  const pet = listed(state, petId);
  if (pet.status !== 'pending' || pet.orderId !== orderId) {
    throw fail('reservation_mismatch', `pet ${petId} is not reserved by order ${orderId}`);
  }
  return pet;
}

export function decide(command: PetCommand, state: PetState): PetEvent[] {
  switch (command.type) {
    case 'CreatePet': {
      const { petId } = command.data;
      // A deleted pet's id stays taken: its stream holds that pet's history.
      if (state.kind !== 'none') throw fail('pet_already_exists', `pet ${petId} exists`);
      const status = command.data.status ?? 'available';
      if (status === 'pending') {
        throw fail('invalid_status_transition', 'a pet becomes pending only when an order reserves it', {
          to: 'pending',
        });
      }
      return [{ type: 'PetCreated', data: { petId, ...details(command.data), status } }];
    }
    case 'UpdatePet': {
      const pet = listed(state, command.data.petId);
      const status = nextStatus(pet, command.data.status);
      const next = details(command.data);
      if (status === pet.status && sameDetails(pet, next)) return [];
      return [{ type: 'PetUpdated', data: { petId: pet.id, ...next, status } }];
    }
    case 'DeletePet': {
      const pet = listed(state, command.data.petId);
      // Seed 002: deleting a reserved pet could delete one an order is completing right now.
      if (pet.status === 'pending') throw fail('pet_reserved', `pet ${pet.id} is reserved by an order`);
      return [{ type: 'PetDeleted', data: { petId: pet.id } }];
    }
    case 'AddPetPhoto': {
      const pet = listed(state, command.data.petId);
      const { photoId, contentType, url } = command.data;
      // The same bytes again: the pet lists them already (uploads are retried by clients).
      if (pet.photoUrls.includes(url)) return [];
      if (pet.photoUrls.length >= MAX_PET_PHOTOS) {
        throw fail('pet_photo_limit', `pet ${pet.id} has ${MAX_PET_PHOTOS} photos already`, {
          limit: MAX_PET_PHOTOS,
        });
      }
      return [{ type: 'PetPhotoAdded', data: { petId: pet.id, photoId, contentType, url } }];
    }
    case 'ReservePet': {
      const pet = listed(state, command.data.petId);
      if (pet.status !== 'available') {
        throw fail('pet_not_available', `pet ${pet.id} is ${pet.status}`, { status: pet.status });
      }
      return [{ type: 'PetReserved', data: { petId: pet.id, orderId: command.data.orderId } }];
    }
    case 'ReleasePet': {
      const pet = reservedBy(state, command.data);
      return [{ type: 'PetReleased', data: { petId: pet.id, orderId: command.data.orderId } }];
    }
    case 'MarkPetSold': {
      const pet = reservedBy(state, command.data);
      return [{ type: 'PetSold', data: { petId: pet.id, orderId: command.data.orderId } }];
    }
    default: {
      const unknown: never = command;
      throw new Error(`unknown command ${JSON.stringify(unknown)}`);
    }
  }
}

export function evolve(state: PetState, event: PetEvent): PetState {
  switch (event.type) {
    case 'PetCreated': {
      const { petId, name, category, tags, photoUrls, status } = event.data;
      return { kind: 'listed', id: petId, name, category, tags, photoUrls, status, orderId: null };
    }
    case 'PetUpdated': {
      if (state.kind !== 'listed') return state;
      const { name, category, tags, photoUrls, status } = event.data;
      return { ...state, name, category, tags, photoUrls, status };
    }
    case 'PetDeleted':
      return { kind: 'deleted', id: event.data.petId };
    case 'PetPhotoAdded':
      return state.kind === 'listed' ? { ...state, photoUrls: [...state.photoUrls, event.data.url] } : state;
    case 'PetReserved':
      return state.kind === 'listed' ? { ...state, status: 'pending', orderId: event.data.orderId } : state;
    case 'PetReleased':
      return state.kind === 'listed' ? { ...state, status: 'available', orderId: null } : state;
    case 'PetSold':
      return state.kind === 'listed' ? { ...state, status: 'sold', orderId: event.data.orderId } : state;
    default: {
      // An event type this build does not know yet (a newer writer): it changes nothing here.
      const _unknown: never = event;
      return state;
    }
  }
}

export const initialState = (): PetState => ({ kind: 'none' });

export const petDecider: Decider<PetCommand, PetEvent, PetState> = { decide, evolve, initialState };
