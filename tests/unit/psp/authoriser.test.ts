import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Authoriser } from '../../../psp/authoriser.js';
import { Reconciler } from '../../../psp/reconciler.js';
import type { AuthorisationLookup, AuthorisationOutcome, AuthorisationRequest, AuthoriseOptions, PaymentServiceProvider } from '../../../psp/psp-port.js';
import { SqlitePaymentStore } from '../../../store/sqlite-payment-store.js';
import { CardData } from '../../../vault/card-data.js';

// A public test card number (Stripe's documented Visa test card).
const VISA = '4242424242424242';
const ACTOR = { kind: 'call', id: 'call-1' } as const;

/** A PSP scripted per attempt, keeping every request it saw and charging once per key. */
class ScriptedPsp implements PaymentServiceProvider {
  readonly name = 'scripted';
  readonly requests: AuthorisationRequest[] = [];
  readonly ledger = new Map<string, AuthorisationOutcome>();
  constructor(private readonly script: ('approve' | 'retryable' | 'hang' | 'decline')[]) {}

  authorise(request: AuthorisationRequest, _card: CardData, options: AuthoriseOptions = {}): Promise<AuthorisationOutcome> {
    this.requests.push(request);
    const step = this.script.shift() ?? 'approve';
    if (step === 'hang') {
      this.ledger.set(request.idempotencyKey, { kind: 'approved', pspReference: 'psp_hang', authCode: 'H1' });
      return new Promise((_, reject) => options.signal?.addEventListener('abort', () => reject(new Error('aborted'))));
    }
    const outcome: AuthorisationOutcome =
      step === 'approve'
        ? (this.ledger.get(request.idempotencyKey) ?? { kind: 'approved', pspReference: `psp_${this.ledger.size + 1}`, authCode: 'A1' })
        : step === 'decline'
          ? { kind: 'declined', reason: 'do-not-honour' }
          : { kind: 'error', code: 'http-503', retryable: true };
    if (outcome.kind !== 'error') this.ledger.set(request.idempotencyKey, outcome);
    return Promise.resolve(outcome);
  }

  lookup(key: string): Promise<AuthorisationLookup> {
    return Promise.resolve(this.ledger.get(key) ?? { kind: 'not-found' });
  }
}

let dir: string;
let store: SqlitePaymentStore;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'authoriser-'));
  store = new SqlitePaymentStore({ dataDir: dir });
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

const card = () => new CardData({ pan: VISA, expiry: '1230', securityCode: '123', brand: 'visa' });
const newSession = () => store.createSession({ mode: 'direct', reference: '1001', amountMinor: 4250, currency: 'EUR' });
const authoriser = (psp: PaymentServiceProvider, timeoutMs = 500) =>
  new Authoriser({ psp, store, timeoutMs, maxRetries: 2, retryBaseDelayMs: 1 });

describe('Authoriser', () => {
  it('writes the intent before calling the PSP and records the approval', async () => {
    const psp = new ScriptedPsp(['approve']);
    const s = newSession();
    const result = await authoriser(psp).authorise(s, card(), ACTOR);
    expect(result).toEqual({ kind: 'approved', pspReference: 'psp_1', authCode: 'A1' });
    const key = psp.requests[0]!.idempotencyKey;
    expect(store.getAuthorisation(key)).toMatchObject({ state: 'approved', sessionId: s.id });
    expect(store.getSession(s.id)).toMatchObject({ status: 'approved', pspReference: 'psp_1', cardLast4: '4242', idempotencyKey: key });
    expect(store.listAudit({ sessionId: s.id }).map((a) => a.action)).toEqual(['authorisation-requested', 'authorisation-approved']);
  });

  it('retries a retryable error with the same idempotency key: two calls, one charge', async () => {
    const psp = new ScriptedPsp(['retryable', 'approve']);
    const result = await authoriser(psp).authorise(newSession(), card(), ACTOR);
    expect(result.kind).toBe('approved');
    expect(psp.requests).toHaveLength(2);
    expect(new Set(psp.requests.map((r) => r.idempotencyKey)).size).toBe(1);
    expect(psp.ledger.size).toBe(1);
    expect(psp.requests[0]!.moto).toBe(true);
  });

  it('records a decline with its reason', async () => {
    const s = newSession();
    expect(await authoriser(new ScriptedPsp(['decline'])).authorise(s, card(), ACTOR)).toEqual({ kind: 'declined', reason: 'do-not-honour' });
    expect(store.getSession(s.id)).toMatchObject({ status: 'declined', declineReason: 'do-not-honour' });
  });

  it('leaves a PSP that never answers in doubt, within one timeout, then reconciles it', async () => {
    const psp = new ScriptedPsp(['hang', 'hang', 'hang']);
    const s = newSession();
    const started = Date.now();
    expect(await authoriser(psp, 300).authorise(s, card(), ACTOR)).toEqual({ kind: 'in-doubt' });
    expect(Date.now() - started).toBeLessThan(1000);
    expect(store.getSession(s.id)?.status).toBe('in_doubt');
    const summary = await new Reconciler({ psp, store }).reconcileOnce();
    expect(summary).toEqual({ checked: 1, resolved: 1, stillInDoubt: 0 });
    expect(store.getSession(s.id)).toMatchObject({ status: 'approved', pspReference: 'psp_hang' });
    expect(psp.ledger.size).toBe(1);
  });

  it('still failing after the retries means in doubt, not failed', async () => {
    const psp = new ScriptedPsp(['retryable', 'retryable', 'retryable']);
    expect(await authoriser(psp).authorise(newSession(), card(), ACTOR)).toEqual({ kind: 'in-doubt' });
    expect(psp.requests).toHaveLength(3);
  });

  it('does not call the PSP when the intent cannot be written', async () => {
    const psp = new ScriptedPsp(['approve']);
    const s = newSession();
    store.close();
    expect(await authoriser(psp).authorise(s, card(), ACTOR)).toEqual({ kind: 'error', code: 'store-unavailable' });
    expect(psp.requests).toHaveLength(0);
    store = new SqlitePaymentStore({ dataDir: dir });
  });

  it('writes no card number to the database', async () => {
    await authoriser(new ScriptedPsp(['approve'])).authorise(newSession(), card(), ACTOR);
    store.close();
    const bytes = ['payments.db', 'payments.db-wal'].map((f) => {
      try {
        return readFileSync(join(dir, f)).toString('latin1');
      } catch {
        return '';
      }
    });
    expect(bytes.join('')).not.toContain(VISA);
    store = new SqlitePaymentStore({ dataDir: dir });
  });
});

describe('Reconciler', () => {
  it('treats an intent left requested by a crash as in doubt, then settles it', async () => {
    const psp = new ScriptedPsp([]);
    const s = newSession();
    store.updateSession(s.id, { status: 'authorising', idempotencyKey: 'crashed' });
    store.recordAuthorisationIntent({ idempotencyKey: 'crashed', sessionId: s.id, psp: 'scripted', amountMinor: 4250, currency: 'EUR' });
    psp.ledger.set('crashed', { kind: 'declined', reason: 'insufficient-funds' });
    const reconciler = new Reconciler({ psp, store, intervalMs: 60_000 });
    reconciler.start();
    reconciler.stop();
    await reconciler.reconcileOnce();
    expect(store.getSession(s.id)).toMatchObject({ status: 'declined', declineReason: 'insufficient-funds' });
    expect(store.listAudit({ sessionId: s.id }).map((a) => a.action)).toEqual(['authorisation-interrupted', 'authorisation-reconciled']);
  });

  it('marks a key the PSP never saw as error: nothing was charged', async () => {
    const s = newSession();
    store.updateSession(s.id, { status: 'authorising' });
    store.recordAuthorisationIntent({ idempotencyKey: 'unseen', sessionId: s.id, psp: 'scripted', amountMinor: 4250, currency: 'EUR' });
    store.resolveAuthorisation('unseen', { state: 'in_doubt' });
    store.updateSession(s.id, { status: 'in_doubt' });
    await new Reconciler({ psp: new ScriptedPsp([]), store }).reconcileOnce();
    expect(store.getSession(s.id)?.status).toBe('error');
    expect(store.getAuthorisation('unseen')).toMatchObject({ state: 'error', detail: 'not-found-at-psp' });
  });
});
