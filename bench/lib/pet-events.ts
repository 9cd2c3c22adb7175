import { randomUUID } from 'node:crypto';

/**
 * Realistic event payloads, the same for every side of a comparison: a pet as the catalog records
 * it (about 200 bytes of JSON), and the metadata every event carries (DESIGN.md §6).
 */
export interface PetData {
  readonly petId: string;
  readonly name: string;
  readonly category: { readonly id: number; readonly name: string };
  readonly tags: readonly { readonly id: number; readonly name: string }[];
  readonly priceCents: number;
  readonly currency: string;
  readonly status: 'available';
  readonly photoUrls: readonly string[];
}

export interface BenchEvent {
  readonly type: string;
  readonly data: PetData;
  readonly metadata: { readonly commandId: string; readonly correlationId: string; readonly userId: string };
}

export const PET_EVENT_TYPE = 'PET_CREATED';

const NAMES = [
  'Rex',
  'Bella',
  'Milo',
  'Luna',
  'Charlie',
  'Nala',
  'Oscar',
  'Kiwi',
  'Pepper',
  'Ziggy',
  'Mochi',
];
const CATEGORIES = ['Dogs', 'Cats', 'Birds', 'Fish', 'Reptiles', 'Small pets'];
const TAGS = ['friendly', 'house-trained', 'vaccinated', 'kid-safe', 'indoor', 'playful', 'senior', 'rescue'];

/** Pet number n (deterministic, so that both sides store the same bytes). */
export function petData(n: number): PetData {
  const tagCount = 1 + (n % 3);
  return {
    petId: `pet-${n.toString(36).padStart(7, '0')}`,
    name: `${NAMES[n % NAMES.length]} ${(n * 31) % 997}`,
    category: { id: 1 + (n % CATEGORIES.length), name: CATEGORIES[n % CATEGORIES.length]! },
    tags: Array.from({ length: tagCount }, (_, i) => {
      const t = (n + i * 3) % TAGS.length;
      return { id: 1 + t, name: TAGS[t]! };
    }),
    priceCents: 1_999 + ((n * 7_919) % 250_000),
    currency: 'EUR',
    status: 'available',
    photoUrls: [`/photos/pet-${n}-1.jpg`],
  };
}

// Made once: the bench should spend its client CPU on the store, not on building payloads.
const PAYLOADS = Array.from({ length: 4096 }, (_, n) => petData(n));

/** `count` events as one command would produce them (one command id, one correlation id). */
export function petEvents(first: number, count: number): BenchEvent[] {
  const metadata = { commandId: randomUUID(), correlationId: randomUUID(), userId: `user-${first % 1000}` };
  return Array.from({ length: count }, (_, i) => ({
    type: PET_EVENT_TYPE,
    data: PAYLOADS[(first + i) % PAYLOADS.length]!,
    metadata,
  }));
}

/** Average JSON size of the data and metadata payloads, for the report. */
export function payloadBytes(): { data: number; metadata: number } {
  const sample = petEvents(0, PAYLOADS.length);
  const total = (f: (e: BenchEvent) => unknown) =>
    sample.reduce((sum, e) => sum + Buffer.byteLength(JSON.stringify(f(e))), 0) / sample.length;
  return { data: Math.round(total((e) => e.data)), metadata: Math.round(total((e) => e.metadata)) };
}
