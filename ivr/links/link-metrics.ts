import type { SmsDeliveryState } from '../../domain/payment-lifecycle.js';

/** What the link service tells monitoring: fixed words and durations only. */
export interface LinkMetrics {
  linkSent(provider: string): void;
  /** `seconds`: from the link's sending to its payment. */
  linkPaid(provider: string, seconds: number): void;
  linkExpired(provider: string): void;
  linkFailed(reason: 'invalid-phone' | 'psp' | 'sms'): void;
  /** A text message's delivery changed, as its provider reported it. */
  smsDelivery(provider: string, state: SmsDeliveryState): void;
  /** A status callback or delivery receipt was refused (SmsCallbackError's reason). */
  smsCallbackRefused(provider: string, reason: string): void;
}

export const NO_LINK_METRICS: LinkMetrics = {
  linkSent: () => undefined,
  linkPaid: () => undefined,
  linkExpired: () => undefined,
  linkFailed: () => undefined,
  smsDelivery: () => undefined,
  smsCallbackRefused: () => undefined,
};
