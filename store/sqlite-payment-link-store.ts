import type { Database, Statement } from 'better-sqlite3';
import type { PaymentLinkState, SmsDeliveryState } from '../domain/payment-lifecycle.js';
import { newOpaqueId } from '../domain/opaque-id.js';
import { durableTransaction } from './durable-transaction.js';
import { LINK_FILTER_COLUMNS, LINK_LIFECYCLE, SMS_FILTER_COLUMNS, SMS_LIFECYCLE, toLink, toSms, type LinkRow, type SmsRow } from './payment-link-rows.js';
import type { PaymentLinkRecord, PaymentLinkStore, SmsOutboxRecord } from './payment-link-store.js';
import { changeRow } from './state-change.js';
import { clampLimit } from './sqlite-query-shapes.js';

/** Payment links and the SMS outbox in the payment database (migrations 10 and 11). */
export class SqlitePaymentLinkStore implements PaymentLinkStore {
  readonly #db: Database;
  readonly #now: () => Date;
  readonly #sql: Record<'insertLink' | 'getLink' | 'findLink' | 'settleLink' | 'insertSms' | 'getSms' | 'findSms' | 'deliverSms', Statement>;

  constructor(db: Database, now: () => Date = () => new Date()) {
    this.#db = db;
    this.#now = now;
    const p = (sql: string): Statement => db.prepare(sql);
    this.#sql = {
      insertLink: p(`INSERT INTO payment_links (id, session_id, provider, provider_link_id, url, phone, state, valid_until, created_at)
        VALUES (@id, @sessionId, @provider, @providerLinkId, @url, @phone, 'active', @expiresAt, @at)`),
      getLink: p('SELECT * FROM payment_links WHERE id = ?'),
      findLink: p('SELECT * FROM payment_links WHERE provider = ? AND provider_link_id = ?'),
      settleLink: p('UPDATE payment_links SET state = @state, psp_reference = @pspReference, settled_at = @settledAt WHERE id = @id'),
      insertSms: p(`INSERT INTO sms_outbox (id, session_id, link_id, provider, provider_message_id, recipient, body, sent_at)
        VALUES (@id, @sessionId, @linkId, @provider, @providerMessageId, @recipient, @body, @at)`),
      getSms: p('SELECT * FROM sms_outbox WHERE id = ?'),
      findSms: p('SELECT * FROM sms_outbox WHERE provider = ? AND provider_message_id = ?'),
      deliverSms: p('UPDATE sms_outbox SET delivery = @delivery, delivery_error = @errorCode, delivery_at = @at WHERE id = @id'),
    };
  }

  async saveLink(input: Omit<PaymentLinkRecord, 'state' | 'pspReference' | 'createdAt' | 'settledAt'>): Promise<PaymentLinkRecord> {
    return durableTransaction(this.#db, () => {
      this.#sql.insertLink.run({ ...input, at: this.#stamp() });
      return this.#link(input.id)!;
    });
  }

  async getLink(id: string): Promise<PaymentLinkRecord | undefined> {
    return this.#link(id);
  }

  #link(id: string): PaymentLinkRecord | undefined {
    const row = this.#sql.getLink.get(id) as LinkRow | undefined;
    return row && toLink(row);
  }

  async findLink(provider: string, providerLinkId: string): Promise<PaymentLinkRecord | undefined> {
    const row = this.#sql.findLink.get(provider, providerLinkId) as LinkRow | undefined;
    return row && toLink(row);
  }

  async listLinks(filter: { sessionId?: string; state?: PaymentLinkState }): Promise<PaymentLinkRecord[]> {
    const keys = (Object.keys(LINK_FILTER_COLUMNS) as (keyof typeof LINK_FILTER_COLUMNS)[]).filter((k) => filter[k] !== undefined);
    // Columns come from the fixed map only, never from input.
    const where = keys.length ? `WHERE ${keys.map((k) => `${LINK_FILTER_COLUMNS[k]} = @${k}`).join(' AND ')}` : '';
    const rows = this.#db
      .prepare(`SELECT * FROM payment_links ${where} ORDER BY created_at, rowid`)
      .all(Object.fromEntries(keys.map((k) => [k, filter[k]]))) as LinkRow[];
    return rows.map(toLink);
  }

  async settleLink(id: string, update: { state: PaymentLinkState; pspReference?: string | null }): Promise<PaymentLinkRecord> {
    return durableTransaction(this.#db, () =>
      changeRow(LINK_LIFECYCLE, {
        id,
        to: update.state,
        read: (linkId) => this.#link(linkId),
        write: (current) => {
          if (current.state === update.state) return;
          this.#sql.settleLink.run({
            id,
            state: update.state,
            pspReference: update.pspReference === undefined ? current.pspReference : update.pspReference,
            settledAt: this.#stamp(),
          });
        },
      }),
    );
  }

  async appendSms(message: Pick<SmsOutboxRecord, 'sessionId' | 'linkId' | 'provider' | 'providerMessageId' | 'recipient' | 'body'>): Promise<SmsOutboxRecord> {
    const id = newOpaqueId('sms');
    this.#sql.insertSms.run({ ...message, id, at: this.#stamp() });
    return this.#sms(id)!;
  }

  async findSms(provider: string, providerMessageId: string): Promise<SmsOutboxRecord | undefined> {
    const row = this.#sql.findSms.get(provider, providerMessageId) as SmsRow | undefined;
    return row && toSms(row);
  }

  async listSms(filter: { sessionId?: string; linkId?: string; limit?: number }): Promise<SmsOutboxRecord[]> {
    const keys = (Object.keys(SMS_FILTER_COLUMNS) as (keyof typeof SMS_FILTER_COLUMNS)[]).filter((k) => filter[k] !== undefined);
    // Columns come from the fixed map only, never from input.
    const where = keys.length ? `WHERE ${keys.map((k) => `${SMS_FILTER_COLUMNS[k]} = @${k}`).join(' AND ')}` : '';
    const rows = this.#db
      .prepare(`SELECT * FROM sms_outbox ${where} ORDER BY sent_at DESC, rowid DESC LIMIT @limit`)
      .all({ ...Object.fromEntries(keys.map((k) => [k, filter[k]])), limit: clampLimit(filter.limit, 100, 1000) }) as SmsRow[];
    return rows.map(toSms);
  }

  async recordSmsDelivery(id: string, report: { delivery: SmsDeliveryState; errorCode?: string | null }): Promise<SmsOutboxRecord> {
    return durableTransaction(this.#db, () =>
      changeRow(SMS_LIFECYCLE, {
        id,
        to: report.delivery,
        read: (messageId) => this.#sms(messageId),
        write: (current) => {
          // The same report again (providers deliver at least once) changes nothing.
          if (current.delivery === report.delivery) return;
          this.#sql.deliverSms.run({ id, delivery: report.delivery, errorCode: report.errorCode ?? null, at: this.#stamp() });
        },
      }),
    );
  }

  #sms(id: string): SmsOutboxRecord | undefined {
    const row = this.#sql.getSms.get(id) as SmsRow | undefined;
    return row && toSms(row);
  }

  #stamp(): string {
    return this.#now().toISOString();
  }
}
