import { PAYMENT_LINK_STATE_TRANSITIONS, SMS_DELIVERY_TRANSITIONS, type PaymentLinkState, type SmsDeliveryState } from '../domain/payment-lifecycle.js';
import type { PaymentLinkRecord, SmsOutboxRecord } from './payment-link-store.js';
import type { RowLifecycle } from './state-change.js';
import { InvalidLinkTransitionError, InvalidSmsDeliveryTransitionError, PaymentLinkNotFoundError, SmsMessageNotFoundError } from './store-errors.js';

/*
 * The payment_links and sms_outbox rows (migrations 10 and 11) as both
 * adapters read them, their mapping to the port's records, and the lifecycles
 * of a link and of a text's delivery.
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

export const LINK_LIFECYCLE: RowLifecycle<PaymentLinkRecord, PaymentLinkState> = {
  transitions: PAYMENT_LINK_STATE_TRANSITIONS,
  stateOf: (l) => l.state,
  notFound: (id) => new PaymentLinkNotFoundError(id),
  illegal: (id, from, to) => new InvalidLinkTransitionError(id, from, to),
};

export const SMS_LIFECYCLE: RowLifecycle<SmsOutboxRecord, SmsDeliveryState> = {
  transitions: SMS_DELIVERY_TRANSITIONS,
  stateOf: (m) => m.delivery,
  notFound: (id) => new SmsMessageNotFoundError(id),
  illegal: (id, from, to) => new InvalidSmsDeliveryTransitionError(id, from, to),
};

/** listSms' filters and their columns: the only names a query is built from. */
export const SMS_FILTER_COLUMNS = { sessionId: 'session_id', linkId: 'link_id' } as const;

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
