import type pg from 'pg';
import type { Logger } from '@optic-mart/platform';
import type { PostgresSettings } from './context.js';

/**
 * Prunes what the queue and bus keep only for a while: acked commands past the duplicate window,
 * and bus events past retention that no group still owes (a delivery row keeps its event).
 * Every process runs it; the deletes are idempotent, so overlapping runs only cost a little work.
 */
export async function prune(
  pool: pg.Pool,
  settings: PostgresSettings,
): Promise<{ commands: number; events: number }> {
  const commands = await pool.query(
    `DELETE FROM messaging.commands WHERE done_at < now() - $1 * interval '1 millisecond'`,
    [settings.duplicateWindowMs],
  );
  const events = await pool.query(
    `DELETE FROM messaging.bus_events e
      WHERE published_at < now() - $1 * interval '1 millisecond'
        AND NOT EXISTS (SELECT 1 FROM messaging.bus_deliveries d WHERE d.seq = e.seq)`,
    [settings.eventRetentionMs],
  );
  return { commands: commands.rowCount ?? 0, events: events.rowCount ?? 0 };
}

/** Runs `prune` every `maintenanceMs` until the returned function is called. */
export function schedulePruning(
  pool: pg.Pool,
  settings: PostgresSettings,
  logger: Logger | undefined,
): () => void {
  const timer = setInterval(() => {
    prune(pool, settings).then(
      (pruned) => {
        if (pruned.commands + pruned.events > 0) logger?.debug(pruned, 'pruned old commands and bus events');
      },
      (err: unknown) => logger?.warn({ err }, 'pruning failed'),
    );
  }, settings.maintenanceMs);
  timer.unref();
  return () => clearInterval(timer);
}
