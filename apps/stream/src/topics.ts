// What a client may subscribe to, and the cursor it resumes from.
import { AppError } from '@optic-mart/platform';

// An id segment: what ids look like across contexts (uuids, slugs), nothing a path could abuse.
const SEGMENT = '[A-Za-z0-9][A-Za-z0-9._~-]{0,199}';

/** Who is asking, as the gateway tells it (`x-optic-principal: <userId>;role=<role>`). */
export interface StreamPrincipal {
  readonly userId: string;
  /** customer, seller or admin; a header without one is a customer. */
  readonly role: string;
}

const PRINCIPAL = new RegExp(`^(${SEGMENT})(?:;role=(customer|seller|admin))?$`);

/** The principal of the gateway's header; undefined when absent (anonymous) or not well formed. */
export function parsePrincipal(header: string | string[] | undefined): StreamPrincipal | undefined {
  if (typeof header !== 'string') return undefined;
  const match = PRINCIPAL.exec(header.trim());
  return match ? { userId: match[1]!, role: match[2] ?? 'customer' } : undefined;
}

interface TopicRule {
  readonly pattern: RegExp;
  /** Whether `principal` (undefined: anonymous) may see topics of this rule; `match` is the regex match. */
  readonly allows: (principal: StreamPrincipal | undefined, match: RegExpExecArray) => boolean;
}

const anyone = () => true;
/** Sellers handle every order (they approve them), admins see everything. */
const staff = (principal: StreamPrincipal | undefined) =>
  principal !== undefined && (principal.role === 'seller' || principal.role === 'admin');

const rules: readonly TopicRule[] = [
  { pattern: new RegExp(`^pets(?:/${SEGMENT})?$`), allows: anyone },
  { pattern: /^inventory$/, allows: anyone },
  // Supplies: products, their reviews, their stock.
  { pattern: new RegExp(`^products(?:/${SEGMENT}(?:/reviews)?)?$`), allows: anyone },
  { pattern: /^reviews$/, allows: anyone },
  { pattern: new RegExp(`^stock(?:/${SEGMENT})?$`), allows: anyone },
  // Every order's changes: the people who handle orders.
  { pattern: /^orders$/, allows: staff },
  // An order's notices say only that it changed (never what): any signed-in user may follow an
  // order id they know; its content stays behind the orders API, which checks ownership.
  { pattern: new RegExp(`^orders/${SEGMENT}$`), allows: (principal) => principal !== undefined },
  {
    pattern: new RegExp(`^users/(${SEGMENT})(?:/${SEGMENT})*$`),
    allows: (principal, match) =>
      staff(principal) || (principal !== undefined && principal.userId === match[1]),
  },
];

/**
 * The topics of a `topics` query parameter (comma-separated, possibly repeated), checked: an
 * unknown syntax is a 400 naming it, one the principal may not see a 403 naming it.
 */
export function authorizeTopics(
  raw: string | readonly string[] | undefined,
  principal: StreamPrincipal | undefined,
  maxTopics: number,
): string[] {
  const values = raw === undefined ? [] : typeof raw === 'string' ? [raw] : raw;
  const topics = [
    ...new Set(
      values
        .flatMap((value) => value.split(','))
        .map((topic) => topic.trim())
        .filter((topic) => topic !== ''),
    ),
  ];
  if (topics.length === 0) {
    throw new AppError('bad_request', 'Name the topics to follow: ?topics=pets,pets/42.');
  }
  if (topics.length > maxTopics) {
    throw new AppError('bad_request', `At most ${maxTopics} topics per stream.`);
  }
  for (const topic of topics) {
    let matched: { rule: TopicRule; match: RegExpExecArray } | undefined;
    for (const rule of rules) {
      const match = rule.pattern.exec(topic);
      if (match !== null) {
        matched = { rule, match };
        break;
      }
    }
    if (matched === undefined) {
      throw new AppError('bad_request', `Unknown topic ${JSON.stringify(topic.slice(0, 250))}.`, {
        extra: { topic: topic.slice(0, 250) },
      });
    }
    if (!matched.rule.allows(principal, matched.match)) {
      throw new AppError('forbidden', `Not allowed to follow ${JSON.stringify(topic)}.`, {
        extra: { topic },
      });
    }
  }
  return topics;
}

/** Per projection, the last position a client was sent (or passed over). */
export type Cursor = Map<string, number>;

const CURSOR_ENTRY = /^([A-Za-z0-9_.-]{1,100}):(\d{1,16})$/;

/**
 * The SSE id `pets:123,orders:77`. Parses leniently: a malformed id (a client's own, or from an
 * older build) is a 400, so the client does not silently start over and miss notices.
 */
export function parseCursor(id: string): Cursor {
  const cursor: Cursor = new Map();
  if (id.trim() === '') return cursor;
  for (const entry of id.split(',')) {
    const match = CURSOR_ENTRY.exec(entry.trim());
    if (match === null) {
      throw new AppError('bad_request', `Malformed Last-Event-ID ${JSON.stringify(id.slice(0, 200))}.`);
    }
    cursor.set(match[1]!, Number(match[2]));
  }
  return cursor;
}

export function formatCursor(cursor: Cursor): string {
  return [...cursor]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([projection, position]) => `${projection}:${position}`)
    .join(',');
}
