import type { Database, Statement } from 'better-sqlite3';
import { PAYMENT_LINK_STATE_TRANSITIONS, SMS_DELIVERY_TRANSITIONS, type PaymentLinkState, type SmsDeliveryState } from '../domain/payment-lifecycle.js';
import { newOpaqueId } from '../domain/opaque-id.js';
import { durableTransaction } from './durable-transaction.js';
import type { PaymentLinkRecord, PaymentLinkStore, SmsOutboxRecord } from './payment-link-store.js';
import { changeRow, type RowLifecycle } from './state-change.js';
import { clampLimit } from './sqlite-query-shapes.js';
import { InvalidLinkTransitionError, InvalidSmsDeliveryTransitionError, PaymentLinkNotFoundError, SmsMessageNotFoundError } from './store-errors.js';

interface LinkRow {
  id: string;
  session_id: string;
  provider: string;
  provider_link_id: string;
  url: string;
  phone: string;
  state: PaymentLinkState;
  valid_until: string;
  psp_reference: string | null;
  created_at: string;
  settled_at: string | null;
}

interface SmsRow {
  id: string;
  session_id: string | null;
  link_id: string | null;
  provider: string;
  provider_message_id: string;
  recipient: string;
  body: string;
  sent_at: string;
  delivery: SmsDeliveryState;
  delivery_error: string | null;
  delivery_at: string | null;
}

const LINK_LIFECYCLE: RowLifecycle<PaymentLinkRecord, PaymentLinkState> = {
  transitions: PAYMENT_LINK_STATE_TRANSITIONS,
  stateOf: (l) => l.state,
  notFound: (id) => new PaymentLinkNotFoundError(id),
  illegal: (id, from, to) => new InvalidLinkTransitionError(id, from, to),
};

const SMS_LIFECYCLE: RowLifecycle<SmsOutboxRecord, SmsDeliveryState> = {
  transitions: SMS_DELIVERY_TRANSITIONS,
  stateOf: (m) => m.delivery,
  notFound: (id) => new SmsMessageNotFoundError(id),
  illegal: (id, from, to) => new InvalidSmsDeliveryTransitionError(id, from, to),
};

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

  saveLink(input: Omit<PaymentLinkRecord, 'state' | 'pspReference' | 'createdAt' | 'settledAt'>): PaymentLinkRecord {
    return durableTransaction(this.#db, () => {
      this.#sql.insertLink.run({ ...input, at: this.#stamp() });
      return this.getLink(input.id)!;
    });
  }

  getLink(id: string): PaymentLinkRecord | undefined {
    const row = this.#sql.getLink.get(id) as LinkRow | undefined;
    return row && toLink(row);
  }

  findLink(provider: string, providerLinkId: string): PaymentLinkRecord | undefined {
    const row = this.#sql.findLink.get(provider, providerLinkId) as LinkRow | undefined;
    return row && toLink(row);
  }

  listLinks(filter: { sessionId?: string; state?: PaymentLinkState }): PaymentLinkRecord[] {
    const columns = { sessionId: 'session_id', state: 'state' } as const;
    const keys = (Object.keys(columns) as (keyof typeof columns)[]).filter((k) => filter[k] !== undefined);
    // Columns come from the fixed map only, never from input.
    const where = keys.length ? `WHERE ${keys.map((k) => `${columns[k]} = @${k}`).join(' AND ')}` : '';
    const rows = this.#db
      .prepare(`SELECT * FROM payment_links ${where} ORDER BY created_at, rowid`)
      .all(Object.fromEntries(keys.map((k) => [k, filter[k]]))) as LinkRow[];
    return rows.map(toLink);
  }

  settleLink(id: string, update: { state: PaymentLinkState; pspReference?: string | null }): PaymentLinkRecord {
    return durableTransaction(this.#db, () =>
      changeRow(LINK_LIFECYCLE, {
        id,
        to: update.state,
        read: (linkId) => this.getLink(linkId),
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

  appendSms(message: Pick<SmsOutboxRecord, 'sessionId' | 'linkId' | 'provider' | 'providerMessageId' | 'recipient' | 'body'>): SmsOutboxRecord {
    const id = newOpaqueId('sms');
    this.#sql.insertSms.run({ ...message, id, at: this.#stamp() });
    return this.#getSms(id)!;
  }

  findSms(provider: string, providerMessageId: string): SmsOutboxRecord | undefined {
    const row = this.#sql.findSms.get(provider, providerMessageId) as SmsRow | undefined;
    return row && toSms(row);
  }

  listSms(filter: { sessionId?: string; linkId?: string; limit?: number }): SmsOutboxRecord[] {
    const columns = { sessionId: 'session_id', linkId: 'link_id' } as const;
    const keys = (Object.keys(columns) as (keyof typeof columns)[]).filter((k) => filter[k] !== undefined);
    // Columns come from the fixed map only, never from input.
    const where = keys.length ? `WHERE ${keys.map((k) => `${columns[k]} = @${k}`).join(' AND ')}` : '';
    const rows = this.#db
      .prepare(`SELECT * FROM sms_outbox ${where} ORDER BY sent_at DESC, rowid DESC LIMIT @limit`)
      .all({ ...Object.fromEntries(keys.map((k) => [k, filter[k]])), limit: clampLimit(filter.limit, 100, 1000) }) as SmsRow[];
    return rows.map(toSms);
  }

  recordSmsDelivery(id: string, report: { delivery: SmsDeliveryState; errorCode?: string | null }): SmsOutboxRecord {
    return durableTransaction(this.#db, () =>
      changeRow(SMS_LIFECYCLE, {
        id,
        to: report.delivery,
        read: (messageId) => this.#getSms(messageId),
        write: (current) => {
          // The same report again (providers deliver at least once) changes nothing.
          if (current.delivery === report.delivery) return;
          this.#sql.deliverSms.run({ id, delivery: report.delivery, errorCode: report.errorCode ?? null, at: this.#stamp() });
        },
      }),
    );
  }

  #getSms(id: string): SmsOutboxRecord | undefined {
    const row = this.#sql.getSms.get(id) as SmsRow | undefined;
    return row && toSms(row);
  }

  #stamp(): string {
    return this.#now().toISOString();
  }
}

function toLink(r: LinkRow): PaymentLinkRecord {
  return {
    id: r.id,
    sessionId: r.session_id,
    provider: r.provider,
    providerLinkId: r.provider_link_id,
    url: r.url,
    phone: r.phone,
    state: r.state,
    expiresAt: r.valid_until,
    pspReference: r.psp_reference,
    createdAt: r.created_at,
    settledAt: r.settled_at,
  };
}

function toSms(r: SmsRow): SmsOutboxRecord {
  return {
    id: r.id,
    sessionId: r.session_id,
    linkId: r.link_id,
    provider: r.provider,
    providerMessageId: r.provider_message_id,
    recipient: r.recipient,
    body: r.body,
    sentAt: r.sent_at,
    delivery: r.delivery,
    deliveryError: r.delivery_error,
    deliveryAt: r.delivery_at,
  };
}
