import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Authoriser, type AuthoriserOptions } from '../../../psp/authoriser.js';
import type { PaymentSessionRecord, PaymentStore } from '../../../store/payment-store.js';
import { SqliteAuditLog } from '../../../store/sqlite-audit-log.js';
import { SqlitePaymentStore } from '../../../store/sqlite-payment-store.js';
import { CardData } from '../../../vault/card-data.js';
import { findCardDataInFiles, findCardDataInText } from '../../support/card-scan.js';
import { CountingPsp } from './counting-psp.js';

// Public test card numbers only (Stripe's documented Visa test card).
const VISA = '4242424242424242';
const CALL = { kind: 'call', id: 'call-1' } as const;

let dir: string;
let store: SqlitePaymentStore;
let audit: SqliteAuditLog;
let sleeps: number[];
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'authoriser-'));
  store = new SqlitePaymentStore({ dataDir: dir });
  audit = new SqliteAuditLog(store.database, { key: randomBytes(32) });
  sleeps = [];
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const card = (): CardData => new CardData({ pan: VISA, expiry: '1230', securityCode: '123', brand: 'visa' });

/** A session at the point the flow authorises: card captured. */
async function capturedSession(): Promise<PaymentSessionRecord> {
  const s = await store.createSession({ mode: 'direct', reference: 'INV-1001', amountMinor: 4250, currency: 'EUR', callId: 'call-1' });
  return store.updateSession(s.id, { status: 'capturing' });
}

function authoriser(psp: CountingPsp, options: Partial<AuthoriserOptions> = {}): Authoriser {
  return new Authoriser({
    psp,
    store,
    audit,
    timeoutMs: 400,
    maxRetries: 2,
    retryBaseDelayMs: 10,
    sleep: (ms) => {
      sleeps.push(ms);
      return Promise.resolve();
    },
    ...options,
  });
}

const actions = async (sessionId: string): Promise<string[]> => (await audit.list({ sessionId })).map((a) => `${a.action}:${a.actor.kind}`);

describe('Authoriser', () => {
  it('writes the intent and its audit row before calling the PSP, then records the approval', async () => {
    const psp = new CountingPsp(['approve']);
    const s = await capturedSession();
    psp.onAuthorise = async (request) => {
      // What a crash at this instant would leave: the key on the session, a requested intent, an audit row.
      expect(await store.getSession(s.id)).toMatchObject({ status: 'authorising', idempotencyKey: request.idempotencyKey, cardBrand: 'visa', cardLast4: '4242' });
      expect(await store.getAuthorisation(request.idempotencyKey)).toMatchObject({ state: 'requested', sessionId: s.id, psp: 'counting', amountMinor: 4250, currency: 'EUR' });
      expect(await actions(s.id)).toEqual(['authorisation-requested:call']);
    };
    const result = await authoriser(psp).authorise(s, card(), CALL);
    // The caller hears the confirmation code the store gave the approved payment.
    const { confirmation } = (await store.getSession(s.id))!;
    expect(confirmation).toMatch(/^[A-Z2-9]{8}$/);
    expect(result).toEqual({ kind: 'approved', pspReference: 'psp_1', authCode: 'A1B2C3', confirmation });
    const request = psp.requests[0]!;
    expect(request).toEqual({ amountMinor: 4250, currency: 'EUR', reference: 'INV-1001', idempotencyKey: expect.stringMatching(/^idem_/), moto: true });
    expect(psp.signals[0]).toBeInstanceOf(AbortSignal);
    expect(await store.getAuthorisation(request.idempotencyKey)).toMatchObject({ state: 'approved', pspReference: 'psp_1', resolvedAt: expect.any(String) });
    expect(await store.getSession(s.id)).toMatchObject({ status: 'approved', pspReference: 'psp_1', authCode: 'A1B2C3', idempotencyKey: request.idempotencyKey });
    expect(await actions(s.id)).toEqual(['authorisation-requested:call', 'authorisation-approved:system']);
    expect((await audit.list({ sessionId: s.id }))[0]!.detail).toEqual({
      psp: 'counting',
      idempotencyKey: request.idempotencyKey,
      brand: 'visa',
      last4: '4242',
      amountMinor: 4250,
      currency: 'EUR',
    });
    expect(psp.charges.get(request.idempotencyKey)).toBe(1);
  });

  it('records a decline with its reason', async () => {
    const psp = new CountingPsp(['decline']);
    const s = await capturedSession();
    expect(await authoriser(psp).authorise(s, card(), CALL)).toEqual({ kind: 'declined', reason: 'do-not-honour' });
    const key = psp.requests[0]!.idempotencyKey;
    expect(await store.getSession(s.id)).toMatchObject({ status: 'declined', declineReason: 'do-not-honour', pspReference: expect.stringMatching(/^dcl_/) });
    expect(await store.getAuthorisation(key)).toMatchObject({ state: 'declined', detail: 'do-not-honour' });
    expect(await actions(s.id)).toEqual(['authorisation-requested:call', 'authorisation-declined:system']);
  });

  it('records a PSP error that is not retryable as error, after one call', async () => {
    const psp = new CountingPsp(['fatal']);
    const s = await capturedSession();
    expect(await authoriser(psp).authorise(s, card(), CALL)).toEqual({ kind: 'error', code: 'invalid-merchant' });
    expect(psp.calls).toBe(1);
    expect((await store.getSession(s.id))?.status).toBe('error');
    expect(await store.getAuthorisation(psp.requests[0]!.idempotencyKey)).toMatchObject({ state: 'error', detail: 'invalid-merchant' });
  });

  it('retries a retryable error with the same idempotency key and exponential back-off: one charge', async () => {
    const psp = new CountingPsp(['retryable', 'retryable', 'approve']);
    const s = await capturedSession();
    expect((await authoriser(psp).authorise(s, card(), CALL)).kind).toBe('approved');
    expect(psp.calls).toBe(3);
    const keys = psp.requests.map((r) => r.idempotencyKey);
    expect(keys[1]).toBe(keys[0]);
    expect(keys[2]).toBe(keys[0]);
    expect((await store.getSession(s.id))?.idempotencyKey).toBe(keys[0]);
    expect(sleeps).toEqual([10, 20]);
    expect(psp.charges.get(keys[0]!)).toBe(1);
    expect(await store.listAuthorisations({ sessionId: s.id })).toHaveLength(1);
  });

  it('retries a lost connection (a rejection) with the same key', async () => {
    const psp = new CountingPsp(['reject', 'approve']);
    const s = await capturedSession();
    expect((await authoriser(psp).authorise(s, card(), CALL)).kind).toBe('approved');
    expect(psp.requests.map((r) => r.idempotencyKey)).toEqual([psp.requests[0]!.idempotencyKey, psp.requests[0]!.idempotencyKey]);
  });

  it('leaves a PSP that never answers in doubt, never error, within one timeout', async () => {
    const psp = new CountingPsp(['hang', 'hang', 'hang']);
    const s = await capturedSession();
    const started = Date.now();
    expect(await authoriser(psp, { timeoutMs: 150 }).authorise(s, card(), CALL)).toEqual({ kind: 'in-doubt' });
    expect(Date.now() - started).toBeLessThan(1000);
    expect(psp.signals[0]?.aborted).toBe(true);
    const key = psp.requests[0]!.idempotencyKey;
    expect((await store.getSession(s.id))?.status).toBe('in_doubt');
    expect(await store.getAuthorisation(key)).toMatchObject({ state: 'in_doubt', detail: 'no-answer', resolvedAt: null });
    expect(await actions(s.id)).toEqual(['authorisation-requested:call', 'authorisation-in-doubt:system']);
    expect(psp.charges.get(key)).toBe(1);
  });

  it('is in doubt on time even when the adapter ignores the abort signal', async () => {
    const psp = new CountingPsp(['hang-deaf']);
    const started = Date.now();
    expect(await authoriser(psp, { timeoutMs: 100, maxRetries: 0 }).authorise(await capturedSession(), card(), CALL)).toEqual({ kind: 'in-doubt' });
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('is in doubt, not error, when the PSP still fails with a retryable error after the last retry', async () => {
    const psp = new CountingPsp(['retryable', 'retryable', 'retryable', 'approve']);
    const s = await capturedSession();
    expect(await authoriser(psp).authorise(s, card(), CALL)).toEqual({ kind: 'in-doubt' });
    expect(psp.calls).toBe(3);
    expect((await store.getSession(s.id))?.status).toBe('in_doubt');
  });

  it('stops retrying at the deadline: the back-off never outlasts timeoutMs', async () => {
    let clock = 0;
    const psp = new CountingPsp(['retryable', 'retryable', 'retryable']);
    const a = authoriser(psp, {
      timeoutMs: 1000,
      maxRetries: 5,
      retryBaseDelayMs: 400,
      now: () => new Date(clock),
      sleep: (ms) => {
        sleeps.push(ms);
        clock += ms;
        return Promise.resolve();
      },
    });
    expect(await a.authorise(await capturedSession(), card(), CALL)).toEqual({ kind: 'in-doubt' });
    expect(sleeps).toEqual([400, 600]);
    expect(psp.calls).toBe(2);
  });

  it('reuses the idempotency key already on the session', async () => {
    const psp = new CountingPsp(['approve']);
    const s = await store.updateSession((await capturedSession()).id, { idempotencyKey: 'idem_from_before' });
    await authoriser(psp).authorise(s, card(), CALL);
    expect(psp.requests[0]!.idempotencyKey).toBe('idem_from_before');
    expect((await store.getAuthorisation('idem_from_before'))?.state).toBe('approved');
  });

  it('does not send a settled payment again: it reports the recorded outcome', async () => {
    const psp = new CountingPsp(['approve', 'approve']);
    const s = await capturedSession();
    const a = authoriser(psp);
    const first = await a.authorise(s, card(), CALL);
    expect(await a.authorise(s, card(), CALL)).toEqual(first);
    expect(psp.calls).toBe(1);
  });

  it('shares one call between two concurrent requests for the same payment', async () => {
    const psp = new CountingPsp(['approve', 'approve']);
    const s = await capturedSession();
    const a = authoriser(psp);
    const [one, two] = await Promise.all([a.authorise(s, card(), CALL), a.authorise(s, card(), CALL)]);
    expect(one).toEqual(two);
    expect(psp.calls).toBe(1);
  });

  it('does not call the PSP when the store is closed', async () => {
    const psp = new CountingPsp(['approve']);
    const s = await capturedSession();
    await store.close();
    expect(await authoriser(psp).authorise(s, card(), CALL)).toEqual({ kind: 'error', code: 'store-unavailable' });
    expect(psp.calls).toBe(0);
  });

  it.each(['recordAuthorisationIntent', 'updateSession', 'append'] as const)(
    'does not call the PSP when %s fails',
    async (method) => {
      const psp = new CountingPsp(['approve']);
      const s = await capturedSession();
      const a =
        method === 'append'
          ? new Authoriser({ psp, store, audit: failing(audit, method), timeoutMs: 400 })
          : new Authoriser({ psp, store: failing<PaymentStore>(store, method), audit, timeoutMs: 400 });
      expect(await a.authorise(s, card(), CALL)).toEqual({ kind: 'error', code: 'store-unavailable' });
      expect(psp.calls).toBe(0);
    },
  );

  it('charges a stored card under the same rules: its key, the intent and audit row first, the token not stored again, in doubt without an answer', async () => {
    const token = { sessionId: 'pay_x', psp: 'counting', token: 'tok_1', customer: 'cust-1', cardBrand: 'visa' as const, cardLast4: '4242', createdAt: '' };
    const charge = (key: string) =>
      store.createSession({ mode: 'merchant-initiated', reference: 'SUB-1', amountMinor: 990, currency: 'EUR', idempotencyKey: key, storedCardToken: 'tok_1', customerReference: 'cust-1' });
    const psp = new CountingPsp(['approve', 'hang']);
    const s = await charge('mit-a');
    const result = await authoriser(psp).chargeStoredCard(s, token, { kind: 'api-key', id: 'k1' });
    expect(result).toMatchObject({ kind: 'approved', pspReference: 'psp_1' });
    expect(psp.storedCharges).toEqual([
      { amountMinor: 990, currency: 'EUR', reference: 'SUB-1', idempotencyKey: 'mit-a', storedCard: { token: 'tok_1', customer: 'cust-1' } },
    ]);
    expect(psp.requests).toEqual([]);
    expect(await store.getSession(s.id)).toMatchObject({ status: 'approved', idempotencyKey: 'mit-a', cardBrand: 'visa', cardLast4: '4242' });
    expect(await actions(s.id)).toEqual(['authorisation-requested:api-key', 'authorisation-approved:system']);
    expect((await audit.list({ sessionId: s.id }))[0]!.detail).toMatchObject({ storedCard: 'tok_1', idempotencyKey: 'mit-a' });

    const lost = await charge('mit-b');
    expect(await authoriser(psp, { timeoutMs: 50, maxRetries: 0 }).chargeStoredCard(lost, token, CALL)).toEqual({ kind: 'in-doubt' });
    expect((await store.getSession(lost.id))!.status).toBe('in_doubt');
    expect((await store.getAuthorisation('mit-b'))!.state).toBe('in_doubt');
  });

  it('tells the caller what the PSP said even when the answer cannot be stored, leaving the intent for the reconciler', async () => {
    const psp = new CountingPsp(['approve']);
    const s = await capturedSession();
    psp.onAuthorise = () => {
      store.database.pragma('query_only = ON');
    };
    const result = await authoriser(psp).authorise(s, card(), CALL);
    store.database.pragma('query_only = OFF');
    // No confirmation code could be stored: the caller hears the PSP's authorisation code instead.
    expect(result).toEqual({ kind: 'approved', pspReference: 'psp_1', authCode: 'A1B2C3', confirmation: 'A1B2C3' });
    expect((await store.getAuthorisation(psp.requests[0]!.idempotencyKey))?.state).toBe('requested');
  });

  it('writes no card number, expiry or security code anywhere in the database', async () => {
    const psp = new CountingPsp(['retryable', 'approve', 'decline', 'hang']);
    await authoriser(psp).authorise(await capturedSession(), card(), CALL);
    await authoriser(psp).authorise(await capturedSession(), card(), CALL);
    await authoriser(psp, { timeoutMs: 50, maxRetries: 0 }).authorise(await capturedSession(), card(), CALL);
    const everything = JSON.stringify([(await store.listSessions({})), (await store.listAuthorisations({})), (await audit.list({}))]);
    expect(findCardDataInText(everything, [VISA])).toEqual([]);
    expect(everything).not.toMatch(/expir|securityCode|cvv|"pan"/i);
    await store.close();
    expect(findCardDataInFiles(dir, [VISA])).toEqual([]);
  });
});

/** A store (or audit log) with one method throwing, as a full disk or a locked file would. */
function failing<T extends object>(inner: T, method: keyof T): T {
  return new Proxy(inner, {
    get(target, prop) {
      if (prop === method) {
        return () => {
          throw new Error('SQLITE_FULL: database or disk is full');
        };
      }
      const value: unknown = Reflect.get(target, prop);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

