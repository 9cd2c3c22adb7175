/**
 * The readiness check every role that holds a PostgreSQL pool runs: the database answers a
 * trivial query. One definition, so /readyz names it `database` in every role and dashboards
 * and probes can rely on that.
 */
import type { ReadinessCheck } from './readiness.js';

/** Anything that runs a query: a pg Pool or Client. */
export interface Queryable {
  query(sql: string): Promise<unknown>;
}

/** A readiness check named `database` that passes when `db` answers `SELECT 1`. */
export function databaseReadiness(db: Queryable): ReadinessCheck {
  return { name: 'database', check: () => db.query('SELECT 1') };
}
