import type { CardBrand } from '../domain/card-brand.js';
import type { CurrencyCode } from '../domain/payment-types.js';
import type { Actor } from '../domain/actor.js';
import type { PaymentModificationKind, ReversalState } from '../domain/payment-lifecycle.js';

/**
 * A PSP's reusable token for the card of one session, for repeat payments.
 * The PSP's identifiers only, with the brand and last four (PCI DSS 4.0
 * req. 3.4.1): nothing here can charge a card without the merchant's PSP account.
 */
export interface StoredTokenRecord {
  readonly sessionId: string;
  readonly psp: string;
  /** Stripe PaymentMethod `pm_…`, Adyen storedPaymentMethodId. */
  readonly token: string;
  /** Stripe Customer `cus_…`, Adyen shopperReference. */
  readonly customer: string;
  readonly cardBrand: CardBrand | null;
  readonly cardLast4: string | null;
  readonly createdAt: string;
}

/** A capture, refund or void, written before the PSP is asked, with the key a retry reuses. */
export interface ReversalRecord {
  readonly idempotencyKey: string;
  readonly sessionId: string;
  readonly kind: PaymentModificationKind;
  readonly psp: string;
  readonly amountMinor: number;
  readonly currency: CurrencyCode;
  readonly state: ReversalState;
  /** The PSP's reference of the refund or cancellation itself. */
  readonly pspReference: string | null;
  /** The PSP's refusal or error code. */
  readonly detail: string | null;
  /** The supervisor who asked. */
  readonly actor: Actor;
  readonly requestedAt: string;
  readonly resolvedAt: string | null;
}

/**
 * One asynchronous notification from a PSP (an Adyen webhook item), reduced
 * to what reconciling needs: never the card summary, expiry or any other
 * additional data the PSP sends along.
 */
export interface PspNotificationRecord {
  readonly psp: string;
  /** AUTHORISATION, REFUND, CANCELLATION, … */
  readonly eventCode: string;
  /** The PSP's reference of what the event is about (the payment, or the modification). */
  readonly pspReference: string;
  /** For a modification: the payment it modifies. */
  readonly originalReference: string | null;
  /** Our reference: the idempotency key of the payment or reversal. */
  readonly merchantReference: string;
  readonly success: boolean;
  /** Reduced details: `{authCode?, refusalReason?, token?, customer?}`. */
  readonly detail: Readonly<Record<string, string>>;
  readonly receivedAt: string;
}

/** What the PSP adapters and the reversals service keep beside the payment store. */
export interface PspRecordStore {
  /** Keeps the token of a session's card; a second token for the same session replaces the first. */
  saveToken(record: Omit<StoredTokenRecord, 'createdAt'>): Promise<StoredTokenRecord>;
  getToken(sessionId: string): Promise<StoredTokenRecord | undefined>;
  /** The token record of a PSP token (`pm_…`, storedPaymentMethodId, `sbxtok_…`). */
  findToken(token: string): Promise<StoredTokenRecord | undefined>;

  /** Writes a reversal in state `requested`. @throws IdempotencyKeyConflictError if the key exists. */
  recordReversalIntent(input: {
    idempotencyKey: string;
    sessionId: string;
    kind: PaymentModificationKind;
    psp: string;
    amountMinor: number;
    currency: CurrencyCode;
    actor: Actor;
  }): Promise<ReversalRecord>;
  /** @throws ReversalNotFoundError, InvalidReversalTransitionError */
  resolveReversal(idempotencyKey: string, update: { state: ReversalState; pspReference?: string | null; detail?: string | null }): Promise<ReversalRecord>;
  getReversal(idempotencyKey: string): Promise<ReversalRecord | undefined>;
  /** Oldest first. */
  listReversals(filter: { sessionId?: string; pspReference?: string; state?: ReversalState }): Promise<ReversalRecord[]>;

  /** Keeps a notification; a repeat of the same event for the same reference replaces it (PSPs deliver at least once). */
  recordNotification(notification: Omit<PspNotificationRecord, 'receivedAt'>): Promise<PspNotificationRecord>;
  /** Oldest first. */
  findNotifications(filter: { psp: string; merchantReference?: string; pspReference?: string }): Promise<PspNotificationRecord[]>;
}
