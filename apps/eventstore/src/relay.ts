import pg from 'pg';
import { subscribe, type EventStore, type RecordedEvent, type Subscription } from '@optic-mart/eventstore';
import { gauge, type Logger, type MetricsRegistry } from '@optic-mart/platform';
import type { BusEvent, EventBus } from '@optic-mart/messaging';

/** Session advisory lock held by the one relay that publishes at a time. */
const LEADER_LOCK = [7245302, 1] as const;

export interface RelayOptions {
  readonly store: EventStore;
  readonly bus: EventBus;
  readonly connectionString: string;
  readonly logger: Logger;
  readonly metrics?: MetricsRegistry;
  /** How often a follower tries to take over. */
  readonly contendEveryMs?: number;
  readonly batchSize?: number;
}

export interface Relay {
  readonly isLeader: () => boolean;
  stop(): Promise<void>;
}

/** The event as it travels on the bus. */
export function toBusEvent(e: RecordedEvent): BusEvent {
  return {
    id: e.id,
    streamId: e.streamId,
    type: e.type,
    version: e.version,
    position: e.position ?? 0,
    schemaVersion: e.schemaVersion,
    data: withholdPersonalData(e),
    metadata: { ...e.metadata },
    recordedAt: e.recordedAt.toISOString(),
  };
}

/**
 * The bus keeps what it carries (JetStream retains messages), out of reach of crypto-shredding: so
 * it never carries personal data. Fields marked personal go out as null; a subscriber that needs
 * them reads the event from the store by id, where erasure applies.
 */
function withholdPersonalData(e: RecordedEvent): unknown {
  const fields = (e.metadata.personalData as { fields?: unknown } | undefined)?.fields;
  if (!Array.isArray(fields)) return e.data;
  if (typeof e.data !== 'object' || e.data === null || Array.isArray(e.data)) return e.data;
  const data: Record<string, unknown> = { ...(e.data as Record<string, unknown>) };
  for (const field of fields) if (typeof field === 'string' && field in data) data[field] = null;
  return data;
}

/**
 * The relay (DESIGN.md §1): publishes every committed event to the domain-events bus in global
 * order. It publishes a batch, then stores its checkpoint; a crash in between republishes the
 * batch, which the bus drops by event id, so each event reaches subscribers once. Of several
 * replicas one relays (it holds a session advisory lock on its own connection); when it dies its
 * connection closes, the lock is free, and a follower takes over from the stored checkpoint.
 */
export async function startRelay(options: RelayOptions): Promise<Relay> {
  const { store, bus, logger } = options;
  const contendEveryMs = options.contendEveryMs ?? 2000;
  let leaderClient: pg.Client | null = null;
  let subscription: Subscription | null = null;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;

  await store.pool.query(`CREATE SCHEMA IF NOT EXISTS relay;
    CREATE TABLE IF NOT EXISTS relay.checkpoint (id int PRIMARY KEY CHECK (id = 1), position bigint NOT NULL);
    INSERT INTO relay.checkpoint VALUES (1, 0) ON CONFLICT DO NOTHING;`);

  if (options.metrics) {
    gauge(options.metrics, {
      name: 'relay_leader',
      help: '1 while this process relays events to the bus',
      collect() {
        this.set(subscription ? 1 : 0);
      },
    });
    gauge(options.metrics, {
      name: 'relay_lag_events',
      help: 'Events committed but not yet published by this relay',
      collect() {
        if (subscription) this.set(Math.max(0, store.notifier.lastPosition - subscription.checkpoint));
      },
    });
  }

  const resign = async (reason: string): Promise<void> => {
    const sub = subscription;
    const client = leaderClient;
    subscription = null;
    leaderClient = null;
    if (sub) await sub.stop();
    if (client) await client.end().catch(() => undefined);
    if (sub || client) logger.info({ reason }, 'relay stopped leading');
  };

  const contend = async (): Promise<void> => {
    if (stopped || leaderClient) return;
    const client = new pg.Client({ connectionString: options.connectionString });
    client.on('error', (err) => logger.warn({ err }, 'relay leader connection failed'));
    await client.connect();
    const { rows } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS ok', [
      ...LEADER_LOCK,
    ]);
    if (!rows[0]?.ok || stopped) {
      await client.end();
      return;
    }
    leaderClient = client;
    // Losing the connection loses the lock: stop at once, another replica will take over.
    client.once('end', () => {
      if (leaderClient === client) void resign('leader connection closed');
    });
    const cp = await client.query<{ position: string }>('SELECT position FROM relay.checkpoint WHERE id = 1');
    const after = Number(cp.rows[0]?.position ?? 0);
    logger.info({ after }, 'relay leading: publishing events to the bus');
    subscription = subscribe(store, {
      after,
      batchSize: options.batchSize ?? 500,
      logger,
      handler: async (events, checkpoint) => {
        if (leaderClient !== client) throw new Error('no longer the relay leader');
        await bus.publish(events.map(toBusEvent));
        await client.query('UPDATE relay.checkpoint SET position = $1 WHERE id = 1', [checkpoint]);
      },
    });
  };

  const loop = (): void => {
    contend()
      .catch((err: unknown) => logger.warn({ err }, 'relay could not contend for leadership'))
      .finally(() => {
        if (!stopped) timer = setTimeout(loop, contendEveryMs);
      });
  };
  loop();

  return {
    isLeader: () => subscription !== null,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await resign('stopping');
    },
  };
}
