import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { z } from 'zod';
import { isCardBrand, type CardBrand } from '../domain/card-brand.js';
import { luhnValid } from '../domain/card-rules.js';
import type { CurrencyCode, DeclineReason } from '../domain/payment-types.js';
import type { CardData } from '../vault/card-data.js';
import type {
  AuthorisationLookup,
  AuthorisationOutcome,
  AuthorisationRequest,
  AuthoriseOptions,
  PaymentServiceProvider,
  ReversalOutcome,
  ReversalRequest,
  StoredCardChargeRequest,
} from './psp-port.js';
import { PspTimeoutError } from './psp-errors.js';
import { SandboxLedgerJournal } from './sandbox-ledger-journal.js';
import type { PaymentModificationKind } from '../domain/payment-lifecycle.js';

/** The sandbox rejects with it when the caller's signal aborts the wait (the no-answer test card, or an abort during the latency). */
export { PspTimeoutError };

/** The sandbox's ledger file is unreadable or is not a ledger. */
export class SandboxLedgerError extends Error {
  override readonly name = 'SandboxLedgerError';
}

/** What the sandbox does with a card. */
export type SandboxCardBehaviour =
  | { readonly kind: 'approve' }
  | { readonly kind: 'decline'; readonly reason: DeclineReason }
  | { readonly kind: 'error'; readonly code: string }
  /** Charges (approved, in the ledger) but the answer is lost on the way back. */
  | { readonly kind: 'no-answer' };

/**
 * The sandbox's test cards, and the ONLY place they are listed in code.
 * These are publicly documented PSP test numbers (Stripe's "Testing" page,
 * docs.stripe.com/testing), never real cards. The outcomes follow Stripe's
 * documentation except 4000000000000341, which Stripe documents as "attaching
 * succeeds, charging fails"; here it is the card whose answer never arrives.
 * Any other Luhn-valid number approves; any security code and expiry are
 * accepted (the flow has already refused a past expiry).
 */
export const SANDBOX_TEST_CARDS: ReadonlyMap<string, SandboxCardBehaviour> = new Map<string, SandboxCardBehaviour>([
  ['4242424242424242', { kind: 'approve' }],
  ['5555555555554444', { kind: 'approve' }],
  ['378282246310005', { kind: 'approve' }],
  ['4000000000000002', { kind: 'decline', reason: 'generic-decline' }],
  ['4000000000009995', { kind: 'decline', reason: 'insufficient-funds' }],
  ['4000000000000069', { kind: 'decline', reason: 'expired-card' }],
  ['4000000000000119', { kind: 'error', code: 'processing-error' }],
  ['4000000000000341', { kind: 'no-answer' }],
]);

/** One charge the sandbox recorded. Card data is limited to brand and last four (PCI DSS 4.0 req. 3.4.1). */
export interface SandboxCharge {
  readonly idempotencyKey: string;
  readonly amountMinor: number;
  readonly currency: CurrencyCode;
  readonly reference: string;
  readonly brand: CardBrand;
  readonly last4: string;
  /** The sandbox's own id of the charge; the outcome carries it too when approved or declined. */
  readonly pspReference: string;
  readonly outcome: AuthorisationOutcome;
  /** ISO 8601 time the charge was recorded. */
  readonly at: string;
  /** Captures, refunds and the void made on this charge, oldest first. */
  readonly reversals?: readonly SandboxReversal[];
  /** Authorised only (PSP_CAPTURE=manual): the money is taken by a later capture. */
  readonly manualCapture?: boolean;
}

/** One refund or void the sandbox recorded against a charge. */
export interface SandboxReversal {
  readonly idempotencyKey: string;
  readonly kind: PaymentModificationKind;
  readonly amountMinor: number;
  readonly pspReference: string;
}

export interface SandboxPspOptions {
  /**
   * A JSON Lines file the ledger is loaded from at construction and
   * appended to (and synced) before each charge is answered, so `lookup`
   * answers for charges made before a restart. Holds no card number. A
   * file holding one JSON array (the earlier format) is read too.
   * Default: none (the ledger lives in memory only).
   */
  readonly ledgerFile?: string;
  /** Simulated network round trip of `authorise`; `lookup` takes at most 50 ms of it. Default 150 ms; 0 in tests. */
  readonly latencyMs?: number;
  /** `manual`: authorise only; a capture takes the money later (PSP_CAPTURE). Default `auto`. */
  readonly capture?: 'auto' | 'manual';
  /**
   * With `ledgerFile`: how many of the latest charges are held in memory
   * whole. Older ones are answered from the file (a replayed key, a lookup,
   * a refund, a stored card), and only their idempotency key stays in memory,
   * so the sandbox's memory stops growing with every payment of an all-day
   * run. Default 1 000 (a retry, a lookup or a refund of a recent payment
   * stays in memory; older ones cost a read of the file). Without a file every
   * charge stays in memory.
   */
  readonly memoryCharges?: number;
}

/**
 * A deterministic PSP for development and tests; the outcome depends on the
 * card number only (`SANDBOX_TEST_CARDS`).
 *
 * Idempotent like Stripe: the first request with a key that gets as far as a
 * charge is recorded, and every later request with that key returns the
 * recorded outcome without charging again, even a replay of the no-answer
 * card (its answer was lost once, the PSP still has it). The same key with
 * another amount, currency or reference is refused with
 * `idempotency-key-reuse`. A request refused before charging (bad amount,
 * currency or card number) records nothing.
 */
export class SandboxPsp implements PaymentServiceProvider {
  readonly name = 'sandbox';
  readonly #journal: SandboxLedgerJournal | undefined;
  readonly #latencyMs: number;
  readonly #manualCapture: boolean;
  /** The latest charges whole, oldest first (all of them without a file). */
  readonly #ledger = new Map<string, SandboxCharge>();
  readonly #memoryCharges: number;
  /** With a file: every idempotency key ever recorded, so a new key is told from one whose charge is only on disk. */
  readonly #keys = new Set<string>();
  /** Indexes of the charges in #ledger: pspReference and stored-card token → idempotency key. */
  readonly #byPspReference = new Map<string, string>();
  readonly #byToken = new Map<string, string>();

  /** @throws SandboxLedgerError if `ledgerFile` exists and is not a ledger. */
  constructor(options: SandboxPspOptions = {}) {
    this.#journal = options.ledgerFile === undefined ? undefined : new SandboxLedgerJournal(options.ledgerFile);
    this.#latencyMs = options.latencyMs ?? 150;
    this.#manualCapture = options.capture === 'manual';
    this.#memoryCharges = this.#journal ? (options.memoryCharges ?? 1_000) : Number.POSITIVE_INFINITY;
    if (!Number.isFinite(this.#latencyMs) || this.#latencyMs < 0) throw new RangeError(`latencyMs must be ≥ 0, got ${this.#latencyMs}`);
    if (!(this.#memoryCharges >= 1)) throw new RangeError(`memoryCharges must be ≥ 1, got ${this.#memoryCharges}`);
    if (options.ledgerFile !== undefined && existsSync(options.ledgerFile)) {
      const { charges, earlierFormat } = loadLedger(options.ledgerFile);
      for (const charge of charges) this.#remember(charge);
      this.#forgetOldest();
      // An array can't be appended to: rewritten once as JSON Lines (atomically) before the first append.
      if (earlierFormat) rewriteAsJsonLines(options.ledgerFile, charges);
    }
  }

  /** Every charge recorded, oldest first (with a file and more than `memoryCharges`, read from it: older ones are held there only). */
  charges(): readonly SandboxCharge[] {
    if (this.#allInMemory) return [...this.#ledger.values()];
    const all = new Map(this.#fromFile().map((c) => [c.idempotencyKey, c]));
    // An append still on its way to the file is in memory already.
    for (const charge of this.#ledger.values()) all.set(charge.idempotencyKey, charge);
    return [...all.values()];
  }

  /** How many charges are held whole in memory (at most `memoryCharges` with a file). */
  get chargesInMemory(): number {
    return this.#ledger.size;
  }

  async authorise(request: AuthorisationRequest, card: CardData, options: AuthoriseOptions = {}): Promise<AuthorisationOutcome> {
    await delay(this.#latencyMs, options.signal);
    // From here to the ledger write nothing awaits: two concurrent requests with one key cannot both charge.
    const previous = this.#recorded(request.idempotencyKey);
    if (previous) {
      const same = previous.amountMinor === request.amountMinor && previous.currency === request.currency && previous.reference === request.reference;
      return same ? previous.outcome : { kind: 'error', code: 'idempotency-key-reuse', retryable: false };
    }
    const invalid = invalidRequest(request);
    // Tokenise-only (amount 0): a card verification, like Stripe's SetupIntent or Adyen's zero-value auth.
    if (invalid) return { kind: 'error', code: invalid, retryable: false };
    const { pan } = card.reveal();
    if (!luhnValid(pan)) return { kind: 'error', code: 'invalid-card-number', retryable: false };

    const behaviour = SANDBOX_TEST_CARDS.get(pan) ?? { kind: 'approve' };
    const pspReference = `sbx_${randomBytes(12).toString('hex')}`;
    const decided = outcomeOf(behaviour, pspReference);
    const outcome: AuthorisationOutcome =
      decided.kind === 'approved' && request.tokenise
        ? { ...decided, token: { token: `sbxtok_${randomBytes(12).toString('hex')}`, customer: request.tokenise.customerReference } }
        : decided;
    const charge: SandboxCharge = {
      idempotencyKey: request.idempotencyKey,
      amountMinor: request.amountMinor,
      currency: request.currency,
      reference: request.reference,
      brand: card.brand,
      last4: card.last4,
      pspReference,
      outcome,
      at: new Date().toISOString(),
      ...(this.#manualCapture ? { manualCapture: true } : {}),
    };
    await this.#record(charge);
    if (behaviour.kind === 'no-answer') {
      // Charged, but the answer is lost on the way back: only lookup() tells.
      // Without a signal this waits forever (no timer is held, so it keeps no process alive).
      await delay(Number.POSITIVE_INFINITY, options.signal);
    }
    return outcome;
  }

  /**
   * Charges a card the sandbox stored (an `sbxtok_` token of an approved,
   * tokenising charge, for the same customer): approved, idempotent like
   * `authorise`. An unknown token or another customer's is refused, unrecorded.
   */
  async chargeStoredCard(request: StoredCardChargeRequest, options: AuthoriseOptions = {}): Promise<AuthorisationOutcome> {
    await delay(this.#latencyMs, options.signal);
    const previous = this.#recorded(request.idempotencyKey);
    if (previous) {
      const same = previous.amountMinor === request.amountMinor && previous.currency === request.currency && previous.reference === request.reference;
      return same ? previous.outcome : { kind: 'error', code: 'idempotency-key-reuse', retryable: false };
    }
    const invalid = invalidRequest(request);
    if (invalid) return { kind: 'error', code: invalid, retryable: false };
    const stored = this.#approvedWhere(this.#byToken.get(request.storedCard.token), (c) => c.outcome.kind === 'approved' && c.outcome.token?.token === request.storedCard.token);
    if (!stored || (stored.outcome.kind === 'approved' && stored.outcome.token?.customer !== request.storedCard.customer)) {
      return { kind: 'error', code: 'unknown-stored-card', retryable: false };
    }
    const pspReference = `sbx_${randomBytes(12).toString('hex')}`;
    const charge: SandboxCharge = {
      idempotencyKey: request.idempotencyKey,
      amountMinor: request.amountMinor,
      currency: request.currency,
      reference: request.reference,
      brand: stored.brand,
      last4: stored.last4,
      pspReference,
      outcome: { kind: 'approved', pspReference, authCode: authCode() },
      at: new Date().toISOString(),
      ...(this.#manualCapture ? { manualCapture: true } : {}),
    };
    await this.#record(charge);
    return charge.outcome;
  }

  async lookup(idempotencyKey: string, options: AuthoriseOptions = {}): Promise<AuthorisationLookup> {
    await delay(Math.min(this.#latencyMs, 50), options.signal);
    return this.#recorded(idempotencyKey)?.outcome ?? { kind: 'not-found' };
  }

  /**
   * Captures (a charge authorised only: `capture: 'manual'`), refunds part or
   * all of what was captured, or voids an authorisation while nothing is
   * refunded (and, when manual, nothing captured). The same key answers the
   * same; anything else out of order is refused.
   */
  async reverse(request: ReversalRequest, options: AuthoriseOptions = {}): Promise<ReversalOutcome> {
    await delay(Math.min(this.#latencyMs, 50), options.signal);
    const charge = this.#approvedWhere(this.#byPspReference.get(request.pspReference), (c) => c.outcome.kind === 'approved' && c.pspReference === request.pspReference);
    if (!charge) return { kind: 'refused', code: 'payment-not-found' };
    const reversals = charge.reversals ?? [];
    const earlier = reversals.find((r) => r.idempotencyKey === request.idempotencyKey);
    if (earlier) return { kind: 'succeeded', pspReference: earlier.pspReference };
    if (reversals.some((r) => r.kind === 'void')) return { kind: 'refused', code: 'already-voided' };
    if (request.currency !== charge.currency) return { kind: 'refused', code: 'currency-mismatch' };
    const sum = (kind: SandboxReversal['kind']): number => reversals.filter((r) => r.kind === kind).reduce((total, r) => total + r.amountMinor, 0);
    const captures = reversals.filter((r) => r.kind === 'capture');
    // Auto capture: all of it, at once.
    const captured = charge.manualCapture ? sum('capture') : charge.amountMinor;
    const refunded = sum('refund');
    let amountMinor = request.amountMinor;
    switch (request.kind) {
      case 'capture':
        if (!charge.manualCapture || captures.length > 0) return { kind: 'refused', code: 'already-captured' };
        if (refunded > 0) return { kind: 'refused', code: 'already-refunded' };
        if (!Number.isSafeInteger(amountMinor) || amountMinor <= 0 || amountMinor > charge.amountMinor) return { kind: 'refused', code: 'amount-too-large' };
        break;
      case 'void':
        if (refunded > 0) return { kind: 'refused', code: 'already-refunded' };
        if (charge.manualCapture && captures.length > 0) return { kind: 'refused', code: 'already-captured' };
        amountMinor = charge.amountMinor;
        break;
      case 'refund':
        if (!Number.isSafeInteger(amountMinor) || amountMinor <= 0 || refunded + amountMinor > captured) return { kind: 'refused', code: 'amount-too-large' };
        break;
    }
    const reversal: SandboxReversal = { idempotencyKey: request.idempotencyKey, kind: request.kind, amountMinor, pspReference: `sbxrev_${randomBytes(12).toString('hex')}` };
    const reversed: SandboxCharge = { ...charge, reversals: [...reversals, reversal] };
    await this.#record(reversed);
    return { kind: 'succeeded', pspReference: reversal.pspReference };
  }

  /** The sandbox has no credentials: always ready. */
  checkCredentials(): Promise<boolean> {
    return Promise.resolve(true);
  }

  /** Records `charge` (new, or the new state of one recorded): in memory at once, then on disk; then the oldest may leave memory. */
  async #record(charge: SandboxCharge): Promise<void> {
    this.#remember(charge);
    await this.#journal?.append(charge);
    this.#forgetOldest();
  }

  /** Whether every charge recorded is held in memory (always without a file). */
  get #allInMemory(): boolean {
    return !this.#journal || this.#ledger.size === this.#keys.size;
  }

  /** Holds `charge` (new, or the new state of one recorded) in memory, indexed. */
  #remember(charge: SandboxCharge): void {
    const key = charge.idempotencyKey;
    // An update keeps the charge's place: the map stays oldest first.
    this.#ledger.set(key, charge);
    if (this.#journal) this.#keys.add(key);
    if (charge.outcome.kind === 'approved') {
      this.#byPspReference.set(charge.pspReference, key);
      if (charge.outcome.token) this.#byToken.set(charge.outcome.token.token, key);
    }
  }

  /**
   * Past `memoryCharges`, lets the oldest charges go to the file alone. Run
   * once a charge's append is on disk: the journal writes in order, so every
   * older charge is there too, and a key whose charge left memory is always
   * found in the file.
   */
  #forgetOldest(): void {
    for (const [oldKey, old] of this.#ledger) {
      if (this.#ledger.size <= this.#memoryCharges) break;
      this.#ledger.delete(oldKey);
      if (this.#byPspReference.get(old.pspReference) === oldKey) this.#byPspReference.delete(old.pspReference);
      const token = old.outcome.kind === 'approved' ? old.outcome.token?.token : undefined;
      if (token !== undefined && this.#byToken.get(token) === oldKey) this.#byToken.delete(token);
    }
  }

  /** The charge recorded with `key`: in memory, or read from the file when only its key is held. */
  #recorded(key: string): SandboxCharge | undefined {
    const held = this.#ledger.get(key);
    if (held || !this.#keys.has(key)) return held;
    return this.#fromFile().find((c) => c.idempotencyKey === key);
  }

  /** The approved charge an index names (`key`), or, while some charges are on the file only, the first there that `matches`. */
  #approvedWhere(key: string | undefined, matches: (charge: SandboxCharge) => boolean): SandboxCharge | undefined {
    if (key !== undefined) return this.#recorded(key);
    if (this.#allInMemory) return undefined;
    return this.#fromFile().find(matches);
  }

  /** Every charge in the ledger file, the latest state of each (read only for a charge that left memory). */
  #fromFile(): SandboxCharge[] {
    return this.#journal && existsSync(this.#journal.path) ? loadLedger(this.#journal.path).charges : [];
  }
}

/** The codes a request is refused with before anything is charged (Stripe: a validation error saves no idempotent result). */
function invalidRequest(request: Pick<AuthorisationRequest, 'amountMinor' | 'currency' | 'idempotencyKey' | 'reference'> & { tokenise?: unknown }): string | undefined {
  const least = request.tokenise ? 0 : 1;
  if (!Number.isSafeInteger(request.amountMinor) || request.amountMinor < least) return 'invalid-amount';
  if (!/^[A-Z]{3}$/.test(request.currency)) return 'invalid-currency';
  if (request.idempotencyKey.length === 0 || request.reference.length === 0) return 'invalid-request';
  return undefined;
}

function outcomeOf(behaviour: SandboxCardBehaviour, pspReference: string): AuthorisationOutcome {
  switch (behaviour.kind) {
    case 'approve':
    case 'no-answer':
      return { kind: 'approved', pspReference, authCode: authCode() };
    case 'decline':
      return { kind: 'declined', reason: behaviour.reason, pspReference };
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
      reject(new PspTimeoutError({ cause: signal.reason }));
      return;
    }
    const timer = Number.isFinite(ms) ? setTimeout(done, ms) : undefined;
    function done(): void {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }
    function onAbort(): void {
      clearTimeout(timer);
      reject(new PspTimeoutError({ cause: signal?.reason }));
    }
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

const DECLINE_REASONS = [
  'generic-decline',
  'insufficient-funds',
  'expired-card',
  'incorrect-security-code',
  'card-not-supported',
  'fraud-suspected',
  'do-not-honour',
] as const satisfies readonly DeclineReason[];
// Fails to compile if DeclineReason gains a member the ledger schema does not know.
const declineReasonsComplete: Exclude<DeclineReason, (typeof DECLINE_REASONS)[number]> extends never ? true : never = true;
void declineReasonsComplete;

const outcomeSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('approved'),
    pspReference: z.string(),
    authCode: z.string(),
    token: z.object({ token: z.string(), customer: z.string() }).optional(),
  }),
  z.object({ kind: z.literal('declined'), reason: z.enum(DECLINE_REASONS), pspReference: z.string().optional() }),
  z.object({ kind: z.literal('error'), code: z.string(), retryable: z.boolean() }),
]);

const chargeSchema = z.object({
  idempotencyKey: z.string().min(1),
  amountMinor: z.number().int(),
  currency: z.string(),
  reference: z.string(),
  brand: z.string().refine(isCardBrand, 'a card brand'),
  last4: z.string().regex(/^\d{4}$/, 'four digits'),
  /** Absent in ledgers written before it was added: taken from the outcome then. */
  pspReference: z.string().optional(),
  outcome: outcomeSchema,
  at: z.string(),
  reversals: z
    .array(z.object({ idempotencyKey: z.string(), kind: z.enum(['capture', 'refund', 'void']), amountMinor: z.number().int(), pspReference: z.string() }))
    .optional(),
  manualCapture: z.boolean().optional(),
});

function rewriteAsJsonLines(path: string, charges: readonly SandboxCharge[]): void {
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, charges.map((c) => `${JSON.stringify(c)}\n`).join(''), { mode: 0o600 });
  renameSync(temporary, path);
}

function loadLedger(path: string): { charges: SandboxCharge[]; earlierFormat: boolean } {
  let data: unknown;
  let earlierFormat = false;
  try {
    const text = readFileSync(path, 'utf8');
    // JSON Lines, the last line for a key winning; or one array (the earlier format).
    earlierFormat = text.trimStart().startsWith('[');
    data = earlierFormat
      ? JSON.parse(text)
      : [...new Map(text.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as { idempotencyKey?: unknown }).map((c) => [c.idempotencyKey, c])).values()];
  } catch (err) {
    throw new SandboxLedgerError(`cannot read sandbox ledger ${path}: ${(err as Error).message.split('\n')[0]}`);
  }
  const parsed = z.array(chargeSchema).safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue && issue.path.length > 0 ? `charge ${issue.path.join('.')}` : 'top level';
    throw new SandboxLedgerError(`sandbox ledger ${path}: ${where}: ${issue?.message ?? 'invalid'}`);
  }
  const charges = parsed.data.map((charge) => ({
    ...charge,
    brand: charge.brand as CardBrand,
    pspReference: charge.pspReference ?? (charge.outcome.kind === 'error' ? undefined : charge.outcome.pspReference) ?? 'sbx_unknown',
  }));
  return { charges, earlierFormat };
}
