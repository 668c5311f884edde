import { PAYMENT_LINK_STATE_TRANSITIONS, type PaymentLinkState } from '../domain/payment-lifecycle.js';
import type { PaymentLinkRecord, SmsOutboxRecord } from './payment-link-store.js';
import type { RowLifecycle } from './state-change.js';
import { InvalidLinkTransitionError, PaymentLinkNotFoundError } from './store-errors.js';

/*
 * The payment_links and sms_outbox rows (migration 10) as both adapters read
 * them, their mapping to the port's records, and a link's lifecycle.
 */

export interface LinkRow {
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

export interface SmsRow {
  id: string;
  session_id: string | null;
  recipient: string;
  body: string;
  sent_at: string;
}

export const LINK_LIFECYCLE: RowLifecycle<PaymentLinkRecord, PaymentLinkState> = {
  transitions: PAYMENT_LINK_STATE_TRANSITIONS,
  stateOf: (l) => l.state,
  notFound: (id) => new PaymentLinkNotFoundError(id),
  illegal: (id, from, to) => new InvalidLinkTransitionError(id, from, to),
};

/** listLinks' filters and their columns: the only names a query is built from. */
export const LINK_FILTER_COLUMNS = { sessionId: 'session_id', state: 'state' } as const;

export function toLink(r: LinkRow): PaymentLinkRecord {
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

export function toSms(r: SmsRow): SmsOutboxRecord {
  return { id: r.id, sessionId: r.session_id, recipient: r.recipient, body: r.body, sentAt: r.sent_at };
}
