import { PeriodicPass } from './periodic-pass.js';
import type { Logger } from 'pino';
import type { PaymentSessionRecord, PaymentStore } from '../store/payment-store.js';
import type { Actor } from '../domain/actor.js';
import type { PspRecordStore, ReversalRecord } from '../store/psp-record-store.js';
import type { PaymentModificationKind, ReversalState } from '../domain/payment-lifecycle.js';
import type { AuditLog } from '../store/audit-log.js';
import type { PaymentServiceProvider, ReversalOutcome } from './psp-port.js';
import { newOpaqueId } from '../domain/opaque-id.js';

/** Why a refund or void cannot be asked for; `code` is what the API answers. */
export class ReversalNotAllowedError extends Error {
  override readonly name = 'ReversalNotAllowedError';
  constructor(
    readonly code:
      | 'payment-not-approved'
      | 'nothing-to-reverse'
      | 'amount-too-large'
      | 'already-reversed'
      | 'payment-not-found'
      /** Capture: PSP_CAPTURE is not manual (the PSP captured at once). */
      | 'capture-not-manual'
      /** Capture asked again with another amount, or a void after a capture. */
      | 'already-captured'
      /** Refund of a payment authorised but not captured yet: void it, or capture first. */
      | 'not-captured',
    message: string,
  ) {
    super(message);
  }
}

export interface PaymentReversalsOptions {
  readonly psp: PaymentServiceProvider;
  readonly store: PaymentStore;
  /** Where each request and answer is audited. */
  readonly audit: AuditLog;
  readonly records: PspRecordStore;
  /** `manual` (PSP_CAPTURE): approved payments are authorised only, captured here later. Default `auto`. */
  readonly capture?: 'auto' | 'manual';
  /** The PSP has this long per reversal, retries included; then it is in doubt and sent again later. Default 20 000 ms. */
  readonly timeoutMs?: number;
  /** Retries of retryable errors and lost answers, with the same idempotency key. Default 2. */
  readonly maxRetries?: number;
  /** Time between passes that send in-doubt reversals again (same key). Default 60 000 ms. */
  readonly intervalMs?: number;
  readonly logger?: Logger;
}

/** States in which a reversal holds money: it counts against what is left to refund. */
const HOLDING: ReadonlySet<ReversalState> = new Set(['requested', 'pending', 'succeeded', 'in_doubt']);

/**
 * Captures (PSP_CAPTURE=manual), refunds and voids of approved payments,
 * asked for by a supervisor. Like the
 * authoriser: the request is written (with its idempotency key and an audit
 * row) before the PSP is asked, retried with the same key, and a lost answer
 * leaves it `in_doubt`, sent again with the same key on the next pass (a
 * reversal needs no card data, so it can always be repeated safely). An
 * answer the PSP gives later (Adyen's CAPTURE, REFUND and CANCELLATION webhooks)
 * settles a `pending` one through `settleFromPsp`.
 */
export class PaymentReversals {
  readonly #psp: PaymentServiceProvider;
  readonly #store: PaymentStore;
  readonly #audit: AuditLog;
  readonly #records: PspRecordStore;
  readonly #manualCapture: boolean;
  readonly #timeoutMs: number;
  readonly #maxRetries: number;
  readonly #logger: Logger | undefined;
  readonly #periodic: PeriodicPass;

  constructor(options: PaymentReversalsOptions) {
    this.#psp = options.psp;
    this.#store = options.store;
    this.#audit = options.audit;
    this.#records = options.records;
    this.#manualCapture = options.capture === 'manual';
    this.#timeoutMs = options.timeoutMs ?? 20_000;
    this.#maxRetries = Math.max(0, options.maxRetries ?? 2);
    this.#logger = options.logger;
    this.#periodic = new PeriodicPass(() => this.resendInDoubt(), options.intervalMs ?? 60_000, (err) => this.#logger?.error({ err }, 'resending in-doubt reversals failed'));
  }

  /** The session's captures, refunds and voids that hold money (asked, pending, done or in doubt), by kind. */
  async #held(session: PaymentSessionRecord): Promise<Record<PaymentModificationKind, ReversalRecord[]>> {
    const holding = (await this.#records.listReversals({ sessionId: session.id })).filter((r) => HOLDING.has(r.state));
    const of = (kind: PaymentModificationKind): ReversalRecord[] => holding.filter((r) => r.kind === kind);
    return { capture: of('capture'), refund: of('refund'), void: of('void') };
  }

  /** What is left to refund of a session's payment (with manual capture, of what was captured). */
  async refundable(session: PaymentSessionRecord): Promise<number> {
    return this.#refundable(session, await this.#held(session));
  }

  #refundable(session: PaymentSessionRecord, held: Record<PaymentModificationKind, ReversalRecord[]>): number {
    // What was captured: with manual capture, the captures the PSP took (done or pending); else the whole amount.
    const captured = !this.#manualCapture
      ? session.amountMinor
      : held.capture.filter((r) => r.state === 'succeeded' || r.state === 'pending').reduce((sum, r) => sum + r.amountMinor, 0);
    const back = [...held.refund, ...held.void].reduce((sum, r) => sum + r.amountMinor, 0);
    return Math.max(0, captured - back);
  }

  /** What may still be captured: the whole authorisation of an approved payment nobody captured or voided yet (PSP_CAPTURE=manual); else 0. */
  async capturable(session: PaymentSessionRecord): Promise<number> {
    if (!this.#manualCapture || session.status !== 'approved') return 0;
    const held = await this.#held(session);
    if (held.capture.length > 0 || held.void.length > 0) return 0;
    return session.amountMinor;
  }

  /**
   * Captures `amountMinor` (default: all) of a payment authorised only
   * (PSP_CAPTURE=manual); the PSP releases the rest. Asking again for the same
   * amount answers the capture already made, never a second one.
   * @throws ReversalNotAllowedError
   */
  async capture(sessionId: string, request: { amountMinor?: number }, actor: Actor): Promise<ReversalRecord> {
    const session = await this.#approved(sessionId);
    if (!this.#manualCapture) throw new ReversalNotAllowedError('capture-not-manual', 'the PSP captures at once (PSP_CAPTURE=auto)');
    const amountMinor = request.amountMinor ?? session.amountMinor;
    const held = await this.#held(session);
    const earlier = held.capture[0];
    if (earlier) {
      if (earlier.amountMinor === amountMinor) return earlier;
      throw new ReversalNotAllowedError('already-captured', `${earlier.amountMinor} was captured already`);
    }
    if (held.void.length > 0) throw new ReversalNotAllowedError('already-reversed', 'the authorisation was voided');
    if (amountMinor > session.amountMinor) throw new ReversalNotAllowedError('amount-too-large', `at most ${session.amountMinor} is authorised`);
    return this.#request(session, 'capture', amountMinor, actor);
  }

  /**
   * Refunds `amountMinor` (default: all that is left) or voids the payment.
   * Resolves with the reversal as recorded after the PSP's answer.
   * @throws ReversalNotAllowedError
   */
  async reverse(sessionId: string, request: { kind: 'refund' | 'void'; amountMinor?: number }, actor: Actor): Promise<ReversalRecord> {
    const session = await this.#approved(sessionId);
    const held = await this.#held(session);
    if (request.kind === 'void') {
      if (held.void.length > 0) throw new ReversalNotAllowedError('nothing-to-reverse', 'the payment is voided already');
      if (held.refund.length > 0) throw new ReversalNotAllowedError('already-reversed', 'a payment partly refunded can no longer be voided');
      if (this.#manualCapture && held.capture.length > 0) {
        throw new ReversalNotAllowedError('already-captured', 'a captured payment is refunded, not voided');
      }
      return this.#request(session, 'void', session.amountMinor, actor);
    }
    const left = this.#refundable(session, held);
    if (left === 0) {
      if (this.#manualCapture && held.capture.length === 0 && held.void.length === 0) {
        throw new ReversalNotAllowedError('not-captured', 'nothing is captured yet: void the authorisation instead');
      }
      throw new ReversalNotAllowedError('nothing-to-reverse', 'nothing is left to refund or void');
    }
    const amountMinor = request.amountMinor ?? left;
    if (amountMinor > left) throw new ReversalNotAllowedError('amount-too-large', `at most ${left} is left to refund`);
    return this.#request(session, 'refund', amountMinor, actor);
  }

  async #approved(sessionId: string): Promise<PaymentSessionRecord & { pspReference: string }> {
    const session = await this.#store.getSession(sessionId);
    if (!session) throw new ReversalNotAllowedError('payment-not-found', `no payment ${sessionId}`);
    if (session.status !== 'approved' || !session.pspReference) {
      throw new ReversalNotAllowedError('payment-not-approved', `payment ${sessionId} is ${session.status}, not approved`);
    }
    return session as PaymentSessionRecord & { pspReference: string };
  }

  /** Writes the request and its audit row, then asks the PSP. */
  async #request(session: PaymentSessionRecord & { pspReference: string }, kind: PaymentModificationKind, amountMinor: number, actor: Actor): Promise<ReversalRecord> {
    const sessionId = session.id;
    const key = newOpaqueId('rev');
    await this.#records.recordReversalIntent({
      idempotencyKey: key,
      sessionId,
      kind,
      psp: this.#psp.name,
      amountMinor,
      currency: session.currency,
      actor,
    });
    await this.#audit.append({
      sessionId,
      actor,
      action: `${kind}-requested`,
      detail: { idempotencyKey: key, amountMinor, currency: session.currency, psp: this.#psp.name },
    });
    return this.#send(key, session.pspReference);
  }

  /** A later answer from the PSP (a webhook) about the reversal with this PSP reference. Unknown references are ignored. */
  async settleFromPsp(pspReference: string, success: boolean, detail: string | null): Promise<void> {
    for (const reversal of await this.#records.listReversals({ pspReference })) {
      if (reversal.state !== 'pending' && reversal.state !== 'in_doubt') continue;
      const state = success ? 'succeeded' : 'refused';
      await this.#records.resolveReversal(reversal.idempotencyKey, { state, detail });
      await this.#audit.append({
        sessionId: reversal.sessionId,
        actor: { kind: 'system', id: 'psp-notification' },
        action: `${reversal.kind}-${state}`,
        detail: { idempotencyKey: reversal.idempotencyKey, pspReference, ...(detail ? { code: detail } : {}) },
      });
    }
  }

  /** Runs a pass at once and then every `intervalMs` (an unref'd timer). Calling it again does nothing. */
  start(): void {
    this.#periodic.start();
  }

  /** Stops the timer; a pass under way finishes. Safe to call twice. */
  stop(): void {
    this.#periodic.stop();
  }

  /** One pass over the in-doubt reversals (and `requested` ones a crash cut off); returns how many settled. */
  async resendInDoubt(): Promise<number> {
    let settled = 0;
    for (const reversal of await this.#records.listReversals({ state: 'in_doubt' })) {
      const session = await this.#store.getSession(reversal.sessionId);
      if (!session?.pspReference) continue;
      const after = await this.#send(reversal.idempotencyKey, session.pspReference);
      if (after.state !== 'in_doubt') settled++;
    }
    return settled;
  }

  async #send(key: string, paymentReference: string): Promise<ReversalRecord> {
    const intent = (await this.#records.getReversal(key))!;
    const deadline = Date.now() + this.#timeoutMs;
    let outcome: ReversalOutcome | undefined;
    for (let attempt = 0; attempt <= this.#maxRetries; attempt++) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) break;
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(250 * 2 ** (attempt - 1), remaining)));
      try {
        outcome = await this.#psp.reverse(
          { kind: intent.kind, pspReference: paymentReference, amountMinor: intent.amountMinor, currency: intent.currency, idempotencyKey: key },
          { signal: AbortSignal.timeout(Math.max(1, deadline - Date.now())) },
        );
      } catch {
        outcome = undefined;
        continue;
      }
      if (outcome.kind !== 'error' || !outcome.retryable) break;
    }
    const settled = settlementOf(outcome);
    const record = await this.#records.resolveReversal(key, settled);
    if (record.state !== intent.state || intent.state === 'requested') {
      await this.#audit.append({
        sessionId: intent.sessionId,
        actor: { kind: 'system', id: 'reversals' },
        action: `${intent.kind}-${record.state.replace('_', '-')}`,
        detail: { idempotencyKey: key, ...(record.pspReference ? { pspReference: record.pspReference } : {}), ...(record.detail ? { code: record.detail } : {}) },
      });
    }
    return record;
  }
}

function settlementOf(outcome: ReversalOutcome | undefined): { state: ReversalState; pspReference?: string; detail?: string | null } {
  switch (outcome?.kind) {
    case undefined:
      return { state: 'in_doubt' };
    case 'succeeded':
    case 'pending':
      return { state: outcome.kind, pspReference: outcome.pspReference };
    case 'refused':
      return { state: 'refused', detail: outcome.code };
    case 'error':
      // A retryable error still there after the last retry: the PSP may have acted; send again later.
      return outcome.retryable ? { state: 'in_doubt', detail: outcome.code } : { state: 'error', detail: outcome.code };
  }
}
