import type { PaymentLinkState } from '../domain/payment-lifecycle.js';

/**
 * A payment link the PSP made for a session and the text message that
 * carried it: the PSP's ids and page, the E.164 number it went to, its state.
 * The card is keyed on the PSP's page: nothing here can hold card data.
 */
export interface PaymentLinkRecord {
  /** Ours: `lnk_…`, also the link's reference at the PSP. */
  readonly id: string;
  readonly sessionId: string;
  /** The PSP that serves the page (stripe, adyen, sandbox). */
  readonly provider: string;
  /** Stripe Checkout Session `cs_…`, Adyen payment link id, sandbox token. */
  readonly providerLinkId: string;
  readonly url: string;
  /** E.164, as the message was sent. */
  readonly phone: string;
  readonly state: PaymentLinkState;
  readonly expiresAt: string;
  /** The PSP's reference of the payment made on the page. */
  readonly pspReference: string | null;
  readonly createdAt: string;
  readonly settledAt: string | null;
}

/** One message the sandbox SMS provider "sent": kept for demos and tests, readable through the API. */
export interface SmsOutboxRecord {
  readonly id: string;
  readonly sessionId: string | null;
  /** E.164. */
  readonly recipient: string;
  readonly body: string;
  readonly sentAt: string;
}

/** The payment links port and the sandbox SMS outbox (migration 10); every method answers a promise, as the other store ports. */
export interface PaymentLinkStore {
  saveLink(input: Omit<PaymentLinkRecord, 'state' | 'pspReference' | 'createdAt' | 'settledAt'>): Promise<PaymentLinkRecord>;
  getLink(id: string): Promise<PaymentLinkRecord | undefined>;
  findLink(provider: string, providerLinkId: string): Promise<PaymentLinkRecord | undefined>;
  /** Oldest first. */
  listLinks(filter: { sessionId?: string; state?: PaymentLinkState }): Promise<PaymentLinkRecord[]>;
  /** @throws PaymentLinkNotFoundError, InvalidLinkTransitionError */
  settleLink(id: string, update: { state: PaymentLinkState; pspReference?: string | null }): Promise<PaymentLinkRecord>;

  appendSms(message: Omit<SmsOutboxRecord, 'id' | 'sentAt'>): Promise<SmsOutboxRecord>;
  /** Newest first; `limit` defaults to 100. */
  listSms(filter: { sessionId?: string; limit?: number }): Promise<SmsOutboxRecord[]>;
}
