import type { ReversalState } from '../domain/payment-lifecycle.js';
import { inTransaction, parameters, type Pool, type PoolClient } from './postgres-pool.js';
import type { PspNotificationRecord, PspRecordStore, ReversalRecord, StoredTokenRecord } from './psp-record-store.js';
import { guardChange, settledColumns, type IntentAnswer } from './state-change.js';
import { IdempotencyKeyConflictError } from './store-errors.js';
import { REVERSAL_LIFECYCLE, toNotification, toReversal, toToken, type NotificationRow, type ReversalRow, type TokenRow } from './store-rows.js';

/** Tokens, reversals and PSP notifications in PostgreSQL (migration 4), on the payment store's pool. */
export class PostgresPspRecordStore implements PspRecordStore {
  readonly #pool: Pool;
  readonly #now: () => Date;

  constructor(pool: Pool, now: () => Date = () => new Date()) {
    this.#pool = pool;
    this.#now = now;
  }

  async saveToken(record: Omit<StoredTokenRecord, 'createdAt'>): Promise<StoredTokenRecord> {
    return inTransaction(
      this.#pool,
      async (client) => {
        const { rows } = await client.query<TokenRow>(
          `INSERT INTO payment_tokens (session_id, psp, token, customer, card_brand, card_last4, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
            ON CONFLICT (session_id) DO UPDATE SET psp = excluded.psp, token = excluded.token, customer = excluded.customer,
              card_brand = excluded.card_brand, card_last4 = excluded.card_last4, created_at = excluded.created_at
            RETURNING *`,
          [record.sessionId, record.psp, record.token, record.customer, record.cardBrand, record.cardLast4, this.#stamp()],
        );
        return toToken(rows[0]!);
      },
      { durable: true },
    );
  }

  async getToken(sessionId: string): Promise<StoredTokenRecord | undefined> {
    const { rows } = await this.#pool.query<TokenRow>('SELECT * FROM payment_tokens WHERE session_id = $1', [sessionId]);
    return rows[0] && toToken(rows[0]);
  }

  async findToken(token: string): Promise<StoredTokenRecord | undefined> {
    const { rows } = await this.#pool.query<TokenRow>('SELECT * FROM payment_tokens WHERE token = $1 ORDER BY created_at DESC LIMIT 1', [token]);
    return rows[0] && toToken(rows[0]);
  }

  async recordReversalIntent(input: Parameters<PspRecordStore['recordReversalIntent']>[0]): Promise<ReversalRecord> {
    return inTransaction(
      this.#pool,
      async (client) => {
        if (await reversalIn(client, input.idempotencyKey, true)) throw new IdempotencyKeyConflictError(input.idempotencyKey);
        const { rows } = await client.query<ReversalRow>(
          `INSERT INTO reversals (idempotency_key, session_id, kind, psp, amount_minor, currency, state, actor_kind, actor_id, requested_at)
            VALUES ($1, $2, $3, $4, $5, $6, 'requested', $7, $8, $9) RETURNING *`,
          [input.idempotencyKey, input.sessionId, input.kind, input.psp, input.amountMinor, input.currency, input.actor.kind, input.actor.id, this.#stamp()],
        );
        return toReversal(rows[0]!);
      },
      { durable: true },
    );
  }

  async resolveReversal(idempotencyKey: string, update: IntentAnswer<ReversalState>): Promise<ReversalRecord> {
    return inTransaction(
      this.#pool,
      async (client) => {
        const current = guardChange(REVERSAL_LIFECYCLE, idempotencyKey, await reversalIn(client, idempotencyKey, true), update.state);
        const set = settledColumns(REVERSAL_LIFECYCLE, current, update, () => this.#stamp());
        const { rows } = await client.query<ReversalRow>(
          'UPDATE reversals SET state = $1, psp_reference = $2, detail = $3, resolved_at = $4 WHERE idempotency_key = $5 RETURNING *',
          [set.state, set.pspReference, set.detail, set.resolvedAt, idempotencyKey],
        );
        return toReversal(rows[0]!);
      },
      { durable: true },
    );
  }

  async getReversal(idempotencyKey: string): Promise<ReversalRecord | undefined> {
    return reversalIn(this.#pool, idempotencyKey, false);
  }

  async listReversals(filter: { sessionId?: string; pspReference?: string; state?: ReversalState }): Promise<ReversalRecord[]> {
    const columns = { sessionId: 'session_id', pspReference: 'psp_reference', state: 'state' } as const;
    const keys = (Object.keys(columns) as (keyof typeof columns)[]).filter((k) => filter[k] !== undefined);
    const { values, p } = parameters();
    // Columns come from the fixed map only, never from input.
    const where = keys.length ? `WHERE ${keys.map((k) => `${columns[k]} = ${p(filter[k])}`).join(' AND ')}` : '';
    const { rows } = await this.#pool.query<ReversalRow>(`SELECT * FROM reversals ${where} ORDER BY requested_at, row_order`, values);
    return rows.map(toReversal);
  }

  async recordNotification(n: Omit<PspNotificationRecord, 'receivedAt'>): Promise<PspNotificationRecord> {
    const { rows } = await this.#pool.query<NotificationRow>(
      `INSERT INTO psp_notifications (psp, event_code, psp_reference, original_reference, merchant_reference, success, detail, received_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
        ON CONFLICT (psp, event_code, psp_reference) DO UPDATE SET original_reference = excluded.original_reference,
          merchant_reference = excluded.merchant_reference, success = excluded.success, detail = excluded.detail, received_at = excluded.received_at
        RETURNING *`,
      [n.psp, n.eventCode, n.pspReference, n.originalReference, n.merchantReference, n.success ? 1 : 0, JSON.stringify(n.detail), this.#stamp()],
    );
    return toNotification(rows[0]!);
  }

  async findNotifications(filter: { psp: string; merchantReference?: string; pspReference?: string }): Promise<PspNotificationRecord[]> {
    const { values, p } = parameters();
    const where = [`psp = ${p(filter.psp)}`];
    if (filter.merchantReference !== undefined) where.push(`merchant_reference = ${p(filter.merchantReference)}`);
    if (filter.pspReference !== undefined) where.push(`psp_reference = ${p(filter.pspReference)}`);
    const { rows } = await this.#pool.query<NotificationRow>(`SELECT * FROM psp_notifications WHERE ${where.join(' AND ')} ORDER BY received_at, row_order`, values);
    return rows.map(toNotification);
  }

  #stamp(): string {
    return this.#now().toISOString();
  }
}

async function reversalIn(db: Pool | PoolClient, key: string, forUpdate: boolean): Promise<ReversalRecord | undefined> {
  const { rows } = await db.query<ReversalRow>(`SELECT * FROM reversals WHERE idempotency_key = $1${forUpdate ? ' FOR UPDATE' : ''}`, [key]);
  return rows[0] && toReversal(rows[0]);
}
