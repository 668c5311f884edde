import type {
  AuthorisationLookup,
  AuthorisationOutcome,
  AuthorisationRequest,
  AuthoriseOptions,
  PaymentServiceProvider,
  ReversalOutcome,
  ReversalRequest,
  StoredCardChargeRequest,
} from '../../../psp/psp-port.js';
import type { CardData } from '../../../vault/card-data.js';

/**
 * What the PSP does with one `authorise` call:
 * - approve / decline / fatal: answers (approve charges the key once; a repeat returns the first answer);
 * - retryable: answers a retryable error, charging nothing;
 * - reject: the connection fails before the PSP sees the request;
 * - hang: the PSP charges but its answer never arrives (rejects on abort);
 * - hang-deaf: as hang, and ignores the abort signal too.
 */
export type PspStep = 'approve' | 'decline' | 'fatal' | 'retryable' | 'reject' | 'hang' | 'hang-deaf';

/**
 * An in-test PSP implementing the port exactly: scripted per call, keeping
 * every request and signal it saw, and a ledger with the number of charges
 * per idempotency key (a real PSP charges a key at most once).
 */
export class CountingPsp implements PaymentServiceProvider {
  readonly name = 'counting';
  readonly requests: AuthorisationRequest[] = [];
  readonly signals: (AbortSignal | undefined)[] = [];
  /** The PSP's own record per idempotency key: what `lookup` reports. */
  readonly ledger = new Map<string, AuthorisationOutcome>();
  /** Charges per idempotency key. */
  readonly charges = new Map<string, number>();
  readonly lookups: string[] = [];
  /** Called as each request arrives, before the PSP answers. */
  onAuthorise: ((request: AuthorisationRequest) => void | Promise<void>) | undefined;
  /** Overrides the ledger for `lookup`. */
  lookupAnswer: ((key: string) => Promise<AuthorisationLookup>) | undefined;
  #script: PspStep[];

  constructor(script: PspStep[] = []) {
    this.#script = [...script];
  }

  get calls(): number {
    return this.requests.length;
  }

  async authorise(request: AuthorisationRequest, _card: CardData, options?: AuthoriseOptions): Promise<AuthorisationOutcome> {
    this.requests.push(request);
    await this.onAuthorise?.(request);
    return this.#answer(request.idempotencyKey, options);
  }

  /** Merchant-initiated charges it was asked for, scripted like `authorise`. */
  readonly storedCharges: StoredCardChargeRequest[] = [];

  chargeStoredCard(request: StoredCardChargeRequest, options?: AuthoriseOptions): Promise<AuthorisationOutcome> {
    this.storedCharges.push(request);
    return this.#answer(request.idempotencyKey, options);
  }

  #answer(key: string, options: AuthoriseOptions | undefined): Promise<AuthorisationOutcome> {
    this.signals.push(options?.signal);
    const step = this.#script.shift() ?? 'approve';
    switch (step) {
      case 'approve':
        return Promise.resolve(this.#charge(key));
      case 'decline': {
        const outcome = this.ledger.get(key) ?? { kind: 'declined', reason: 'do-not-honour', pspReference: `dcl_${key.slice(-6)}` };
        this.ledger.set(key, outcome);
        return Promise.resolve(outcome);
      }
      case 'fatal': {
        const outcome: AuthorisationOutcome = { kind: 'error', code: 'invalid-merchant', retryable: false };
        this.ledger.set(key, outcome);
        return Promise.resolve(outcome);
      }
      case 'retryable':
        return Promise.resolve({ kind: 'error', code: 'http-503', retryable: true });
      case 'reject':
        return Promise.reject(new Error('ECONNRESET'));
      case 'hang':
        this.#charge(key);
        return new Promise((_, reject) => {
          options?.signal?.addEventListener('abort', () => reject(options.signal?.reason), { once: true });
        });
      case 'hang-deaf':
        this.#charge(key);
        return new Promise(() => undefined);
    }
  }

  lookup(idempotencyKey: string, _options?: AuthoriseOptions): Promise<AuthorisationLookup> {
    this.lookups.push(idempotencyKey);
    if (this.lookupAnswer) return this.lookupAnswer(idempotencyKey);
    return Promise.resolve(this.ledger.get(idempotencyKey) ?? { kind: 'not-found' });
  }

  /** Reversals it was asked for; each succeeds unless `reverseAnswer` says otherwise. */
  readonly reversals: ReversalRequest[] = [];
  reverseAnswer: ((request: ReversalRequest) => Promise<ReversalOutcome>) | undefined;

  reverse(request: ReversalRequest): Promise<ReversalOutcome> {
    this.reversals.push(request);
    if (this.reverseAnswer) return this.reverseAnswer(request);
    return Promise.resolve({ kind: 'succeeded', pspReference: `rev_${this.reversals.length}` });
  }

  checkCredentials(): Promise<boolean> {
    return Promise.resolve(true);
  }

  #charge(key: string): AuthorisationOutcome {
    const earlier = this.ledger.get(key);
    if (earlier) return earlier;
    const outcome: AuthorisationOutcome = { kind: 'approved', pspReference: `psp_${this.ledger.size + 1}`, authCode: 'A1B2C3' };
    this.ledger.set(key, outcome);
    this.charges.set(key, (this.charges.get(key) ?? 0) + 1);
    return outcome;
  }
}
