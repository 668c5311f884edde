/** What the link service tells monitoring: fixed words and durations only. */
export interface LinkMetrics {
  linkSent(provider: string): void;
  /** `seconds`: from the link's sending to its payment. */
  linkPaid(provider: string, seconds: number): void;
  linkExpired(provider: string): void;
  linkFailed(reason: 'invalid-phone' | 'psp' | 'sms'): void;
}

export const NO_LINK_METRICS: LinkMetrics = {
  linkSent: () => undefined,
  linkPaid: () => undefined,
  linkExpired: () => undefined,
  linkFailed: () => undefined,
};
