import type { Logger } from 'pino';
import type { Actor, AuthorisationRecord, PaymentStore } from '../store/payment-store.js';
import type { PaymentServiceProvider } from './psp-port.js';

export interface ReconcilerOptions {
  readonly psp: PaymentServiceProvider;
  readonly store: PaymentStore;
  /** Default 60 000 ms. */
  readonly intervalMs?: number;
  /** Each lookup may take this long. Default 10 000 ms. */
  readonly lookupTimeoutMs?: number;
  readonly logger?: Logger;
}

export interface ReconcileSummary {
  readonly checked: number;
  readonly resolved: number;
  readonly stillInDoubt: number;
}

const ACTOR: Actor = { kind: 'system', id: 'reconciler' };

/**
 * Settles payments whose PSP answer never arrived: asks the PSP what it did
 * with each in-doubt idempotency key, at start-up and then periodically, and
 * records the answer. A `requested` intent found here was left by a crash
 * between writing the intent and hearing the PSP: it is in doubt first.
 */
export class Reconciler {
  readonly #psp: PaymentServiceProvider;
  readonly #store: PaymentStore;
  readonly #intervalMs: number;
  readonly #lookupTimeoutMs: number;
  readonly #logger: Logger | undefined;
  readonly #inFlight = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<ReconcileSummary> | undefined;

  constructor(options: ReconcilerOptions) {
    this.#psp = options.psp;
    this.#store = options.store;
    this.#intervalMs = options.intervalMs ?? 60_000;
    this.#lookupTimeoutMs = options.lookupTimeoutMs ?? 10_000;
    this.#logger = options.logger;
  }

  start(): void {
    this.#markCrashedIntents();
    const run = (): void => {
      this.reconcileOnce().catch((err: unknown) => this.#logger?.error({ err }, 'reconciliation failed'));
    };
    run();
    this.#timer = setInterval(run, this.#intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** One pass over every in-doubt payment; concurrent calls share the pass. */
  reconcileOnce(): Promise<ReconcileSummary> {
    this.#running ??= this.#pass().finally(() => (this.#running = undefined));
    return this.#running;
  }

  /** Intents still `requested` when the process starts were cut off by a crash. */
  #markCrashedIntents(): void {
    for (const intent of this.#store.listAuthorisations({ state: 'requested' })) {
      this.#store.resolveAuthorisation(intent.idempotencyKey, { state: 'in_doubt', detail: 'interrupted' });
      const session = this.#store.getSession(intent.sessionId);
      if (session && session.status !== 'in_doubt') this.#store.updateSession(session.id, { status: 'in_doubt' });
      this.#store.appendAudit({
        sessionId: intent.sessionId,
        actor: ACTOR,
        action: 'authorisation-interrupted',
        detail: { idempotencyKey: intent.idempotencyKey },
      });
    }
  }

  async #pass(): Promise<ReconcileSummary> {
    const pending = this.#store.listAuthorisations({ state: 'in_doubt' }).filter((a) => !this.#inFlight.has(a.idempotencyKey));
    let resolved = 0;
    for (const intent of pending) {
      this.#inFlight.add(intent.idempotencyKey);
      try {
        if (await this.#reconcile(intent)) resolved++;
      } catch (err) {
        this.#logger?.warn({ err, idempotencyKey: intent.idempotencyKey }, 'PSP lookup failed; will retry');
      } finally {
        this.#inFlight.delete(intent.idempotencyKey);
      }
    }
    return { checked: pending.length, resolved, stillInDoubt: pending.length - resolved };
  }

  async #reconcile(intent: AuthorisationRecord): Promise<boolean> {
    const answer = await this.#psp.lookup(intent.idempotencyKey, { signal: AbortSignal.timeout(this.#lookupTimeoutMs) });
    const sessionId = intent.sessionId;
    const key = intent.idempotencyKey;
    switch (answer.kind) {
      case 'approved':
        this.#store.resolveAuthorisation(key, { state: 'approved', pspReference: answer.pspReference });
        this.#store.updateSession(sessionId, { status: 'approved', pspReference: answer.pspReference, authCode: answer.authCode });
        break;
      case 'declined':
        this.#store.resolveAuthorisation(key, { state: 'declined', detail: answer.reason });
        this.#store.updateSession(sessionId, { status: 'declined', declineReason: answer.reason });
        break;
      case 'error':
        if (answer.retryable) return false;
        this.#store.resolveAuthorisation(key, { state: 'error', detail: answer.code });
        this.#store.updateSession(sessionId, { status: 'error' });
        break;
      case 'not-found':
        // The PSP never saw the key: nothing was charged.
        this.#store.resolveAuthorisation(key, { state: 'error', detail: 'not-found-at-psp' });
        this.#store.updateSession(sessionId, { status: 'error' });
        break;
    }
    this.#store.appendAudit({ sessionId, actor: ACTOR, action: 'authorisation-reconciled', detail: { idempotencyKey: key, outcome: answer.kind } });
    this.#logger?.info({ sessionId, outcome: answer.kind }, 'in-doubt payment reconciled');
    return true;
  }
}
