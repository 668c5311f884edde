import { PeriodicPass } from './periodic-pass.js';
import type { Logger } from 'pino';
import { FINAL_PAYMENT_STATUSES, type PaymentStatus } from '../domain/payment-types.js';
import type { AuthorisationRecord, PaymentStore } from '../store/payment-store.js';
import type { Actor } from '../domain/actor.js';
import type { AuthorisationState } from '../domain/payment-lifecycle.js';
import type { PspRecordStore } from '../store/psp-record-store.js';
import type { AuditLog } from '../store/audit-log.js';
import { saveToken } from './authoriser.js';
import type { AuthorisationLookup, PaymentServiceProvider } from './psp-port.js';

export interface ReconcilerOptions {
  readonly psp: PaymentServiceProvider;
  readonly store: PaymentStore;
  /** Where each settlement is audited. */
  readonly audit: AuditLog;
  /** Where the token of a tokenising session's card is kept when its approval is reconciled. */
  readonly records?: PspRecordStore;
  /** Time between passes after the first (which `start()` runs at once). Default 60 000 ms. */
  readonly intervalMs?: number;
  /** Each lookup may take this long. Default 10 000 ms. */
  readonly lookupTimeoutMs?: number;
  /**
   * A `requested` intent written while this reconciler lives is left to the
   * authoriser that wrote it until it is this old; then it is in doubt too
   * (that authoriser died). Keep it above the authoriser's `timeoutMs`.
   * Intents older than the reconciler itself (a crash before this start)
   * are in doubt at once. Default 120 000 ms.
   */
  readonly staleAfterMs?: number;
  /** Default: the wall clock. */
  readonly now?: () => Date;
  readonly logger?: Logger;
}

export interface ReconcileSummary {
  /** In-doubt authorisations asked about in this pass. */
  readonly checked: number;
  /** Of those, the ones the PSP's answer settled. */
  readonly resolved: number;
  /** Of those, the ones still in doubt (no answer, or a retryable error). */
  readonly stillInDoubt: number;
  /** Another node's reconciler was in its pass: this one asked nothing. */
  readonly skipped?: true;
}

/** What one pass is told besides what it finds. */
export interface ReconcilePassOptions {
  /** Sessions whose authoriser is known to be gone (a dead node's): their `requested` intents are in doubt at once. */
  readonly interrupted?: ReadonlySet<string>;
}

const ACTOR: Actor = { kind: 'system', id: 'reconciler' };

/**
 * Settles payments whose PSP answer never arrived (ARCHITECTURE.md "Rules that hold everywhere":
 * an unanswered authorisation is in doubt and reconciled, never lost):
 * asks the PSP what it did with each in-doubt idempotency key, at start-up and
 * then every `intervalMs`, and records the answer with an audit row.
 *
 * A `requested` intent from before this reconciler existed was cut off by a
 * crash between writing the intent and hearing the PSP: it is moved to
 * `in_doubt` (audited) and then reconciled like the others. `not-found` means
 * the PSP never saw the key, so nothing was charged: the payment is `error`.
 */
export class Reconciler {
  readonly #psp: PaymentServiceProvider;
  readonly #store: PaymentStore;
  readonly #audit: AuditLog;
  readonly #records: PspRecordStore | undefined;
  readonly #lookupTimeoutMs: number;
  readonly #staleAfterMs: number;
  readonly #now: () => Date;
  readonly #logger: Logger | undefined;
  /** Intents requested at or before this instant belong to an earlier process. */
  readonly #bornAt: number;
  readonly #periodic: PeriodicPass;
  #running: Promise<ReconcileSummary> | undefined;

  constructor(options: ReconcilerOptions) {
    this.#psp = options.psp;
    this.#store = options.store;
    this.#audit = options.audit;
    this.#records = options.records;
    this.#lookupTimeoutMs = options.lookupTimeoutMs ?? 10_000;
    this.#staleAfterMs = options.staleAfterMs ?? 120_000;
    this.#now = options.now ?? (() => new Date());
    this.#logger = options.logger;
    this.#bornAt = this.#now().getTime();
    this.#periodic = new PeriodicPass(() => this.reconcileOnce(), options.intervalMs ?? 60_000, (err) => this.#logger?.error({ err }, 'reconciliation failed'));
  }

  /** Runs a pass at once and then every `intervalMs` (an unref'd timer). Calling it again does nothing. */
  start(): void {
    this.#periodic.start();
  }

  /** Stops the timer; a pass under way finishes. Safe to call twice. */
  stop(): void {
    this.#periodic.stop();
  }

  /**
   * One pass over every in-doubt payment; a call during a pass shares it.
   * Once per cluster: while another node's reconciler is in its pass, this
   * one skips (and says so: `skipped`), so the PSP is asked once per key.
   */
  reconcileOnce(options: ReconcilePassOptions = {}): Promise<ReconcileSummary> {
    const interrupted = options.interrupted ?? new Set<string>();
    const running = (this.#running ??= this.#store
      .runAlone('reconcile', () => this.#pass(interrupted))
      .then((summary): ReconcileSummary => summary ?? { checked: 0, resolved: 0, stillInDoubt: 0, skipped: true })
      .finally(() => (this.#running = undefined)));
    return running;
  }

  async #pass(interrupted: ReadonlySet<string>): Promise<ReconcileSummary> {
    await this.#markInterrupted(interrupted);
    const pending = await this.#store.listAuthorisations({ state: 'in_doubt' });
    let resolved = 0;
    for (const intent of pending) {
      try {
        if (await this.#reconcile(intent)) resolved++;
      } catch (err) {
        this.#logger?.warn({ err, sessionId: intent.sessionId }, 'PSP lookup failed; the payment stays in doubt');
      }
    }
    return { checked: pending.length, resolved, stillInDoubt: pending.length - resolved };
  }

  /** `requested` intents nobody is waiting for any more become `in_doubt`, session first. */
  async #markInterrupted(interrupted: ReadonlySet<string>): Promise<void> {
    const now = this.#now().getTime();
    for (const intent of await this.#store.listAuthorisations({ state: 'requested' })) {
      const requestedAt = Date.parse(intent.requestedAt);
      const crashed = requestedAt <= this.#bornAt || interrupted.has(intent.sessionId);
      if (!crashed && now - requestedAt < this.#staleAfterMs) continue;
      try {
        const session = await this.#store.getSession(intent.sessionId);
        const from = session?.status;
        if (session && from !== 'in_doubt' && !isFinal(session.status)) await this.#store.updateSession(session.id, { status: 'in_doubt' });
        await this.#store.resolveAuthorisation(intent.idempotencyKey, { state: 'in_doubt', detail: crashed ? 'interrupted' : 'abandoned-by-authoriser' });
        await this.#audit.append({
          sessionId: intent.sessionId,
          actor: ACTOR,
          action: 'authorisation-interrupted',
          detail: { idempotencyKey: intent.idempotencyKey, sessionStatus: from ?? null },
        });
      } catch (err) {
        this.#logger?.error({ err, sessionId: intent.sessionId }, 'could not mark an interrupted authorisation in doubt');
      }
    }
  }

  /** True when the PSP's answer settled the payment. */
  async #reconcile(intent: AuthorisationRecord): Promise<boolean> {
    const answer = await this.#psp.lookup(intent.idempotencyKey, {
      signal: AbortSignal.timeout(this.#lookupTimeoutMs),
      requestedAt: new Date(intent.requestedAt),
    });
    if (answer.kind === 'error' && answer.retryable) return false;
    const { sessionId, idempotencyKey: key } = intent;
    const settled = settlement(answer);
    const session = await this.#store.getSession(sessionId);
    // Session first: if a later write fails, the intent is still in doubt and the next pass repeats this.
    let conflict: PaymentStatus | null = null;
    if (session && session.status !== settled.status) {
      if (isFinal(session.status)) {
        conflict = session.status;
      } else {
        // An authorising session (its authoriser gone) is in doubt before it is settled.
        if (session.status !== 'in_doubt') await this.#store.updateSession(sessionId, { status: 'in_doubt' });
        // A stored card charged again (merchant-initiated) is not stored again.
        if (answer.kind === 'approved' && answer.token && session.mode !== 'merchant-initiated') await saveToken(this.#records, this.#store, this.#audit, sessionId, this.#psp.name, answer.token);
        await this.#store.updateSession(sessionId, settled.session);
      }
    }
    await this.#store.resolveAuthorisation(key, settled.authorisation);
    await this.#audit.append({
      sessionId,
      actor: ACTOR,
      action: 'authorisation-reconciled',
      detail: {
        idempotencyKey: key,
        outcome: answer.kind,
        state: settled.authorisation.state,
        ...(settled.authorisation.pspReference ? { pspReference: settled.authorisation.pspReference } : {}),
        ...(conflict ? { sessionStatus: conflict } : {}),
      },
    });
    if (conflict) {
      this.#logger?.error({ sessionId, outcome: answer.kind, sessionStatus: conflict }, 'PSP outcome differs from a settled session');
    } else {
      this.#logger?.info({ sessionId, outcome: answer.kind }, 'in-doubt payment reconciled');
    }
    return true;
  }
}

function isFinal(status: PaymentStatus): boolean {
  return FINAL_PAYMENT_STATUSES.includes(status);
}

/** What a definite lookup answer writes on the session and on the authorisation. */
function settlement(answer: AuthorisationLookup): {
  status: PaymentStatus;
  session: Parameters<PaymentStore['updateSession']>[1];
  authorisation: { state: AuthorisationState; pspReference?: string | null; detail?: string | null };
} {
  switch (answer.kind) {
    case 'approved':
      return {
        status: 'approved',
        session: { status: 'approved', pspReference: answer.pspReference, authCode: answer.authCode },
        authorisation: { state: 'approved', pspReference: answer.pspReference },
      };
    case 'declined':
      return {
        status: 'declined',
        session: { status: 'declined', declineReason: answer.reason, ...(answer.pspReference ? { pspReference: answer.pspReference } : {}) },
        authorisation: { state: 'declined', pspReference: answer.pspReference ?? null, detail: answer.reason },
      };
    case 'error':
      return { status: 'error', session: { status: 'error' }, authorisation: { state: 'error', detail: answer.code } };
    case 'not-found':
      // The PSP never saw the key: nothing was charged.
      return { status: 'error', session: { status: 'error' }, authorisation: { state: 'error', detail: 'not-found-at-psp' } };
  }
}
