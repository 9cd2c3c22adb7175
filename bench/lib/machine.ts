import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import pg from 'pg';

/** What the numbers were measured on. */
export async function describeMachine(databaseUrl: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  client.on('error', () => undefined);
  await client.connect();
  let settings: Record<string, string>;
  try {
    const { rows } = await client.query<{ name: string; setting: string }>(
      `SELECT name, current_setting(name) AS setting FROM unnest($1::text[]) AS name`,
      [
        [
          'server_version',
          'shared_buffers',
          'synchronous_commit',
          'fsync',
          'wal_level',
          'max_connections',
          'jit',
        ],
      ],
    );
    settings = Object.fromEntries(rows.map((r) => [r.name, r.setting]));
  } finally {
    await client.end().catch(() => undefined);
  }
  const model = cpus()[0]?.model.trim() ?? 'unknown CPU';
  return [
    `machine: ${availableParallelism()} cpus (${model}), ${Math.round(totalmem() / 2 ** 30)} GiB RAM, ` +
      `Node.js ${process.version}, load average ${loadAverage()} at start`,
    `PostgreSQL ${settings.server_version} (shared_buffers ${settings.shared_buffers}, ` +
      `synchronous_commit ${settings.synchronous_commit}, fsync ${settings.fsync}, wal_level ${settings.wal_level}, ` +
      `max_connections ${settings.max_connections}, jit ${settings.jit})`,
  ];
}

export const loadAverage = (): string =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
