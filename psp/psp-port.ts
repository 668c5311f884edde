import type { CardData } from '../vault/card-data.js';
import type { CurrencyCode, DeclineReason } from '../domain/payment-types.js';
import type { PaymentModificationKind } from '../domain/payment-lifecycle.js';

/** Ask the PSP to keep the card for later payments, under this customer. */
export interface TokenisationRequest {
  /** The merchant's customer (Stripe Customer metadata, Adyen shopperReference). */
  readonly customerReference: string;
}

/**
 * A reusable stored credential at the PSP: never card data, only the PSP's
 * own identifiers (Stripe PaymentMethod + Customer, Adyen
 * storedPaymentMethodId + shopperReference).
 */
export interface StoredCardToken {
  /** Stripe `pm_…`, Adyen `storedPaymentMethodId`, sandbox `sbxtok_…`. */
  readonly token: string;
  /** Stripe `cus_…`, Adyen shopperReference, sandbox the customer reference. */
  readonly customer: string;
}

/** One authorisation, as the flow asks for it. MOTO: card keyed by phone. */
export interface AuthorisationRequest {
  /** 0 with `tokenise`: a card verification that only stores the card (zero-value authorisation / SetupIntent). */
  readonly amountMinor: number;
  readonly currency: CurrencyCode;
  /** The merchant's reference (order or invoice number). */
  readonly reference: string;
  /** Stable per payment: a retry with the same key never charges twice. */
  readonly idempotencyKey: string;
  readonly moto: true;
  /** Store the card at the PSP for repeat payments; the approval then carries a token. */
  readonly tokenise?: TokenisationRequest;
}

/**
 * A merchant-initiated charge on a card the PSP keeps (an unscheduled
 * card-on-file payment): no card data, no cardholder on the line.
 */
export interface StoredCardChargeRequest {
  readonly amountMinor: number;
  readonly currency: CurrencyCode;
  /** The merchant's reference (order or invoice number). */
  readonly reference: string;
  /** Stable per charge: a retry with the same key never charges twice; `lookup` finds the charge by it. */
  readonly idempotencyKey: string;
  readonly storedCard: StoredCardToken;
}

export type AuthorisationOutcome =
  | { readonly kind: 'approved'; readonly pspReference: string; readonly authCode: string; readonly token?: StoredCardToken }
  | { readonly kind: 'declined'; readonly reason: DeclineReason; readonly pspReference?: string }
  | { readonly kind: 'error'; readonly code: string; readonly retryable: boolean };

/** What the PSP knows of an idempotency key, for reconciling in-doubt payments. */
export type AuthorisationLookup = AuthorisationOutcome | { readonly kind: 'not-found' };

export interface AuthoriseOptions {
  /** Aborts the wait; the outcome is then unknown (in doubt), not failed. */
  readonly signal?: AbortSignal;
}

export interface LookupOptions extends AuthoriseOptions {
  /**
   * When the authorisation was first sent. A PSP whose answer arrives late
   * (search index lag, webhooks) says `not-found` only once this is old
   * enough, and a retryable error before. Default: long ago.
   */
  readonly requestedAt?: Date;
}

/**
 * Capture an authorised payment (all or part: PSP_CAPTURE=manual), give money
 * back on a captured one (refund), or cancel an authorisation before capture (void).
 */
export interface ReversalRequest {
  readonly kind: PaymentModificationKind;
  /** The PSP's reference of the approved payment. */
  readonly pspReference: string;
  /** Capture and refund: the amount, at most what is left; a void always cancels the whole authorisation. */
  readonly amountMinor: number;
  readonly currency: CurrencyCode;
  /** Stable per reversal: a retry never refunds twice. */
  readonly idempotencyKey: string;
}

/**
 * The PSP's answer to a reversal. `pending`: accepted, the final answer comes
 * later (Adyen answers every modification asynchronously, Stripe some refunds).
 */
export type ReversalOutcome =
  | { readonly kind: 'succeeded' | 'pending'; readonly pspReference: string }
  | { readonly kind: 'refused'; readonly code: string }
  | { readonly kind: 'error'; readonly code: string; readonly retryable: boolean };

/**
 * The payment service provider port. Adapters: sandbox (default), stripe, adyen.
 * `authorise` resolves with the PSP's answer; it rejects only when no answer
 * came (network failure, abort): the caller then treats the payment as in doubt.
 * No adapter puts card data anywhere but the body of the authorisation request.
 */
export interface PaymentServiceProvider {
  readonly name: string;
  authorise(request: AuthorisationRequest, card: CardData, options?: AuthoriseOptions): Promise<AuthorisationOutcome>;
  /** Charges a stored card (merchant-initiated); answers and rejects as `authorise` does. */
  chargeStoredCard(request: StoredCardChargeRequest, options?: AuthoriseOptions): Promise<AuthorisationOutcome>;
  /** The outcome recorded for an idempotency key, or not-found if the PSP never saw it. */
  lookup(idempotencyKey: string, options?: LookupOptions): Promise<AuthorisationLookup>;
  /** Captures, refunds or voids an approved payment; rejects only when no answer came. */
  reverse(request: ReversalRequest, options?: AuthoriseOptions): Promise<ReversalOutcome>;
  /** True when the PSP accepts our credentials (behind /readyz); never throws. */
  checkCredentials(options?: AuthoriseOptions): Promise<boolean>;
}
