import type { CurrencyCode, DeclineReason } from '../domain/payment-types.js';

/** A link to the PSP's own payment page for one session (mode=payment, one line: the session's amount). */
export interface PaymentLinkRequest {
  /** Ours (`lnk_…`): the link's reference at the PSP and the key of its creation, so a retry makes no second link. */
  readonly linkId: string;
  readonly sessionId: string;
  readonly amountMinor: number;
  readonly currency: CurrencyCode;
  /** The merchant's order or invoice reference, shown on the page. */
  readonly reference: string;
  readonly description?: string;
  /** The session's language (fr-FR, en-GB): the page's. */
  readonly language: string;
  readonly expiresAt: Date;
}

export interface CreatedPaymentLink {
  /** Stripe Checkout Session `cs_…`, Adyen payment link id, sandbox token. */
  readonly providerLinkId: string;
  readonly url: string;
  readonly expiresAt: Date;
}

/**
 * What a PSP says of one of its links (a verified webhook, or the sandbox
 * page): paid, refused, or run out unpaid.
 */
export type PaymentLinkOutcome =
  | { readonly kind: 'paid'; readonly provider: string; readonly providerLinkId: string; readonly pspReference: string }
  | { readonly kind: 'declined'; readonly provider: string; readonly providerLinkId: string; readonly reason: DeclineReason; readonly pspReference?: string }
  | { readonly kind: 'expired'; readonly provider: string; readonly providerLinkId: string };

export interface PaymentLinkCallOptions {
  readonly signal?: AbortSignal;
}

/**
 * The payment link port. Adapters: Stripe Checkout Sessions, Adyen Pay by
 * Link, and the sandbox page (PSP=sandbox only). The card is keyed on the
 * PSP's page: no adapter ever sees it.
 */
export interface PaymentLinkProvider {
  readonly name: string;
  /** @throws PaymentLinkError (the PSP refused, or did not answer) */
  create(request: PaymentLinkRequest, options?: PaymentLinkCallOptions): Promise<CreatedPaymentLink>;
  /**
   * Closes the link at the PSP so it can no longer be paid. `paid`: too late,
   * it was paid (the keypad must not charge too).
   * @throws PaymentLinkError
   */
  expire(providerLinkId: string, options?: PaymentLinkCallOptions): Promise<'expired' | 'paid'>;
}

/** The PSP refused a link request, or gave no answer (`retryable`: nothing is known of it). */
export class PaymentLinkError extends Error {
  override readonly name = 'PaymentLinkError';
  constructor(
    readonly code: string,
    readonly retryable: boolean,
  ) {
    super(`payment link request failed: ${code}`);
  }
}
