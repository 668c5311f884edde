import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { CardData } from '../vault/card-data.js';
import type { DeclineReason } from '../ivr/domain/payment-types.js';
import type {
  AuthorisationLookup,
  AuthorisationOutcome,
  AuthorisationRequest,
  AuthoriseOptions,
  PaymentServiceProvider,
} from './psp-port.js';

/** The sandbox never answered (the no-answer test card): the caller's wait was aborted. */
export class PspTimeoutError extends Error {
  override readonly name = 'PspTimeoutError';
  constructor() {
    super('the PSP did not answer in time');
  }
}

type CardBehaviour =
  | { readonly kind: 'approve' }
  | { readonly kind: 'decline'; readonly reason: DeclineReason }
  | { readonly kind: 'error'; readonly code: string }
  | { readonly kind: 'no-answer' };

/**
 * The sandbox's test cards: the numbers Stripe publishes for testing, with the
 * outcomes the sandbox gives them. Any other Luhn-valid card approves.
 */
const TEST_CARDS: ReadonlyMap<string, CardBehaviour> = new Map<string, CardBehaviour>([
  ['4242424242424242', { kind: 'approve' }],
  ['5555555555554444', { kind: 'approve' }],
  ['378282246310005', { kind: 'approve' }],
  ['4000000000000002', { kind: 'decline', reason: 'generic-decline' }],
  ['4000000000009995', { kind: 'decline', reason: 'insufficient-funds' }],
  ['4000000000000069', { kind: 'decline', reason: 'expired-card' }],
  ['4000000000000119', { kind: 'error', code: 'processing-error' }],
  ['4000000000000341', { kind: 'no-answer' }],
]);

/** One charge the sandbox recorded. Card data is limited to brand and last four. */
export interface SandboxCharge {
  readonly idempotencyKey: string;
  readonly amountMinor: number;
  readonly currency: string;
  readonly reference: string;
  readonly brand: string;
  readonly last4: string;
  readonly outcome: AuthorisationOutcome;
  readonly at: string;
}

export interface SandboxPspOptions {
  /** Where the ledger survives restarts (for reconciliation after a crash). Default: memory only. */
  readonly ledgerFile?: string;
  /** Simulated network round trip. Default 150 ms. */
  readonly latencyMs?: number;
}

/**
 * A deterministic PSP for development and tests. Idempotent like a real one:
 * the same key returns the recorded outcome and never charges twice; the same
 * key with another amount, currency or reference is refused.
 */
export class SandboxPsp implements PaymentServiceProvider {
  readonly name = 'sandbox';
  readonly #ledgerFile: string | undefined;
  readonly #latencyMs: number;
  readonly #ledger = new Map<string, SandboxCharge>();

  constructor(options: SandboxPspOptions = {}) {
    this.#ledgerFile = options.ledgerFile;
    this.#latencyMs = options.latencyMs ?? 150;
    if (this.#ledgerFile && existsSync(this.#ledgerFile)) {
      const charges = JSON.parse(readFileSync(this.#ledgerFile, 'utf8')) as SandboxCharge[];
      for (const charge of charges) this.#ledger.set(charge.idempotencyKey, charge);
    }
  }

  charges(): readonly SandboxCharge[] {
    return [...this.#ledger.values()];
  }

  async authorise(request: AuthorisationRequest, card: CardData, options: AuthoriseOptions = {}): Promise<AuthorisationOutcome> {
    await delay(this.#latencyMs, options.signal);
    const previous = this.#ledger.get(request.idempotencyKey);
    if (previous) {
      if (previous.amountMinor !== request.amountMinor || previous.currency !== request.currency || previous.reference !== request.reference) {
        return { kind: 'error', code: 'idempotency-key-reuse', retryable: false };
      }
      return previous.outcome;
    }
    const behaviour = TEST_CARDS.get(card.reveal().pan) ?? { kind: 'approve' };
    const outcome = outcomeOf(behaviour);
    this.#ledger.set(request.idempotencyKey, {
      idempotencyKey: request.idempotencyKey,
      amountMinor: request.amountMinor,
      currency: request.currency,
      reference: request.reference,
      brand: card.brand,
      last4: card.last4,
      outcome,
      at: new Date().toISOString(),
    });
    this.#persist();
    if (behaviour.kind === 'no-answer') {
      // Charged, but the answer is lost on the way back: only lookup() tells.
      await delay(Number.POSITIVE_INFINITY, options.signal);
    }
    return outcome;
  }

  async lookup(idempotencyKey: string, options: AuthoriseOptions = {}): Promise<AuthorisationLookup> {
    await delay(Math.min(this.#latencyMs, 50), options.signal);
    return this.#ledger.get(idempotencyKey)?.outcome ?? { kind: 'not-found' };
  }

  #persist(): void {
    if (!this.#ledgerFile) return;
    const temp = `${this.#ledgerFile}.tmp`;
    writeFileSync(temp, JSON.stringify([...this.#ledger.values()], null, 1), { mode: 0o600 });
    renameSync(temp, this.#ledgerFile);
  }
}

function outcomeOf(behaviour: CardBehaviour): AuthorisationOutcome {
  switch (behaviour.kind) {
    case 'approve':
    case 'no-answer':
      return { kind: 'approved', pspReference: `sbx_${randomBytes(8).toString('hex')}`, authCode: authCode() };
    case 'decline':
      return { kind: 'declined', reason: behaviour.reason, pspReference: `sbx_${randomBytes(8).toString('hex')}` };
    case 'error':
      return { kind: 'error', code: behaviour.code, retryable: false };
  }
}

/** Six characters from an alphabet without look-alikes (no 0/O, 1/I). */
function authCode(): string {
  const alphabet = '23456789ABCDEFGHJKLMNPQRSTUVWXYZ';
  return [...randomBytes(6)].map((b) => alphabet[b % alphabet.length]).join('');
}

function delay(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new PspTimeoutError());
      return;
    }
    const timer = Number.isFinite(ms) ? setTimeout(done, ms) : undefined;
    function done(): void {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }
    function onAbort(): void {
      clearTimeout(timer);
      reject(new PspTimeoutError());
    }
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
