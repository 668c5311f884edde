import type { CardData } from '../vault/card-data.js';
import type { DeclineReason, PaymentStatus } from '../domain/payment-types.js';
import type { AuthorisationRecord, PaymentSessionRecord, PaymentStore } from '../store/payment-store.js';
import type { Actor } from '../domain/actor.js';
import type { PspRecordStore, StoredTokenRecord } from '../store/psp-record-store.js';
import type { AuditLog } from '../store/audit-log.js';
import type { AuthorisationOutcome, AuthoriseOptions, PaymentServiceProvider, TokenisationRequest } from './psp-port.js';
import { newOpaqueId } from '../domain/opaque-id.js';

/** What the flow hears back from one `authorise` call. */
export type AuthorisationResult =
  | {
      readonly kind: 'approved';
      readonly pspReference: string;
      readonly authCode: string;
      /** The payment's short reference for the caller (the store's confirmation code; the auth code if the store could not record the approval). */
      readonly confirmation: string;
    }
  | { readonly kind: 'declined'; readonly reason: DeclineReason }
  | { readonly kind: 'error'; readonly code: string }
  | { readonly kind: 'in-doubt' };

/** How one request to the PSP went, for its latency histogram: `no-answer` is a timeout or network failure. */
export type PspCallOutcome = 'approved' | 'declined' | 'error' | 'no-answer';

export interface AuthoriserOptions {
  readonly psp: PaymentServiceProvider;
  readonly store: PaymentStore;
  /** Where each request and answer is audited. */
  readonly audit: AuditLog;
  /** Where the PSP's token of a tokenising session's card is kept. Default: tokens are not kept. */
  readonly records?: PspRecordStore;
  /** The PSP has this long, retries and back-off included; then the outcome is unknown (in doubt). Default 20 000 ms. */
  readonly timeoutMs?: number;
  /** Retries of retryable errors and lost answers, with the same idempotency key. Default 2. */
  readonly maxRetries?: number;
  /** The first back-off; it doubles per retry and never passes the deadline. Default 250 ms. */
  readonly retryBaseDelayMs?: number;
  /** The clock of the deadline. Default: the wall clock. */
  readonly now?: () => Date;
  /** Waits between retries. Default: a timer. */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Told the duration of every request to the PSP, each retry on its own (PSP latency metrics). Default: none. */
  readonly onPspCall?: (psp: string, outcome: PspCallOutcome, seconds: number) => void;
}

/** Session statuses after which the PSP is not asked again for that payment. */
const SETTLED: ReadonlySet<PaymentStatus> = new Set(['approved', 'declined', 'failed', 'abandoned', 'cancelled', 'error', 'in_doubt']);

const SYSTEM: Actor = { kind: 'system', id: 'authoriser' };

/** What pays: a card keyed on the call (MOTO), or a card the PSP keeps, charged by the merchant. */
type Instrument = { readonly kind: 'card'; readonly card: CardData } | { readonly kind: 'stored'; readonly token: StoredTokenRecord };

/** The PSP gave no answer in time, or the connection failed: nothing is known. */
class NoAnswer extends Error {
  override readonly name = 'NoAnswer';
}

/**
 * Sends one payment to the PSP so that it is never lost and never charged
 * twice (ARCHITECTURE.md "Rules that hold everywhere"):
 *
 * 1. the session's idempotency key is reused, or made and stored on the session;
 * 2. the intent (`requested`) and an audit row are written before the PSP is
 *    called, so a crash leaves a row for the reconciler; if they cannot be
 *    written the PSP is not called (`error` / `store-unavailable`);
 * 3. retryable errors and lost answers are retried with the same key, with
 *    exponential back-off, all inside one `timeoutMs`;
 * 4. the answer settles the authorisation and the session, with an audit row.
 *    No answer (timeout, network), or a PSP still failing with a retryable
 *    error after the last retry, leaves the payment `in_doubt` for the
 *    reconciler, never `error`: the PSP may have charged.
 *
 * Only the brand and last four of the card are written anywhere.
 */
export class Authoriser {
  readonly #psp: PaymentServiceProvider;
  readonly #store: PaymentStore;
  readonly #audit: AuditLog;
  readonly #records: PspRecordStore | undefined;
  readonly #timeoutMs: number;
  readonly #maxRetries: number;
  readonly #baseDelay: number;
  readonly #now: () => Date;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #onPspCall: AuthoriserOptions['onPspCall'];
  /** Authorisations under way, by session: a second call for the same payment shares the first. */
  readonly #inFlight = new Map<string, Promise<AuthorisationResult>>();

  constructor(options: AuthoriserOptions) {
    this.#psp = options.psp;
    this.#store = options.store;
    this.#audit = options.audit;
    this.#records = options.records;
    this.#timeoutMs = options.timeoutMs ?? 20_000;
    this.#maxRetries = Math.max(0, options.maxRetries ?? 2);
    this.#baseDelay = options.retryBaseDelayMs ?? 250;
    this.#now = options.now ?? (() => new Date());
    this.#sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.#onPspCall = options.onPspCall;
  }

  /** The PSP this authoriser sends to (a stored card is charged only at the PSP that keeps it). */
  get pspName(): string {
    return this.#psp.name;
  }

  /**
   * Authorises the session's amount on `card`. Resolves with the outcome;
   * rejects only on a programming error. A session already settled (or in
   * doubt) is not sent again: its recorded outcome is returned.
   */
  authorise(session: PaymentSessionRecord, card: CardData, actor: Actor): Promise<AuthorisationResult> {
    return this.#once(session, { kind: 'card', card }, actor);
  }

  /**
   * Charges the session's amount on a card the PSP keeps (a merchant-initiated
   * payment: Stripe `off_session`, Adyen `ContAuth` + `UnscheduledCardOnFile`),
   * under the same rules as `authorise`: the session's idempotency key, the
   * intent and its audit row first, retries with the same key, in doubt when
   * no answer came.
   */
  chargeStoredCard(session: PaymentSessionRecord, token: StoredTokenRecord, actor: Actor): Promise<AuthorisationResult> {
    return this.#once(session, { kind: 'stored', token }, actor);
  }

  #once(session: PaymentSessionRecord, instrument: Instrument, actor: Actor): Promise<AuthorisationResult> {
    const running = this.#inFlight.get(session.id);
    if (running) return running;
    const run = this.#authorise(session, instrument, actor).finally(() => this.#inFlight.delete(session.id));
    this.#inFlight.set(session.id, run);
    return run;
  }

  async #authorise(given: PaymentSessionRecord, instrument: Instrument, actor: Actor): Promise<AuthorisationResult> {
    let key: string;
    let tokenise: TokenisationRequest | undefined;
    const brand = instrument.kind === 'card' ? instrument.card.brand : instrument.token.cardBrand;
    const last4 = instrument.kind === 'card' ? instrument.card.last4 : instrument.token.cardLast4;
    try {
      const session = await this.#store.getSession(given.id);
      if (!session) return { kind: 'error', code: 'payment-not-found' };
      if (SETTLED.has(session.status)) return await this.#recorded(session);
      key = session.idempotencyKey ?? newOpaqueId('idem');
      tokenise = instrument.kind === 'card' ? tokenisationOf(session) : undefined;
      await this.#store.updateSession(session.id, {
        idempotencyKey: key,
        ...(brand ? { cardBrand: brand } : {}),
        ...(last4 ? { cardLast4: last4 } : {}),
        ...(session.status === 'authorising' ? {} : { status: 'authorising' as const }),
      });
      const intent = await this.#store.recordAuthorisationIntent({
        idempotencyKey: key,
        sessionId: session.id,
        psp: this.#psp.name,
        amountMinor: session.amountMinor,
        currency: session.currency,
      });
      // A key already settled (the session record lagging behind): report it, do not send again.
      if (intent.state !== 'requested') return this.#fromAuthorisation(intent, session);
      await this.#audit.append({
        sessionId: session.id,
        actor,
        action: 'authorisation-requested',
        detail: {
          psp: this.#psp.name,
          idempotencyKey: key,
          brand,
          last4,
          amountMinor: session.amountMinor,
          currency: session.currency,
          ...(instrument.kind === 'stored' ? { storedCard: instrument.token.token } : {}),
        },
      });
    } catch {
      // No record, no charge: the caller hears an apology instead.
      return { kind: 'error', code: 'store-unavailable' };
    }

    const order = { amountMinor: given.amountMinor, currency: given.currency, reference: given.reference, idempotencyKey: key };
    const send =
      instrument.kind === 'card'
        ? (options: AuthoriseOptions) => this.#psp.authorise({ ...order, moto: true, ...(tokenise ? { tokenise } : {}) }, instrument.card, options)
        : (options: AuthoriseOptions) =>
            this.#psp.chargeStoredCard({ ...order, storedCard: { token: instrument.token.token, customer: instrument.token.customer } }, options);
    const outcome = await this.#send(send);
    // A stored card charged again is not stored again (Stripe names the PaymentMethod on every answer).
    return this.#settle(given.id, key, instrument.kind === 'card' ? outcome : withoutToken(outcome));
  }

  /** The PSP's answer, or undefined when none came (in doubt). */
  async #send(request: (options: AuthoriseOptions) => Promise<AuthorisationOutcome>): Promise<AuthorisationOutcome | undefined> {
    // Every try, and the back-off between them, fits in one timeout: the caller is waiting.
    const deadline = this.#now().getTime() + this.#timeoutMs;
    let outcome: AuthorisationOutcome | undefined;
    for (let attempt = 0; attempt <= this.#maxRetries; attempt++) {
      if (attempt > 0) {
        const wait = Math.min(this.#baseDelay * 2 ** (attempt - 1), deadline - this.#now().getTime());
        if (wait > 0) await this.#sleep(wait);
      }
      const remaining = deadline - this.#now().getTime();
      if (remaining <= 0) break;
      const started = performance.now();
      try {
        outcome = await withDeadline(request({ signal: AbortSignal.timeout(remaining) }), remaining);
      } catch {
        // Rejected: no answer (network failure, abort). Same key again, if time allows.
        outcome = undefined;
        this.#onPspCall?.(this.#psp.name, 'no-answer', (performance.now() - started) / 1000);
        continue;
      }
      this.#onPspCall?.(this.#psp.name, outcome.kind, (performance.now() - started) / 1000);
      if (outcome.kind !== 'error' || !outcome.retryable) break;
    }
    // A PSP still failing with a retryable error may have charged: only its ledger can tell.
    return outcome?.kind === 'error' && outcome.retryable ? undefined : outcome;
  }

  async #settle(sessionId: string, key: string, outcome: AuthorisationOutcome | undefined): Promise<AuthorisationResult> {
    let result = toResult(outcome);
    try {
      const intent = await this.#store.getAuthorisation(key);
      // The reconciler settled this key while we waited (a PSP that ignored the
      // abort for longer than the reconciler's grace): its answer stands.
      if (intent && intent.state !== 'requested' && intent.state !== 'in_doubt') {
        const session = await this.#store.getSession(sessionId);
        return session ? this.#fromAuthorisation(intent, session) : result;
      }
      if (intent?.state === 'in_doubt' && !outcome) return result;
      switch (outcome?.kind) {
        case undefined:
          await this.#store.resolveAuthorisation(key, { state: 'in_doubt', detail: 'no-answer' });
          await this.#store.updateSession(sessionId, { status: 'in_doubt' });
          await this.#audit.append({ sessionId, actor: SYSTEM, action: 'authorisation-in-doubt', detail: { idempotencyKey: key } });
          break;
        case 'approved':
          if (outcome.token) await saveToken(this.#records, this.#store, this.#audit, sessionId, this.#psp.name, outcome.token);
          await this.#store.resolveAuthorisation(key, { state: 'approved', pspReference: outcome.pspReference });
          {
            const approved = await this.#store.updateSession(sessionId, { status: 'approved', pspReference: outcome.pspReference, authCode: outcome.authCode });
            if (result.kind === 'approved' && approved.confirmation) result = { ...result, confirmation: approved.confirmation };
            await this.#audit.append({
              sessionId,
              actor: SYSTEM,
              action: 'authorisation-approved',
              detail: { idempotencyKey: key, pspReference: outcome.pspReference, confirmation: approved.confirmation },
            });
          }
          break;
        case 'declined':
          await this.#store.resolveAuthorisation(key, { state: 'declined', pspReference: outcome.pspReference ?? null, detail: outcome.reason });
          await this.#store.updateSession(sessionId, {
            status: 'declined',
            declineReason: outcome.reason,
            ...(outcome.pspReference ? { pspReference: outcome.pspReference } : {}),
          });
          await this.#audit.append({
            sessionId,
            actor: SYSTEM,
            action: 'authorisation-declined',
            detail: { idempotencyKey: key, reason: outcome.reason },
          });
          break;
        case 'error':
          await this.#store.resolveAuthorisation(key, { state: 'error', detail: outcome.code });
          await this.#store.updateSession(sessionId, { status: 'error' });
          await this.#audit.append({ sessionId, actor: SYSTEM, action: 'authorisation-error', detail: { idempotencyKey: key, code: outcome.code } });
          break;
      }
    } catch {
      // The PSP answered but the store could not take it: the intent is still
      // `requested` (or `in_doubt`), so the reconciler will record the PSP's
      // answer by its key. The caller hears what the PSP said.
    }
    return result;
  }

  /** The outcome a settled or in-doubt session already has. */
  async #recorded(session: PaymentSessionRecord): Promise<AuthorisationResult> {
    const intent = session.idempotencyKey ? await this.#store.getAuthorisation(session.idempotencyKey) : undefined;
    if (intent) return this.#fromAuthorisation(intent, session);
    return { kind: 'error', code: `payment-${session.status}` };
  }

  #fromAuthorisation(intent: AuthorisationRecord, session: PaymentSessionRecord): AuthorisationResult {
    switch (intent.state) {
      case 'approved':
        return {
          kind: 'approved',
          pspReference: intent.pspReference ?? session.pspReference ?? '',
          authCode: session.authCode ?? '',
          confirmation: session.confirmation ?? session.authCode ?? '',
        };
      case 'declined':
        return { kind: 'declined', reason: session.declineReason ?? 'generic-decline' };
      case 'error':
        return { kind: 'error', code: intent.detail ?? 'psp-error' };
      case 'in_doubt':
      case 'requested':
        return { kind: 'in-doubt' };
    }
  }
}

/** What a session asks the PSP to store: on `tokenise`, or always for a store-only (amount 0) session. */
export function tokenisationOf(session: PaymentSessionRecord): TokenisationRequest | undefined {
  if (!session.tokenise && session.amountMinor !== 0) return undefined;
  return { customerReference: session.customerReference ?? session.id };
}

/**
 * Keeps the PSP's token of the session's card, with the brand and last four
 * the session already holds, and audits it (the token is the PSP's id, not card data).
 */
export async function saveToken(
  records: PspRecordStore | undefined,
  store: PaymentStore,
  audit: AuditLog,
  sessionId: string,
  psp: string,
  token: { token: string; customer: string },
): Promise<void> {
  if (!records) return;
  const session = await store.getSession(sessionId);
  await records.saveToken({ sessionId, psp, token: token.token, customer: token.customer, cardBrand: session?.cardBrand ?? null, cardLast4: session?.cardLast4 ?? null });
  await audit.append({ sessionId, actor: SYSTEM, action: 'card-token-stored', detail: { psp, token: token.token, customer: token.customer } });
}

function withoutToken(outcome: AuthorisationOutcome | undefined): AuthorisationOutcome | undefined {
  if (outcome?.kind !== 'approved' || !outcome.token) return outcome;
  const { token: _token, ...rest } = outcome;
  return rest;
}

function toResult(outcome: AuthorisationOutcome | undefined): AuthorisationResult {
  switch (outcome?.kind) {
    case undefined:
      return { kind: 'in-doubt' };
    case 'approved':
      return { kind: 'approved', pspReference: outcome.pspReference, authCode: outcome.authCode, confirmation: outcome.authCode };
    case 'declined':
      return { kind: 'declined', reason: outcome.reason };
    case 'error':
      return { kind: 'error', code: outcome.code };
  }
}

/** `promise`, or a NoAnswer rejection after `ms` even if the adapter ignores its AbortSignal. */
function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new NoAnswer(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}
