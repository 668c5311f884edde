import type { CardData } from '../vault/card-data.js';
import type { CurrencyCode, DeclineReason } from '../ivr/domain/payment-types.js';

/** One authorisation, as the flow asks for it. MOTO: card keyed by phone. */
export interface AuthorisationRequest {
  readonly amountMinor: number;
  readonly currency: CurrencyCode;
  /** The merchant's reference (order or invoice number). */
  readonly reference: string;
  /** Stable per payment: a retry with the same key never charges twice. */
  readonly idempotencyKey: string;
  readonly moto: true;
}

export type AuthorisationOutcome =
  | { readonly kind: 'approved'; readonly pspReference: string; readonly authCode: string }
  | { readonly kind: 'declined'; readonly reason: DeclineReason; readonly pspReference?: string }
  | { readonly kind: 'error'; readonly code: string; readonly retryable: boolean };

/** What the PSP knows of an idempotency key, for reconciling in-doubt payments. */
export type AuthorisationLookup = AuthorisationOutcome | { readonly kind: 'not-found' };

export interface AuthoriseOptions {
  /** Aborts the wait; the outcome is then unknown (in doubt), not failed. */
  readonly signal?: AbortSignal;
}

/**
 * The payment service provider port. Adapters: sandbox (default), stripe, adyen.
 * `authorise` resolves with the PSP's answer; it rejects only when no answer
 * came (network failure, abort): the caller then treats the payment as in doubt.
 */
export interface PaymentServiceProvider {
  readonly name: string;
  authorise(request: AuthorisationRequest, card: CardData, options?: AuthoriseOptions): Promise<AuthorisationOutcome>;
  /** The outcome recorded for an idempotency key, or not-found if the PSP never saw it. */
  lookup(idempotencyKey: string, options?: AuthoriseOptions): Promise<AuthorisationLookup>;
}
