// Event ids derived from the command id, so that applying a command twice writes the same ids
// and the event store itself makes the second append a no-op (no separate table of command ids).
import { createHash } from 'node:crypto';

/**
 * Namespace of command-derived event ids. Changing it changes every derived id, so a command
 * redelivered across the change would be applied twice: never change it.
 */
export const COMMAND_EVENT_NAMESPACE = 'ce9c0d04-a33d-4602-935b-12dbbe3ec035';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A name-based UUID, version 5 (SHA-1), as RFC 9562 §5.5 defines it. */
export function uuidV5(name: string, namespace: string): string {
  if (!UUID.test(namespace)) throw new Error(`namespace ${namespace} is not a UUID`);
  const hash = createHash('sha1')
    .update(Buffer.from(namespace.replace(/-/g, ''), 'hex'))
    .update(name, 'utf8')
    .digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The id of the `index`-th event (from 0) a command produces: the same for every delivery. */
export function eventIdFor(commandId: string, index: number): string {
  return uuidV5(`${commandId}/${index}`, COMMAND_EVENT_NAMESPACE);
}
