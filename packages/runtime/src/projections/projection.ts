// What a projection is (issue 4): domain code declares one; the projector in this package runs it.
// Domain code imports only these types: no SQL, no pg.

/** An event as a projection sees it (a subset of the store's RecordedEvent). */
export interface ProjectedEvent {
  readonly id: string;
  readonly streamId: string;
  readonly type: string;
  readonly data: unknown;
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly version: number;
  /** Global position: the projection's checkpoint after this event. */
  readonly position: number;
  readonly recordedAt: Date;
}

/** Column types a document projection can index and filter on. */
export type ColumnType = 'text' | 'text[]' | 'bigint' | 'numeric' | 'boolean' | 'timestamptz';

export interface ColumnDefinition<Doc> {
  readonly type: ColumnType;
  /** The column's value for a document (null allowed). */
  readonly value: (doc: Doc) => unknown;
  /** btree for scalars, gin for arrays; omitted: not indexed. */
  readonly index?: 'btree' | 'gin';
}

/**
 * A document projection: one JSON document per id, kept from the events it handles, with columns
 * extracted from the document for filtering and sorting (queries read one table: no joins), and
 * counters of documents per key kept alongside (e.g. pets per status).
 */
export interface DocumentProjection<Doc = unknown> {
  /** Its read model's name: queries read the table `read.<name>` (a view of the live version). */
  readonly name: string;
  /**
   * Bump it when `apply` or the columns change: the projector builds the new version beside the
   * live one from the event store, and swaps it in once it has caught up.
   */
  readonly version: number;
  /** Only events of this stream category (`pet` for `pet-…`) are read, when given. */
  readonly category?: string;
  /** The event types it handles; others are passed over. */
  readonly events: readonly string[];
  /** Which document an event changes; null when this event changes none. */
  readonly documentId: (event: ProjectedEvent) => string | null;
  /** The document after the event; null removes it. Pure. */
  readonly apply: (doc: Doc | null, event: ProjectedEvent) => Doc | null;
  readonly columns?: Readonly<Record<string, ColumnDefinition<Doc>>>;
  /**
   * Counters: table `read.<name>_by_<counter>` (key text, count bigint) holds how many documents
   * have each key; the projector keeps it from each document's before and after.
   */
  readonly counters?: Readonly<Record<string, (doc: Doc) => string | null>>;
  /**
   * Topics to notify after the change commits (the stream service pushes them to subscribed
   * clients), e.g. ['pets', `pets/${id}`]. Called with the document before and after.
   */
  readonly topics?: (id: string, before: Doc | null, after: Doc | null) => readonly string[];
}
