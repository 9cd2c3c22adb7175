// The provider's own books, in PostgreSQL schema `psp`: payments, an append-only ledger of every
// money movement, the answers kept per Idempotency-Key, and the webhook outbox. Every state change
// writes its ledger entry and its webhook in the same transaction as the change itself.
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { AppError } from '@optic-mart/platform';

/** A payment's status at the provider. */
export type PspStatus =
  'pending' | 'authorized' | 'declined' | 'captured' | 'voided' | 'partially_refunded' | 'refunded';

/** A payment as the API shows it. */
export interface PspPayment {
  readonly id: string;
  readonly reference: string;
  readonly amount: number;
  readonly currency: string;
  readonly capture: boolean;
  readonly status: PspStatus;
  readonly capturedAmount: number;
  readonly refundedAmount: number;
  readonly declineReason: string | null;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** One money movement (or refusal) in the ledger. */
export interface LedgerEntry {
  readonly seq: number;
  readonly paymentId: string;
  readonly reference: string;
  readonly kind: 'authorization' | 'decline' | 'capture' | 'void' | 'refund';
  readonly amount: number;
  readonly currency: string;
  readonly refundId: string | null;
  readonly createdAt: string;
}

const DDL = `
CREATE SCHEMA IF NOT EXISTS psp;
CREATE TABLE IF NOT EXISTS psp.payments (
  id text PRIMARY KEY,
  reference text NOT NULL,
  amount bigint NOT NULL,
  currency text NOT NULL,
  capture boolean NOT NULL,
  status text NOT NULL,
  captured bigint NOT NULL DEFAULT 0,
  refunded bigint NOT NULL DEFAULT 0,
  decline_reason text,
  settle_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS payments_reference ON psp.payments (reference);
CREATE INDEX IF NOT EXISTS payments_settle ON psp.payments (settle_at) WHERE status = 'pending';
CREATE TABLE IF NOT EXISTS psp.ledger (
  seq bigserial PRIMARY KEY,
  payment_id text NOT NULL REFERENCES psp.payments (id),
  reference text NOT NULL,
  kind text NOT NULL,
  amount bigint NOT NULL,
  currency text NOT NULL,
  refund_id text,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS ledger_reference ON psp.ledger (reference);
CREATE INDEX IF NOT EXISTS ledger_payment ON psp.ledger (payment_id);
CREATE TABLE IF NOT EXISTS psp.idempotency (
  key text PRIMARY KEY,
  fingerprint text NOT NULL,
  status int NOT NULL,
  body jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS psp.webhooks (
  id text PRIMARY KEY,
  payment_id text NOT NULL,
  type text NOT NULL,
  payload jsonb NOT NULL,
  attempts int NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  delivered_at timestamptz,
  last_error text,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS webhooks_due ON psp.webhooks (next_attempt_at) WHERE delivered_at IS NULL;
`;

// Any constant: replicas starting together take turns creating the schema.
const SCHEMA_LOCK = 0x70_73_70_01;

/** Creates schema `psp` if needed, under an advisory lock (CREATE … IF NOT EXISTS races otherwise). */
export async function migrate(pool: pg.Pool): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [SCHEMA_LOCK]);
    await client.query(DDL);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

interface PaymentRow {
  id: string;
  reference: string;
  amount: string;
  currency: string;
  capture: boolean;
  status: PspStatus;
  captured: string;
  refunded: string;
  decline_reason: string | null;
  created_at: Date;
  updated_at: Date;
}

const toPayment = (r: PaymentRow): PspPayment => ({
  id: r.id,
  reference: r.reference,
  amount: Number(r.amount),
  currency: r.currency,
  capture: r.capture,
  status: r.status,
  capturedAmount: Number(r.captured),
  refundedAmount: Number(r.refunded),
  declineReason: r.decline_reason,
  createdAt: r.created_at.toISOString(),
  updatedAt: r.updated_at.toISOString(),
});

interface LedgerRow {
  seq: string;
  payment_id: string;
  reference: string;
  kind: LedgerEntry['kind'];
  amount: string;
  currency: string;
  refund_id: string | null;
  created_at: Date;
}

const toEntry = (r: LedgerRow): LedgerEntry => ({
  seq: Number(r.seq),
  paymentId: r.payment_id,
  reference: r.reference,
  kind: r.kind,
  amount: Number(r.amount),
  currency: r.currency,
  refundId: r.refund_id,
  createdAt: r.created_at.toISOString(),
});

/** The webhook event types the provider sends. */
export type WebhookType =
  'payment.authorized' | 'payment.declined' | 'payment.captured' | 'payment.voided' | 'payment.refunded';

type Tx = pg.PoolClient;

/** Appends a ledger entry and queues the webhook of the change (same transaction). */
async function record(
  tx: Tx,
  payment: PspPayment,
  kind: LedgerEntry['kind'],
  amount: number,
  webhook: WebhookType,
  extra: { refundId?: string; reason?: string } = {},
): Promise<void> {
  await tx.query(
    `INSERT INTO psp.ledger (payment_id, reference, kind, amount, currency, refund_id) VALUES ($1, $2, $3, $4, $5, $6)`,
    [payment.id, payment.reference, kind, amount, payment.currency, extra.refundId ?? null],
  );
  const id = `evt_${randomUUID().replaceAll('-', '')}`;
  const payload = {
    id,
    type: webhook,
    createdAt: new Date().toISOString(),
    data: {
      paymentId: payment.id,
      reference: payment.reference,
      currency: payment.currency,
      amount,
      status: payment.status,
      paymentAmount: payment.amount,
      capturedAmount: payment.capturedAmount,
      refundedAmount: payment.refundedAmount,
      ...(extra.refundId !== undefined && { refundId: extra.refundId }),
      ...(extra.reason !== undefined && { reason: extra.reason }),
    },
  };
  await tx.query(`INSERT INTO psp.webhooks (id, payment_id, type, payload) VALUES ($1, $2, $3, $4)`, [
    id,
    payment.id,
    webhook,
    JSON.stringify(payload),
  ]);
}

async function update(
  tx: Tx,
  id: string,
  set: { status: PspStatus; captured?: number; refunded?: number; declineReason?: string },
): Promise<PspPayment> {
  const { rows } = await tx.query<PaymentRow>(
    `UPDATE psp.payments SET status = $2, captured = COALESCE($3, captured), refunded = COALESCE($4, refunded),
       decline_reason = COALESCE($5, decline_reason), settle_at = NULL, updated_at = now()
     WHERE id = $1 RETURNING *`,
    [id, set.status, set.captured ?? null, set.refunded ?? null, set.declineReason ?? null],
  );
  return toPayment(rows[0] as PaymentRow);
}

async function locked(tx: Tx, id: string): Promise<PspPayment> {
  const { rows } = await tx.query<PaymentRow>('SELECT * FROM psp.payments WHERE id = $1 FOR UPDATE', [id]);
  const row = rows[0];
  if (row === undefined) throw new AppError('payment_not_found', `There is no payment ${id}.`);
  return toPayment(row);
}

const invalid = (p: PspPayment, operation: string, needs: string) =>
  new AppError('payment_invalid_state', `Payment ${p.id} is ${p.status}; ${operation} needs ${needs}.`, {
    extra: { status: p.status },
  });

/** The outcome of a new payment's authorization: decided by the caller (the fault injection). */
export type Authorization = { kind: 'approve' } | { kind: 'decline'; reason: string } | { kind: 'pending' };

export class Ledger {
  constructor(readonly pool: pg.Pool) {}

  /** Creates a payment: authorized (and captured, with capture), declined, or pending until `settleAt`. */
  async create(
    tx: Tx,
    input: { amount: number; currency: string; reference: string; capture: boolean },
    outcome: Authorization,
    settleAt: Date,
  ): Promise<PspPayment> {
    const id = `pay_${randomUUID().replaceAll('-', '')}`;
    const { rows } = await tx.query<PaymentRow>(
      `INSERT INTO psp.payments (id, reference, amount, currency, capture, status, settle_at)
       VALUES ($1, $2, $3, $4, $5, 'pending', $6) RETURNING *`,
      [
        id,
        input.reference,
        input.amount,
        input.currency,
        input.capture,
        outcome.kind === 'pending' ? settleAt : null,
      ],
    );
    const pending = toPayment(rows[0] as PaymentRow);
    if (outcome.kind === 'pending') return pending;
    return this.settle(tx, pending, outcome);
  }

  /** Decides a pending payment: declined, or authorized (and captured when it asked for that). */
  async settle(tx: Tx, payment: PspPayment, outcome: Exclude<Authorization, { kind: 'pending' }>) {
    if (outcome.kind === 'decline') {
      const declined = await update(tx, payment.id, { status: 'declined', declineReason: outcome.reason });
      await record(tx, declined, 'decline', 0, 'payment.declined', { reason: outcome.reason });
      return declined;
    }
    const authorized = await update(tx, payment.id, { status: 'authorized' });
    await record(tx, authorized, 'authorization', payment.amount, 'payment.authorized');
    return payment.capture ? this.#capture(tx, authorized, payment.amount) : authorized;
  }

  /** Pending payments due to settle, locked for this transaction (other replicas skip them). */
  async duePending(tx: Tx, limit: number): Promise<PspPayment[]> {
    const { rows } = await tx.query<PaymentRow>(
      `SELECT * FROM psp.payments WHERE status = 'pending' AND settle_at <= now()
       ORDER BY settle_at LIMIT $1 FOR UPDATE SKIP LOCKED`,
      [limit],
    );
    return rows.map(toPayment);
  }

  /** Captures (part of) an authorized payment; only once. */
  async capture(tx: Tx, id: string, amount: number | undefined): Promise<PspPayment> {
    const payment = await locked(tx, id);
    if (payment.status !== 'authorized') throw invalid(payment, 'a capture', 'an authorized payment');
    const take = amount ?? payment.amount;
    if (take > payment.amount) {
      throw new AppError('validation_failed', `Capture at most the authorized ${payment.amount}.`, {
        errors: [{ field: 'body.amount', message: `must be at most ${payment.amount}` }],
      });
    }
    return this.#capture(tx, payment, take);
  }

  async #capture(tx: Tx, payment: PspPayment, amount: number): Promise<PspPayment> {
    const captured = await update(tx, payment.id, { status: 'captured', captured: amount });
    await record(tx, captured, 'capture', amount, 'payment.captured');
    return captured;
  }

  /** Voids an authorization that was never captured. */
  async void(tx: Tx, id: string): Promise<PspPayment> {
    const payment = await locked(tx, id);
    if (payment.status !== 'authorized' && payment.status !== 'pending') {
      throw invalid(payment, 'a void', 'an authorized payment not yet captured');
    }
    const voided = await update(tx, payment.id, { status: 'voided' });
    await record(tx, voided, 'void', payment.status === 'authorized' ? payment.amount : 0, 'payment.voided');
    return voided;
  }

  /** Refunds at most what was captured and not refunded yet. */
  async refund(tx: Tx, id: string, amount: number): Promise<{ refundId: string; payment: PspPayment }> {
    const payment = await locked(tx, id);
    if (payment.status !== 'captured' && payment.status !== 'partially_refunded') {
      throw invalid(payment, 'a refund', 'a captured payment');
    }
    const refundable = payment.capturedAmount - payment.refundedAmount;
    if (amount > refundable) {
      throw new AppError(
        'refund_exceeds_captured',
        `At most ${refundable} of payment ${id} can be refunded.`,
        {
          extra: { refundable },
        },
      );
    }
    const refunded = payment.refundedAmount + amount;
    const after = await update(tx, id, {
      status: refunded === payment.capturedAmount ? 'refunded' : 'partially_refunded',
      refunded,
    });
    const refundId = `re_${randomUUID().replaceAll('-', '')}`;
    await record(tx, after, 'refund', amount, 'payment.refunded', { refundId });
    return { refundId, payment: after };
  }

  async get(id: string): Promise<{ payment: PspPayment; history: LedgerEntry[] } | null> {
    const { rows } = await this.pool.query<PaymentRow>('SELECT * FROM psp.payments WHERE id = $1', [id]);
    const row = rows[0];
    if (row === undefined) return null;
    const history = await this.pool.query<LedgerRow>(
      'SELECT * FROM psp.ledger WHERE payment_id = $1 ORDER BY seq',
      [id],
    );
    return { payment: toPayment(row), history: history.rows.map(toEntry) };
  }

  /** The ledger entries of a reference (e.g. an order id), oldest first. */
  async entries(reference: string): Promise<LedgerEntry[]> {
    const { rows } = await this.pool.query<LedgerRow>(
      'SELECT * FROM psp.ledger WHERE reference = $1 ORDER BY seq',
      [reference],
    );
    return rows.map(toEntry);
  }

  /** Runs `work` in one transaction. */
  async transaction<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    const tx = await this.pool.connect();
    try {
      await tx.query('BEGIN');
      const result = await work(tx);
      await tx.query('COMMIT');
      return result;
    } catch (err) {
      await tx.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      tx.release();
    }
  }
}
