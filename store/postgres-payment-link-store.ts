import type { PaymentLinkState, SmsDeliveryState } from '../domain/payment-lifecycle.js';
import { newOpaqueId } from '../domain/opaque-id.js';
import { LINK_FILTER_COLUMNS, LINK_LIFECYCLE, SMS_FILTER_COLUMNS, SMS_LIFECYCLE, toLink, toSms, type LinkRow, type SmsRow } from './payment-link-rows.js';
import type { PaymentLinkRecord, PaymentLinkStore, SmsOutboxRecord } from './payment-link-store.js';
import { inTransaction, parameters, type Pool, type PoolClient } from './postgres-pool.js';
import { clampLimit } from './sqlite-query-shapes.js';
import { guardChange } from './state-change.js';

/**
 * Payment links and the SMS outbox in PostgreSQL (migrations 10 and 11), on
 * the payment store's pool. A link's settlement is read under the row's lock
 * and committed durably: it says whether a payment was taken.
 */
export class PostgresPaymentLinkStore implements PaymentLinkStore {
  readonly #pool: Pool;
  readonly #now: () => Date;

  constructor(pool: Pool, now: () => Date = () => new Date()) {
    this.#pool = pool;
    this.#now = now;
  }

  async saveLink(input: Omit<PaymentLinkRecord, 'state' | 'pspReference' | 'createdAt' | 'settledAt'>): Promise<PaymentLinkRecord> {
    return inTransaction(
      this.#pool,
      async (client) => {
        const { rows } = await client.query<LinkRow>(
          `INSERT INTO payment_links (id, session_id, provider, provider_link_id, url, phone, state, valid_until, created_at)
            VALUES ($1, $2, $3, $4, $5, $6, 'active', $7, $8) RETURNING *`,
          [input.id, input.sessionId, input.provider, input.providerLinkId, input.url, input.phone, input.expiresAt, this.#stamp()],
        );
        return toLink(rows[0]!);
      },
      { durable: true },
    );
  }

  async getLink(id: string): Promise<PaymentLinkRecord | undefined> {
    return linkIn(this.#pool, id, false);
  }

  async findLink(provider: string, providerLinkId: string): Promise<PaymentLinkRecord | undefined> {
    const { rows } = await this.#pool.query<LinkRow>('SELECT * FROM payment_links WHERE provider = $1 AND provider_link_id = $2', [provider, providerLinkId]);
    return rows[0] && toLink(rows[0]);
  }

  async listLinks(filter: { sessionId?: string; state?: PaymentLinkState }): Promise<PaymentLinkRecord[]> {
    const keys = (Object.keys(LINK_FILTER_COLUMNS) as (keyof typeof LINK_FILTER_COLUMNS)[]).filter((k) => filter[k] !== undefined);
    const { values, p } = parameters();
    // Columns come from the fixed map only, never from input.
    const where = keys.length ? `WHERE ${keys.map((k) => `${LINK_FILTER_COLUMNS[k]} = ${p(filter[k])}`).join(' AND ')}` : '';
    const { rows } = await this.#pool.query<LinkRow>(`SELECT * FROM payment_links ${where} ORDER BY created_at, row_order`, values);
    return rows.map(toLink);
  }

  async settleLink(id: string, update: { state: PaymentLinkState; pspReference?: string | null }): Promise<PaymentLinkRecord> {
    return inTransaction(
      this.#pool,
      async (client) => {
        const current = guardChange(LINK_LIFECYCLE, id, await linkIn(client, id, true), update.state);
        if (current.state === update.state) return current;
        const { rows } = await client.query<LinkRow>(
          'UPDATE payment_links SET state = $1, psp_reference = $2, settled_at = $3 WHERE id = $4 RETURNING *',
          [update.state, update.pspReference === undefined ? current.pspReference : update.pspReference, this.#stamp(), id],
        );
        return toLink(rows[0]!);
      },
      { durable: true },
    );
  }

  async appendSms(message: Pick<SmsOutboxRecord, 'sessionId' | 'linkId' | 'provider' | 'providerMessageId' | 'recipient' | 'body'>): Promise<SmsOutboxRecord> {
    const { rows } = await this.#pool.query<SmsRow>(
      `INSERT INTO sms_outbox (id, session_id, link_id, provider, provider_message_id, recipient, body, sent_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *`,
      [newOpaqueId('sms'), message.sessionId, message.linkId, message.provider, message.providerMessageId, message.recipient, message.body, this.#stamp()],
    );
    return toSms(rows[0]!);
  }

  async findSms(provider: string, providerMessageId: string): Promise<SmsOutboxRecord | undefined> {
    const { rows } = await this.#pool.query<SmsRow>('SELECT * FROM sms_outbox WHERE provider = $1 AND provider_message_id = $2', [provider, providerMessageId]);
    return rows[0] && toSms(rows[0]);
  }

  async listSms(filter: { sessionId?: string; linkId?: string; limit?: number }): Promise<SmsOutboxRecord[]> {
    const keys = (Object.keys(SMS_FILTER_COLUMNS) as (keyof typeof SMS_FILTER_COLUMNS)[]).filter((k) => filter[k] !== undefined);
    const { values, p } = parameters();
    // Columns come from the fixed map only, never from input.
    const where = keys.length ? `WHERE ${keys.map((k) => `${SMS_FILTER_COLUMNS[k]} = ${p(filter[k])}`).join(' AND ')}` : '';
    const { rows } = await this.#pool.query<SmsRow>(
      `SELECT * FROM sms_outbox ${where} ORDER BY sent_at DESC, row_order DESC LIMIT ${p(clampLimit(filter.limit, 100, 1000))}`,
      values,
    );
    return rows.map(toSms);
  }

  async recordSmsDelivery(id: string, report: { delivery: SmsDeliveryState; errorCode?: string | null }): Promise<SmsOutboxRecord> {
    return inTransaction(this.#pool, async (client) => {
      const { rows: found } = await client.query<SmsRow>('SELECT * FROM sms_outbox WHERE id = $1 FOR UPDATE', [id]);
      const current = guardChange(SMS_LIFECYCLE, id, found[0] && toSms(found[0]), report.delivery);
      // The same report again (providers deliver at least once) changes nothing.
      if (current.delivery === report.delivery) return current;
      const { rows } = await client.query<SmsRow>(
        'UPDATE sms_outbox SET delivery = $1, delivery_error = $2, delivery_at = $3 WHERE id = $4 RETURNING *',
        [report.delivery, report.errorCode ?? null, this.#stamp(), id],
      );
      return toSms(rows[0]!);
    });
  }

  #stamp(): string {
    return this.#now().toISOString();
  }
}

async function linkIn(db: Pool | PoolClient, id: string, forUpdate: boolean): Promise<PaymentLinkRecord | undefined> {
  const { rows } = await db.query<LinkRow>(`SELECT * FROM payment_links WHERE id = $1${forUpdate ? ' FOR UPDATE' : ''}`, [id]);
  return rows[0] && toLink(rows[0]);
}
