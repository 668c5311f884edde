import type { Database, Statement } from 'better-sqlite3';
import type { ReversalState } from '../domain/payment-lifecycle.js';
import type { PspNotificationRecord, PspRecordStore, ReversalRecord, StoredTokenRecord } from './psp-record-store.js';
import { IdempotencyKeyConflictError } from './store-errors.js';
import { durableTransaction } from './durable-transaction.js';
import { settleIntent, type IntentAnswer } from './state-change.js';
import { REVERSAL_LIFECYCLE, toNotification, toReversal, toToken, type NotificationRow, type ReversalRow, type TokenRow } from './store-rows.js';

/** Tokens, reversals and PSP notifications in the payment database (migration 4). */
export class SqlitePspRecordStore implements PspRecordStore {
  readonly #db: Database;
  readonly #now: () => Date;
  readonly #sql: Record<
    'saveToken' | 'getToken' | 'findToken' | 'insertReversal' | 'getReversal' | 'resolveReversal' | 'upsertNotification' | 'getNotification',
    Statement
  >;

  constructor(db: Database, now: () => Date = () => new Date()) {
    this.#db = db;
    this.#now = now;
    const p = (sql: string): Statement => db.prepare(sql);
    this.#sql = {
      saveToken: p(`INSERT INTO payment_tokens (session_id, psp, token, customer, card_brand, card_last4, created_at)
        VALUES (@sessionId, @psp, @token, @customer, @cardBrand, @cardLast4, @at)
        ON CONFLICT (session_id) DO UPDATE SET psp = excluded.psp, token = excluded.token, customer = excluded.customer,
          card_brand = excluded.card_brand, card_last4 = excluded.card_last4, created_at = excluded.created_at`),
      getToken: p('SELECT * FROM payment_tokens WHERE session_id = ?'),
      findToken: p('SELECT * FROM payment_tokens WHERE token = ? ORDER BY created_at DESC LIMIT 1'),
      insertReversal: p(`INSERT INTO reversals (idempotency_key, session_id, kind, psp, amount_minor, currency, state, actor_kind, actor_id, requested_at)
        VALUES (@idempotencyKey, @sessionId, @kind, @psp, @amountMinor, @currency, 'requested', @actorKind, @actorId, @at)`),
      getReversal: p('SELECT * FROM reversals WHERE idempotency_key = ?'),
      resolveReversal: p(
        'UPDATE reversals SET state = @state, psp_reference = @pspReference, detail = @detail, resolved_at = @resolvedAt WHERE idempotency_key = @key',
      ),
      upsertNotification: p(`INSERT INTO psp_notifications (psp, event_code, psp_reference, original_reference, merchant_reference, success, detail, received_at)
        VALUES (@psp, @eventCode, @pspReference, @originalReference, @merchantReference, @success, @detail, @at)
        ON CONFLICT (psp, event_code, psp_reference) DO UPDATE SET original_reference = excluded.original_reference,
          merchant_reference = excluded.merchant_reference, success = excluded.success, detail = excluded.detail, received_at = excluded.received_at`),
      getNotification: p('SELECT * FROM psp_notifications WHERE psp = ? AND event_code = ? AND psp_reference = ?'),
    };
  }

  async saveToken(record: Omit<StoredTokenRecord, 'createdAt'>): Promise<StoredTokenRecord> {
    return durableTransaction(this.#db, () => {
      this.#sql.saveToken.run({ ...record, at: this.#stamp() });
      return this.#token(record.sessionId)!;
    });
  }

  async getToken(sessionId: string): Promise<StoredTokenRecord | undefined> {
    return this.#token(sessionId);
  }

  #token(sessionId: string): StoredTokenRecord | undefined {
    const row = this.#sql.getToken.get(sessionId) as TokenRow | undefined;
    return row && toToken(row);
  }

  async findToken(token: string): Promise<StoredTokenRecord | undefined> {
    const row = this.#sql.findToken.get(token) as TokenRow | undefined;
    return row && toToken(row);
  }

  async recordReversalIntent(input: Parameters<PspRecordStore['recordReversalIntent']>[0]): Promise<ReversalRecord> {
    return durableTransaction(this.#db, () => {
      if (this.#reversal(input.idempotencyKey)) throw new IdempotencyKeyConflictError(input.idempotencyKey);
      const { actor, ...rest } = input;
      this.#sql.insertReversal.run({ ...rest, actorKind: actor.kind, actorId: actor.id, at: this.#stamp() });
      return this.#reversal(input.idempotencyKey)!;
    });
  }

  async resolveReversal(idempotencyKey: string, update: IntentAnswer<ReversalState>): Promise<ReversalRecord> {
    return durableTransaction(this.#db, () =>
      settleIntent(REVERSAL_LIFECYCLE, {
        key: idempotencyKey,
        answer: update,
        read: (key) => this.#reversal(key),
        statement: this.#sql.resolveReversal,
        stamp: () => this.#stamp(),
      }),
    );
  }

  async getReversal(idempotencyKey: string): Promise<ReversalRecord | undefined> {
    return this.#reversal(idempotencyKey);
  }

  #reversal(idempotencyKey: string): ReversalRecord | undefined {
    const row = this.#sql.getReversal.get(idempotencyKey) as ReversalRow | undefined;
    return row && toReversal(row);
  }

  async listReversals(filter: { sessionId?: string; pspReference?: string; state?: ReversalState }): Promise<ReversalRecord[]> {
    const columns = { sessionId: 'session_id', pspReference: 'psp_reference', state: 'state' } as const;
    const keys = (Object.keys(columns) as (keyof typeof columns)[]).filter((k) => filter[k] !== undefined);
    // Columns come from the fixed map only, never from input.
    const where = keys.length ? `WHERE ${keys.map((k) => `${columns[k]} = @${k}`).join(' AND ')}` : '';
    const rows = this.#db
      .prepare(`SELECT * FROM reversals ${where} ORDER BY requested_at, rowid`)
      .all(Object.fromEntries(keys.map((k) => [k, filter[k]]))) as ReversalRow[];
    return rows.map(toReversal);
  }

  async recordNotification(n: Omit<PspNotificationRecord, 'receivedAt'>): Promise<PspNotificationRecord> {
    this.#sql.upsertNotification.run({
      psp: n.psp,
      eventCode: n.eventCode,
      pspReference: n.pspReference,
      originalReference: n.originalReference,
      merchantReference: n.merchantReference,
      success: n.success ? 1 : 0,
      detail: JSON.stringify(n.detail),
      at: this.#stamp(),
    });
    return toNotification(this.#sql.getNotification.get(n.psp, n.eventCode, n.pspReference) as NotificationRow);
  }

  async findNotifications(filter: { psp: string; merchantReference?: string; pspReference?: string }): Promise<PspNotificationRecord[]> {
    const where = ['psp = @psp'];
    if (filter.merchantReference !== undefined) where.push('merchant_reference = @merchantReference');
    if (filter.pspReference !== undefined) where.push('psp_reference = @pspReference');
    const rows = this.#db
      .prepare(`SELECT * FROM psp_notifications WHERE ${where.join(' AND ')} ORDER BY received_at, rowid`)
      .all(filter) as NotificationRow[];
    return rows.map(toNotification);
  }

  #stamp(): string {
    return this.#now().toISOString();
  }
}

