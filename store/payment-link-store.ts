import type { PaymentLinkState, SmsDeliveryState } from '../domain/payment-lifecycle.js';

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

/**
 * One text message sent, whichever provider sent it (migration 11; the
 * sandbox's are only kept here), and its delivery as the provider reported it.
 */
export interface SmsOutboxRecord {
  readonly id: string;
  readonly sessionId: string | null;
  /** The payment link the message carried; null for a receipt. */
  readonly linkId: string | null;
  /** twilio, vonage, sandbox. */
  readonly provider: string;
  /** The provider's id of the message (Twilio `SM…`, Vonage message-id, sandbox `sms_…`). */
  readonly providerMessageId: string;
  /** E.164. */
  readonly recipient: string;
  readonly body: string;
  readonly sentAt: string;
  readonly delivery: SmsDeliveryState;
  /** The provider's error code with `undelivered` or `failed` (Twilio ErrorCode, Vonage err-code). */
  readonly deliveryError: string | null;
  /** When the last delivery report changed it. */
  readonly deliveryAt: string | null;
}

/** The payment links port and the SMS outbox (migrations 10 and 11); every method answers a promise, as the other store ports. */
export interface PaymentLinkStore {
  saveLink(input: Omit<PaymentLinkRecord, 'state' | 'pspReference' | 'createdAt' | 'settledAt'>): Promise<PaymentLinkRecord>;
  getLink(id: string): Promise<PaymentLinkRecord | undefined>;
  findLink(provider: string, providerLinkId: string): Promise<PaymentLinkRecord | undefined>;
  /** Oldest first. */
  listLinks(filter: { sessionId?: string; state?: PaymentLinkState }): Promise<PaymentLinkRecord[]>;
  /** @throws PaymentLinkNotFoundError, InvalidLinkTransitionError */
  settleLink(id: string, update: { state: PaymentLinkState; pspReference?: string | null }): Promise<PaymentLinkRecord>;

  /** Keeps a message the provider took (`submitted`). */
  appendSms(message: Pick<SmsOutboxRecord, 'sessionId' | 'linkId' | 'provider' | 'providerMessageId' | 'recipient' | 'body'>): Promise<SmsOutboxRecord>;
  findSms(provider: string, providerMessageId: string): Promise<SmsOutboxRecord | undefined>;
  /** Newest first; `limit` defaults to 100. */
  listSms(filter: { sessionId?: string; linkId?: string; limit?: number }): Promise<SmsOutboxRecord[]>;
  /**
   * A delivery report: the state, with the provider's error code for a failure.
   * @throws SmsMessageNotFoundError, InvalidSmsDeliveryTransitionError
   */
  recordSmsDelivery(id: string, report: { delivery: SmsDeliveryState; errorCode?: string | null }): Promise<SmsOutboxRecord>;
}
