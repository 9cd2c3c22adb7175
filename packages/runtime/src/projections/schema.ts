// The projector's tables. Read models live in schema `read`: one table per build
// (`read."<name>__<build>"`, `read."<name>_by_<counter>__<build>"`) and views without the build
// suffix that select from the live build; queries only ever use the views. Bookkeeping lives in
// schema `projection`: `projection.projections` (one row per projection: paused) and
// `projection.builds` (one row per build: version, status, checkpoint).
import type pg from 'pg';
import { NOTICES_DDL, PROJECTION_DDL_LOCK } from './notices.js';
import type { ColumnType, DocumentProjection } from './projection.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any document type
export type AnyProjection = DocumentProjection<any>;

export type BuildStatus = 'building' | 'live' | 'retired';

/** A row of `projection.builds`. */
export interface BuildRow {
  readonly name: string;
  readonly build: number;
  readonly version: number;
  readonly status: BuildStatus;
  /** The checkpoint: every event at or before it has been applied (or passed over). */
  readonly position: number;
  /** Events this build applied. */
  readonly events: number;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  readonly liveAt: Date | null;
}

/** Session advisory locks `(OWNER_LOCK_CLASS, hashtext(name))`: who runs a projection. */
export const OWNER_LOCK_CLASS = 7245304;
/** Session advisory locks `(MEMBER_LOCK_CLASS, random)`: one per live projector replica. */
export const MEMBER_LOCK_CLASS = 7245305;

export const PROJECTION_DDL = `
CREATE SCHEMA IF NOT EXISTS read;
CREATE SCHEMA IF NOT EXISTS projection;
CREATE TABLE IF NOT EXISTS projection.projections (
  name       text        PRIMARY KEY,
  paused     boolean     NOT NULL DEFAULT false,
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS projection.builds (
  name       text        NOT NULL,
  build      int         NOT NULL,
  version    int         NOT NULL,
  status     text        NOT NULL CHECK (status IN ('building', 'live', 'retired')),
  position   bigint      NOT NULL DEFAULT 0,
  events     bigint      NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  live_at    timestamptz,
  PRIMARY KEY (name, build)
);
CREATE UNIQUE INDEX IF NOT EXISTS builds_one_live ON projection.builds (name) WHERE status = 'live';
CREATE UNIQUE INDEX IF NOT EXISTS builds_one_building ON projection.builds (name) WHERE status = 'building';
${NOTICES_DDL}`;

/** Creates the schemas and bookkeeping tables when missing; safe from every process at start. */
export async function migrateProjections(pool: pg.Pool): Promise<void> {
  // Usually all there: then take no lock at all. (`CREATE INDEX IF NOT EXISTS` locks its table
  // even when the index exists, and held to the end of the transaction that would stall, or
  // deadlock with, the batches of replicas already running.)
  const { rows } = await pool.query<{ ok: boolean }>(
    `SELECT to_regclass('projection.builds_one_building') IS NOT NULL
        AND to_regclass('projection.projections') IS NOT NULL
        AND to_regclass('projection.notices_recorded_at') IS NOT NULL
        AND to_regclass('projection.notice_prunes') IS NOT NULL AS ok`,
  );
  if (rows[0]?.ok) return;
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1, $2)', [...PROJECTION_DDL_LOCK]);
    await client.query(PROJECTION_DDL);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

const IDENTIFIER = /^[a-z][a-z0-9_]*$/;
const RESERVED_COLUMNS = new Set(['id', 'doc', 'position', 'updated_at']);

export const quote = (identifier: string): string => `"${identifier.replaceAll('"', '""')}"`;

/** The view queries read: `read."<name>"`. */
export const readModelView = (name: string): string => `read.${quote(name)}`;
/** The counter view: `read."<name>_by_<counter>"`. */
export const counterView = (name: string, counter: string): string =>
  `read.${quote(`${name}_by_${counter}`)}`;
export const buildTable = (name: string, build: number): string => `read.${quote(`${name}__${build}`)}`;
export const counterTable = (name: string, counter: string, build: number): string =>
  `read.${quote(`${name}_by_${counter}__${build}`)}`;

/** Throws unless the projection's names make valid, short enough identifiers. */
export function validateProjection(projection: AnyProjection): void {
  const bad = (what: string) => new Error(`projection ${projection.name}: ${what}`);
  // Room for `__<build>` and `_<column>` index names within PostgreSQL's 63 characters.
  if (!IDENTIFIER.test(projection.name) || projection.name.length > 30) {
    throw bad('its name must be lower-case letters, digits and _, at most 30 characters');
  }
  if (!Number.isInteger(projection.version) || projection.version < 1) {
    throw bad('its version must be a positive integer');
  }
  for (const column of Object.keys(projection.columns ?? {})) {
    if (!IDENTIFIER.test(column) || column.length > 20 || RESERVED_COLUMNS.has(column)) {
      throw bad(
        `column ${column} must be lower-case letters, digits and _, at most 20, not id/doc/position/updated_at`,
      );
    }
  }
  for (const counter of Object.keys(projection.counters ?? {})) {
    if (!IDENTIFIER.test(counter) || counter.length > 20) {
      throw bad(`counter ${counter} must be lower-case letters, digits and _, at most 20 characters`);
    }
  }
}

const SQL_TYPES: Readonly<Record<ColumnType, string>> = {
  text: 'text',
  'text[]': 'text[]',
  bigint: 'bigint',
  numeric: 'numeric',
  boolean: 'boolean',
  timestamptz: 'timestamptz',
};

export const sqlType = (type: ColumnType): string => SQL_TYPES[type];

/** Creates a build's tables (no secondary indexes: see `buildIndexesSql`). Idempotent. */
export function buildTablesSql(projection: AnyProjection, build: number): string {
  const columns = Object.entries(projection.columns ?? {}).map(
    ([column, def]) => `, ${quote(column)} ${sqlType(def.type)}`,
  );
  const statements = [
    `CREATE TABLE IF NOT EXISTS ${buildTable(projection.name, build)} (
       id text PRIMARY KEY, doc jsonb NOT NULL, position bigint NOT NULL,
       updated_at timestamptz NOT NULL${columns.join('')})`,
  ];
  for (const counter of Object.keys(projection.counters ?? {})) {
    statements.push(
      `CREATE TABLE IF NOT EXISTS ${counterTable(projection.name, counter, build)} (
         key text PRIMARY KEY, count bigint NOT NULL)`,
    );
  }
  return statements.join(';\n');
}

/** The declared indexes of a build (made once a rebuild has caught up: cheaper than keeping them). */
export function buildIndexesSql(projection: AnyProjection, build: number): string {
  const statements: string[] = [];
  for (const [column, def] of Object.entries(projection.columns ?? {})) {
    if (!def.index) continue;
    const index = quote(`${projection.name}__${build}_${column}`);
    statements.push(
      `CREATE INDEX IF NOT EXISTS ${index} ON ${buildTable(projection.name, build)} USING ${def.index} (${quote(column)})`,
    );
  }
  statements.push(`ANALYZE ${buildTable(projection.name, build)}`);
  return statements.join(';\n');
}

/** Points the views at `build`, in the caller's transaction (queries waiting on them see the new build). */
export function pointViewsSql(projection: AnyProjection, build: number): string {
  const statements = [
    `DROP VIEW IF EXISTS ${readModelView(projection.name)}`,
    `CREATE VIEW ${readModelView(projection.name)} AS SELECT * FROM ${buildTable(projection.name, build)}`,
  ];
  for (const counter of Object.keys(projection.counters ?? {})) {
    statements.push(
      `DROP VIEW IF EXISTS ${counterView(projection.name, counter)}`,
      `CREATE VIEW ${counterView(projection.name, counter)} AS SELECT * FROM ${counterTable(projection.name, counter, build)}`,
    );
  }
  return statements.join(';\n');
}

/** Drops a retired build's tables (whatever counters it had). */
export async function dropBuildTables(
  db: Pick<pg.Pool, 'query'>,
  name: string,
  build: number,
): Promise<void> {
  const { rows } = await db.query<{ t: string }>(
    `SELECT format('%I.%I', schemaname, tablename) AS t FROM pg_tables
      WHERE schemaname = 'read' AND (tablename = $1 OR (tablename LIKE $2 AND tablename LIKE $3))`,
    [`${name}__${build}`, `${name.replaceAll('_', '\\_')}\\_by\\_%`, `%\\_\\_${build}`],
  );
  for (const { t } of rows) await db.query(`DROP TABLE IF EXISTS ${t}`);
}

/** The columns a build's table has (an older build may lack columns declared since). */
export async function tableColumns(
  db: Pick<pg.Pool, 'query'>,
  name: string,
  build: number,
): Promise<Set<string>> {
  const { rows } = await db.query<{ column_name: string }>(
    `SELECT column_name FROM information_schema.columns WHERE table_schema = 'read' AND table_name = $1`,
    [`${name}__${build}`],
  );
  return new Set(rows.map((r) => r.column_name));
}

/** Which counter tables a build has. */
export async function counterTables(
  db: Pick<pg.Pool, 'query'>,
  projection: AnyProjection,
  build: number,
): Promise<Set<string>> {
  const counters = Object.keys(projection.counters ?? {});
  if (counters.length === 0) return new Set();
  const { rows } = await db.query<{ tablename: string }>(
    `SELECT tablename FROM pg_tables WHERE schemaname = 'read' AND tablename = ANY($1)`,
    [counters.map((c) => `${projection.name}_by_${c}__${build}`)],
  );
  const present = new Set(rows.map((r) => r.tablename));
  return new Set(counters.filter((c) => present.has(`${projection.name}_by_${c}__${build}`)));
}

interface RawBuildRow {
  name: string;
  build: number;
  version: number;
  status: BuildStatus;
  position: string;
  events: string;
  created_at: Date;
  updated_at: Date;
  live_at: Date | null;
}

export const BUILD_COLUMNS =
  'name, build, version, status, position, events, created_at, updated_at, live_at';

export function toBuildRow(r: RawBuildRow): BuildRow {
  return {
    name: r.name,
    build: r.build,
    version: r.version,
    status: r.status,
    position: Number(r.position),
    events: Number(r.events),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    liveAt: r.live_at,
  };
}

export async function readBuilds(db: Pick<pg.Pool, 'query'>, names: readonly string[]): Promise<BuildRow[]> {
  const { rows } = await db.query<RawBuildRow>(
    `SELECT ${BUILD_COLUMNS} FROM projection.builds WHERE name = ANY($1) AND status <> 'retired' ORDER BY name, build`,
    [names],
  );
  return rows.map(toBuildRow);
}
