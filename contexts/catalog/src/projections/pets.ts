// The catalog's `pets` read model: one document per pet, as the API shows it, with the columns the
// list view filters on and the inventory counts by status.
import type { DocumentProjection, ProjectedEvent } from '@optic-mart/runtime';
import type { OrderId, PetId } from '../domain/ids.js';
import type { Category, PetData, PetEventType, PetPhoto, PetStatus, Tag } from '../domain/pet.js';

/** A pet as `GET /api/pets/{id}` returns it: the listed pet and its stream version (the ETag). */
export interface PetView {
  readonly id: PetId;
  readonly name: string;
  readonly category: Category | null;
  readonly tags: readonly Tag[];
  readonly photoUrls: readonly string[];
  readonly status: PetStatus;
  readonly orderId: OrderId | null;
  readonly version: number;
}

const petEvents = [
  'PetCreated',
  'PetUpdated',
  'PetDeleted',
  'PetPhotoAdded',
  'PetReserved',
  'PetReleased',
  'PetSold',
] as const satisfies readonly PetEventType[];

interface Ref {
  readonly petId?: unknown;
  readonly orderId?: unknown;
}

const ref = (event: ProjectedEvent): Ref =>
  typeof event.data === 'object' && event.data !== null ? event.data : {};

function documentId(event: ProjectedEvent): string | null {
  const { petId } = ref(event);
  return typeof petId === 'string' && petId.length > 0 ? petId : null;
}

function apply(doc: PetView | null, event: ProjectedEvent): PetView | null {
  const version = event.version;
  switch (event.type as PetEventType) {
    case 'PetCreated': {
      const { petId, name, category, tags, photoUrls, status } = event.data as PetData;
      return { id: petId, name, category, tags, photoUrls, status, orderId: null, version };
    }
    case 'PetUpdated': {
      if (doc === null) return null;
      const { name, category, tags, photoUrls, status } = event.data as PetData;
      return { ...doc, name, category, tags, photoUrls, status, version };
    }
    case 'PetDeleted':
      return null;
    case 'PetPhotoAdded':
      return doc && { ...doc, photoUrls: [...doc.photoUrls, (event.data as PetPhoto).url], version };
    case 'PetReserved':
      return doc && { ...doc, status: 'pending', orderId: ref(event).orderId as OrderId, version };
    case 'PetReleased':
      return doc && { ...doc, status: 'available', orderId: null, version };
    case 'PetSold':
      return doc && { ...doc, status: 'sold', orderId: ref(event).orderId as OrderId, version };
    default:
      // A pet event this build does not know (a newer writer): the document stays as it is.
      return doc;
  }
}

/**
 * `read.pets`: the pets that exist (a deleted pet's document is removed), filterable by status,
 * tag, name and category; `read.pets_by_status` counts them per status (the inventory).
 */
export const petsProjection: DocumentProjection<PetView> = {
  name: 'pets',
  version: 1,
  category: 'pet',
  events: petEvents,
  documentId,
  apply,
  columns: {
    status: { type: 'text', value: (pet) => pet.status, index: 'btree' },
    tags: { type: 'text[]', value: (pet) => [...new Set(pet.tags.map((t) => t.name))], index: 'gin' },
    name: { type: 'text', value: (pet) => pet.name, index: 'btree' },
    category: { type: 'text', value: (pet) => pet.category?.name ?? null, index: 'btree' },
  },
  counters: { status: (pet) => pet.status },
  topics: (id, before, after) => [
    'pets',
    `pets/${id}`,
    // The inventory changes only when a pet appears, disappears or changes status.
    ...(before?.status !== after?.status ? ['inventory'] : []),
  ],
};
