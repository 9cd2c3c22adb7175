import type { RecordedEvent } from '@optic-mart/eventstore';

/** An event as the REST API shows it. */
export function eventJson(e: RecordedEvent) {
  return {
    id: e.id,
    streamId: e.streamId,
    type: e.type,
    version: e.version,
    position: e.position,
    schemaVersion: e.schemaVersion,
    data: e.data,
    metadata: e.metadata,
    recordedAt: e.recordedAt.toISOString(),
    ...(e.erased ? { erased: true } : {}),
  };
}
