/** Metadata every event carries (DESIGN.md §6); ids are strings so that they cross processes as-is. */
export interface EventMetadata {
  readonly commandId?: string;
  readonly correlationId?: string;
  readonly causationId?: string;
  readonly userId?: string;
  readonly [key: string]: unknown;
}

/** Marks fields of an event's data as one person's personal data, erasable by crypto-shredding. */
export interface PersonalData {
  /** Whose data it is (a user id): erasing this subject erases these fields everywhere. */
  readonly subjectId: string;
  /** Top-level keys of `data` that hold the personal data. */
  readonly fields: readonly string[];
}

/** An event to append. */
export interface NewEvent<Data = unknown> {
  /** Event id; when omitted the store makes one. Repeating stored ids makes a retried append a no-op. */
  readonly id?: string;
  readonly type: string;
  readonly data: Data;
  readonly metadata?: EventMetadata;
  /** Shape version of `data` (upcasters raise older versions on read). Defaults to 1. */
  readonly schemaVersion?: number;
  readonly personalData?: PersonalData;
}

/** An event as stored and read back. */
export interface RecordedEvent<Data = unknown> {
  readonly id: string;
  readonly streamId: string;
  readonly type: string;
  readonly data: Data;
  readonly metadata: EventMetadata;
  readonly schemaVersion: number;
  /** Version within the stream: 1 for the first event. */
  readonly version: number;
  /** Position in the global log (1, 2, 3 … in commit order); null in the moment before it is stamped. */
  readonly position: number | null;
  readonly recordedAt: Date;
  /** True when personal data in this event was erased (its fields read as null). */
  readonly erased?: boolean;
}

/**
 * The version tag of an append (seed 000): the version the first new event gets, 1 for a new
 * stream; or 'any', or 'no_stream' (the stream must not exist yet).
 */
export type ExpectedVersion = number | 'any' | 'no_stream';

export interface AppendOptions {
  readonly expectedVersion: ExpectedVersion;
}

/** One stream's part of a multi-stream append (`EventStore.appendMany`). */
export interface StreamAppend {
  readonly streamId: string;
  readonly events: readonly NewEvent[];
  readonly expectedVersion: ExpectedVersion;
}

export interface AppendResult {
  readonly streamId: string;
  /** Version of the last event written. */
  readonly version: number;
  /** Global position of the last event written. */
  readonly position: number;
  /** True when every event id was already stored: nothing was written, this is the first result. */
  readonly duplicate: boolean;
}

export interface ReadStreamOptions {
  /** First version to read (forwards) or last (backwards). */
  readonly from?: number;
  readonly limit?: number;
  readonly direction?: 'forwards' | 'backwards';
}

/** What a read of the global log (or a subscription) selects. */
export interface LogFilter {
  /** Stream-id prefix before the first '-': `pet` selects `pet-1`, `pet-2` … */
  readonly category?: string;
  readonly types?: readonly string[];
}

export interface ReadAllOptions extends LogFilter {
  /** Read events after this position (0 for the start). */
  readonly after?: number;
  readonly limit?: number;
}

export interface ReadAllResult {
  readonly events: RecordedEvent[];
  /** Resume after this position; with a filter it passes events that did not match. */
  readonly checkpoint: number;
  /** Last position stamped when the read was made: checkpoint === head means caught up. */
  readonly head: number;
}

export interface StreamMetadata {
  readonly streamId: string;
  readonly metadata: Record<string, unknown>;
  readonly deleted: boolean;
}

export interface Snapshot<State = unknown> {
  readonly streamId: string;
  readonly version: number;
  readonly type: string;
  readonly schemaVersion: number;
  readonly state: State;
}
