import { randomUUID } from 'node:crypto';
import type { CardData } from '../vault/card-data.js';
import type { DeclineReason } from '../ivr/domain/payment-types.js';
import type { Actor, PaymentSessionRecord, PaymentStore } from '../store/payment-store.js';
import type { AuthorisationOutcome, PaymentServiceProvider } from './psp-port.js';

export type AuthorisationResult =
  | { readonly kind: 'approved'; readonly pspReference: string; readonly authCode: string }
  | { readonly kind: 'declined'; readonly reason: DeclineReason }
  | { readonly kind: 'error'; readonly code: string }
  | { readonly kind: 'in-doubt' };

export interface AuthoriserOptions {
  readonly psp: PaymentServiceProvider;
  readonly store: PaymentStore;
  /** The PSP has this long, retries included; then the outcome is unknown (in doubt). Default 20 000 ms. */
  readonly timeoutMs?: number;
  /** Retries of retryable errors and lost answers, same idempotency key. Default 2. */
  readonly maxRetries?: number;
  /** First back-off; doubles per retry. Default 250 ms. */
  readonly retryBaseDelayMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
}

/**
 * Sends one payment to the PSP so that it is never lost and never charged
 * twice: the intent and its idempotency key are written before the PSP is
 * called (so a crash leaves a `requested` row to reconcile), retries reuse
 * the key, and a PSP that does not answer leaves the payment `in_doubt` for
 * the reconciler, never `error`.
 */
export class Authoriser {
  readonly #psp: PaymentServiceProvider;
  readonly #store: PaymentStore;
  readonly #timeoutMs: number;
  readonly #maxRetries: number;
  readonly #baseDelay: number;
  readonly #sleep: (ms: number) => Promise<void>;

  constructor(options: AuthoriserOptions) {
    this.#psp = options.psp;
    this.#store = options.store;
    this.#timeoutMs = options.timeoutMs ?? 20_000;
    this.#maxRetries = options.maxRetries ?? 2;
    this.#baseDelay = options.retryBaseDelayMs ?? 250;
    this.#sleep = options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  }

  async authorise(session: PaymentSessionRecord, card: CardData, actor: Actor): Promise<AuthorisationResult> {
    const key = session.idempotencyKey ?? `idem_${randomUUID()}`;
    try {
      this.#store.updateSession(session.id, {
        idempotencyKey: key,
        cardBrand: card.brand,
        cardLast4: card.last4,
        ...(session.status === 'authorising' ? {} : { status: 'authorising' as const }),
      });
      this.#store.recordAuthorisationIntent({
        idempotencyKey: key,
        sessionId: session.id,
        psp: this.#psp.name,
        amountMinor: session.amountMinor,
        currency: session.currency,
      });
      this.#store.appendAudit({
        sessionId: session.id,
        actor,
        action: 'authorisation-requested',
        detail: { psp: this.#psp.name, idempotencyKey: key, brand: card.brand, last4: card.last4, amountMinor: session.amountMinor },
      });
    } catch {
      // No record, no charge: the caller hears an apology instead.
      return { kind: 'error', code: 'store-unavailable' };
    }

    // Every try, and the back-off between them, fits in one timeout: the caller is waiting.
    const deadline = Date.now() + this.#timeoutMs;
    let outcome: AuthorisationOutcome | undefined;
    for (let attempt = 0; attempt <= this.#maxRetries; attempt++) {
      if (attempt > 0) await this.#sleep(Math.min(this.#baseDelay * 2 ** (attempt - 1), Math.max(0, deadline - Date.now())));
      const remaining = deadline - Date.now();
      if (remaining <= 0) break;
      try {
        outcome = await this.#psp.authorise(
          { amountMinor: session.amountMinor, currency: session.currency, reference: session.reference, idempotencyKey: key, moto: true },
          card,
          { signal: AbortSignal.timeout(remaining) },
        );
      } catch {
        outcome = undefined;
        continue;
      }
      if (outcome.kind !== 'error' || !outcome.retryable) break;
    }
    // A PSP still failing with a retryable error may have charged: only its ledger can tell.
    if (outcome?.kind === 'error' && outcome.retryable) outcome = undefined;
    return this.#settle(session.id, key, outcome);
  }

  #settle(sessionId: string, key: string, outcome: AuthorisationOutcome | undefined): AuthorisationResult {
    const system: Actor = { kind: 'system', id: 'authoriser' };
    if (!outcome) {
      this.#store.resolveAuthorisation(key, { state: 'in_doubt', detail: 'no-answer' });
      this.#store.updateSession(sessionId, { status: 'in_doubt' });
      this.#store.appendAudit({ sessionId, actor: system, action: 'authorisation-in-doubt', detail: { idempotencyKey: key } });
      return { kind: 'in-doubt' };
    }
    switch (outcome.kind) {
      case 'approved':
        this.#store.resolveAuthorisation(key, { state: 'approved', pspReference: outcome.pspReference });
        this.#store.updateSession(sessionId, { status: 'approved', pspReference: outcome.pspReference, authCode: outcome.authCode });
        this.#store.appendAudit({ sessionId, actor: system, action: 'authorisation-approved', detail: { pspReference: outcome.pspReference } });
        return { kind: 'approved', pspReference: outcome.pspReference, authCode: outcome.authCode };
      case 'declined':
        this.#store.resolveAuthorisation(key, { state: 'declined', pspReference: outcome.pspReference ?? null, detail: outcome.reason });
        this.#store.updateSession(sessionId, {
          status: 'declined',
          declineReason: outcome.reason,
          ...(outcome.pspReference ? { pspReference: outcome.pspReference } : {}),
        });
        this.#store.appendAudit({ sessionId, actor: system, action: 'authorisation-declined', detail: { reason: outcome.reason } });
        return { kind: 'declined', reason: outcome.reason };
      case 'error':
        this.#store.resolveAuthorisation(key, { state: 'error', detail: outcome.code });
        this.#store.updateSession(sessionId, { status: 'error' });
        this.#store.appendAudit({ sessionId, actor: system, action: 'authorisation-error', detail: { code: outcome.code } });
        return { kind: 'error', code: outcome.code };
    }
  }
}
