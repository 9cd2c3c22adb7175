// The provider's background work: settling pending payments when they are due, and delivering
// the webhook outbox — each event signed (X-Optic-Signature: t=<unix>,v1=<HMAC-SHA256 of
// "<t>.<body>">) and retried with doubling delays until the receiver answers 2xx.
import { createHmac } from 'node:crypto';
import type { Logger } from '@optic-mart/platform';
import type { Ledger } from './ledger.js';

/** The signature header of a webhook body, as the receiver's verifyWebhookSignature expects it. */
export function signatureHeader(body: string, secret: string, unixSeconds: number): string {
  const mac = createHmac('sha256', secret).update(`${unixSeconds}.${body}`).digest('hex');
  return `t=${unixSeconds},v1=${mac}`;
}

export interface BackgroundOptions {
  readonly ledger: Ledger;
  readonly logger: Logger;
  readonly webhookUrl: string;
  /** Unset: events are kept in the outbox but not sent. */
  readonly webhookSecret: string | undefined;
  readonly pollMs: number;
  readonly retryMs: number;
  readonly maxDelayMs: number;
  readonly timeoutMs: number;
  readonly declineRate: number;
  readonly random?: () => number;
}

const BATCH = 20;

/** Starts the settle and delivery loops; `stop()` waits for the round in progress. */
export function startBackground(options: BackgroundOptions): { stop(): Promise<void> } {
  const { ledger, logger } = options;
  const random = options.random ?? Math.random;
  let stopped = false;
  let round: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;

  async function settle(): Promise<void> {
    await ledger.transaction(async (tx) => {
      for (const payment of await ledger.duePending(tx, BATCH)) {
        const outcome =
          options.declineRate > 0 && random() < options.declineRate
            ? ({ kind: 'decline', reason: 'card_declined' } as const)
            : ({ kind: 'approve' } as const);
        await ledger.settle(tx, payment, outcome);
      }
    });
  }

  async function deliver(): Promise<void> {
    if (options.webhookSecret === undefined) return;
    const secret = options.webhookSecret;
    // A lease: the claimed rows are due again only after a delivery could have timed out.
    const { rows } = await ledger.pool.query<{ id: string; payload: unknown; attempts: number }>(
      `UPDATE psp.webhooks SET next_attempt_at = now() + make_interval(secs => $2::double precision / 1000)
       WHERE id IN (SELECT id FROM psp.webhooks WHERE delivered_at IS NULL AND next_attempt_at <= now()
                    ORDER BY created_at LIMIT $1 FOR UPDATE SKIP LOCKED)
       RETURNING id, payload, attempts`,
      [BATCH, options.timeoutMs + 1000],
    );
    await Promise.all(
      rows.map(async (row) => {
        const body = JSON.stringify(row.payload);
        let error: string | null = null;
        try {
          const response = await fetch(options.webhookUrl, {
            method: 'POST',
            headers: {
              'content-type': 'application/json',
              'x-optic-signature': signatureHeader(body, secret, Math.floor(Date.now() / 1000)),
              'x-optic-event-id': row.id,
            },
            body,
            signal: AbortSignal.timeout(options.timeoutMs),
          });
          await response.body?.cancel();
          if (!response.ok) error = `HTTP ${response.status}`;
        } catch (err) {
          error = err instanceof Error ? err.message : String(err);
        }
        if (error === null) {
          await ledger.pool.query(
            'UPDATE psp.webhooks SET delivered_at = now(), attempts = attempts + 1, last_error = NULL WHERE id = $1',
            [row.id],
          );
          return;
        }
        const delay = Math.min(options.retryMs * 2 ** row.attempts, options.maxDelayMs);
        await ledger.pool.query(
          `UPDATE psp.webhooks SET attempts = attempts + 1, last_error = $2,
             next_attempt_at = now() + make_interval(secs => $3::double precision / 1000) WHERE id = $1`,
          [row.id, error, delay],
        );
        logger.warn(
          { eventId: row.id, attempt: row.attempts + 1, error, retryInMs: delay },
          'webhook not acknowledged',
        );
      }),
    );
  }

  const tick = () => {
    round = (async () => {
      try {
        await settle();
        await deliver();
      } catch (err) {
        logger.error({ err }, 'payment provider background round failed');
      }
    })();
    void round.then(() => {
      if (!stopped) timer = setTimeout(tick, options.pollMs);
    });
  };
  tick();

  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await round;
    },
  };
}
