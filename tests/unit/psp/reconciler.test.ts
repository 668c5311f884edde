import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Authoriser } from '../../../psp/authoriser.js';
import { Reconciler, type ReconcilerOptions } from '../../../psp/reconciler.js';
import type { PaymentSessionRecord } from '../../../store/payment-store.js';
import { SqliteAuditLog } from '../../../store/sqlite-audit-log.js';
import { SqlitePaymentStore } from '../../../store/sqlite-payment-store.js';
import { CardData } from '../../../vault/card-data.js';
import { findCardDataInFiles } from '../../support/card-scan.js';
import { CountingPsp } from './counting-psp.js';

// Public test card numbers only (Stripe's documented Visa test card).
const VISA = '4242424242424242';
const CALL = { kind: 'call', id: 'call-1' } as const;
const T0 = Date.parse('2030-01-02T03:04:05.000Z');

let dir: string;
let store: SqlitePaymentStore;
let audit: SqliteAuditLog;
let clock: number;
const now = (): Date => new Date(clock);
let logged: { level: string; msg: string }[];
const logger = {
  info: (_o: object, msg: string) => logged.push({ level: 'info', msg }),
  warn: (_o: object, msg: string) => logged.push({ level: 'warn', msg }),
  error: (_o: object, msg: string) => logged.push({ level: 'error', msg }),
} as unknown as Logger;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'reconciler-'));
  clock = T0;
  logged = [];
  store = new SqlitePaymentStore({ dataDir: dir, now });
  audit = new SqliteAuditLog(store.database, { key: randomBytes(32), now });
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const card = (): CardData => new CardData({ pan: VISA, expiry: '1230', securityCode: '123', brand: 'visa' });
const reconciler = (psp: CountingPsp, options: Partial<ReconcilerOptions> = {}): Reconciler =>
  new Reconciler({ psp, store, audit, now, logger, ...options });

async function capturedSession(): Promise<PaymentSessionRecord> {
  const s = await store.createSession({ mode: 'direct', reference: 'INV-1', amountMinor: 990, currency: 'GBP' });
  return store.updateSession(s.id, { status: 'capturing' });
}

/** What a process that died after writing the intent, before the PSP answered, leaves behind. */
async function crashedMidAuthorisation(key: string): Promise<PaymentSessionRecord> {
  const s = await capturedSession();
  await store.updateSession(s.id, { status: 'authorising', idempotencyKey: key, cardBrand: 'visa', cardLast4: '4242' });
  await store.recordAuthorisationIntent({ idempotencyKey: key, sessionId: s.id, psp: 'counting', amountMinor: 990, currency: 'GBP' });
  await audit.append({ sessionId: s.id, actor: CALL, action: 'authorisation-requested', detail: { idempotencyKey: key } });
  return s;
}

/** An authorisation the authoriser left in doubt: the PSP charged, the answer was lost. */
async function inDoubt(psp: CountingPsp): Promise<{ session: PaymentSessionRecord; key: string }> {
  const session = await capturedSession();
  const result = await new Authoriser({ psp, store, audit, timeoutMs: 50, maxRetries: 0 }).authorise(session, card(), CALL);
  expect(result).toEqual({ kind: 'in-doubt' });
  return { session, key: psp.requests.at(-1)!.idempotencyKey };
}

const trail = async (sessionId: string): Promise<string[]> =>
  (await audit.list({ sessionId })).map((a) => `${a.action}:${a.actor.kind}/${a.actor.id}`);

describe('Reconciler.reconcileOnce', () => {
  it('settles an in-doubt payment the PSP approved', async () => {
    const psp = new CountingPsp(['hang']);
    const { session, key } = await inDoubt(psp);
    clock += 1000;
    expect(await reconciler(psp).reconcileOnce()).toEqual({ checked: 1, resolved: 1, stillInDoubt: 0 });
    expect(psp.lookups).toEqual([key]);
    expect(await store.getSession(session.id)).toMatchObject({ status: 'approved', pspReference: 'psp_1', authCode: 'A1B2C3' });
    expect(await store.getAuthorisation(key)).toMatchObject({ state: 'approved', pspReference: 'psp_1', resolvedAt: '2030-01-02T03:04:06.000Z' });
    expect(await trail(session.id)).toEqual([
      'authorisation-requested:call/call-1',
      'authorisation-in-doubt:system/authoriser',
      'authorisation-reconciled:system/reconciler',
    ]);
    expect((await audit.list({ sessionId: session.id })).at(-1)!.detail).toEqual({ idempotencyKey: key, outcome: 'approved', state: 'approved', pspReference: 'psp_1' });
    expect(psp.charges.get(key)).toBe(1);
    // Nothing left to do.
    expect(await reconciler(psp).reconcileOnce()).toEqual({ checked: 0, resolved: 0, stillInDoubt: 0 });
    expect((await audit.verify()).ok).toBe(true);
  });

  it('moves an intent left requested by a crash to in doubt (audited), then reconciles it', async () => {
    const psp = new CountingPsp();
    const s = await crashedMidAuthorisation('idem_crashed');
    psp.ledger.set('idem_crashed', { kind: 'declined', reason: 'insufficient-funds', pspReference: 'dcl_9' });
    psp.lookupAnswer = async (key) => {
      // By the time the PSP is asked, the payment is recorded as in doubt.
      expect((await store.getSession(s.id))?.status).toBe('in_doubt');
      expect(await store.getAuthorisation(key)).toMatchObject({ state: 'in_doubt', detail: 'interrupted' });
      return Promise.resolve(psp.ledger.get(key)!);
    };
    clock += 5000; // the process restarts
    expect(await reconciler(psp).reconcileOnce()).toEqual({ checked: 1, resolved: 1, stillInDoubt: 0 });
    expect(await store.getSession(s.id)).toMatchObject({ status: 'declined', declineReason: 'insufficient-funds', pspReference: 'dcl_9' });
    expect(await store.getAuthorisation('idem_crashed')).toMatchObject({ state: 'declined', detail: 'insufficient-funds', pspReference: 'dcl_9' });
    expect(await trail(s.id)).toEqual([
      'authorisation-requested:call/call-1',
      'authorisation-interrupted:system/reconciler',
      'authorisation-reconciled:system/reconciler',
    ]);
    expect((await audit.list({ sessionId: s.id }))[1]!.detail).toEqual({ idempotencyKey: 'idem_crashed', sessionStatus: 'authorising' });
  });

  it('marks a key the PSP never saw as error, not-found-at-psp: nothing was charged', async () => {
    const psp = new CountingPsp();
    const s = await crashedMidAuthorisation('idem_unseen');
    clock += 5000;
    expect(await reconciler(psp).reconcileOnce()).toEqual({ checked: 1, resolved: 1, stillInDoubt: 0 });
    expect((await store.getSession(s.id))?.status).toBe('error');
    expect(await store.getAuthorisation('idem_unseen')).toMatchObject({ state: 'error', detail: 'not-found-at-psp' });
    expect((await audit.list({ sessionId: s.id })).at(-1)).toMatchObject({
      action: 'authorisation-reconciled',
      actor: { kind: 'system', id: 'reconciler' },
      detail: { outcome: 'not-found', state: 'error' },
    });
  });

  it('records a definite PSP error with its code', async () => {
    const psp = new CountingPsp(['hang']);
    const { session, key } = await inDoubt(psp);
    psp.ledger.set(key, { kind: 'error', code: 'card-blocked', retryable: false });
    await reconciler(psp).reconcileOnce();
    expect((await store.getSession(session.id))?.status).toBe('error');
    expect(await store.getAuthorisation(key)).toMatchObject({ state: 'error', detail: 'card-blocked' });
  });

  it('keeps the payment in doubt while the PSP cannot answer (retryable error or no lookup)', async () => {
    const psp = new CountingPsp(['hang', 'hang']);
    const first = await inDoubt(psp);
    const second = await inDoubt(psp);
    psp.lookupAnswer = (key) =>
      key === first.key ? Promise.resolve({ kind: 'error', code: 'http-503', retryable: true }) : Promise.reject(new Error('ETIMEDOUT'));
    expect(await reconciler(psp).reconcileOnce()).toEqual({ checked: 2, resolved: 0, stillInDoubt: 2 });
    expect((await store.getSession(first.session.id))?.status).toBe('in_doubt');
    expect((await store.getSession(second.session.id))?.status).toBe('in_doubt');
    expect(logged.filter((l) => l.level === 'warn')).toHaveLength(1);
    psp.lookupAnswer = undefined;
    expect(await reconciler(psp).reconcileOnce()).toEqual({ checked: 2, resolved: 2, stillInDoubt: 0 });
  });

  it('leaves a requested intent of a live authoriser alone until it is stale', async () => {
    const psp = new CountingPsp();
    const r = reconciler(psp, { staleAfterMs: 60_000 });
    clock += 1000; // written after this reconciler started: someone may be waiting for the PSP
    const s = await crashedMidAuthorisation('idem_live');
    expect(await r.reconcileOnce()).toEqual({ checked: 0, resolved: 0, stillInDoubt: 0 });
    expect((await store.getAuthorisation('idem_live'))?.state).toBe('requested');
    expect((await store.getSession(s.id))?.status).toBe('authorising');
    clock += 60_000;
    expect(await r.reconcileOnce()).toEqual({ checked: 1, resolved: 1, stillInDoubt: 0 });
    expect(await store.getAuthorisation('idem_live')).toMatchObject({ state: 'error', detail: 'not-found-at-psp' });
    expect(await trail(s.id)).toContain('authorisation-interrupted:system/reconciler');
  });

  it('shares one pass between concurrent calls', async () => {
    const psp = new CountingPsp(['hang']);
    await inDoubt(psp);
    const r = reconciler(psp);
    const [a, b] = await Promise.all([r.reconcileOnce(), r.reconcileOnce()]);
    expect(a).toBe(b);
    expect(psp.lookups).toHaveLength(1);
  });

  it('does not overwrite a session already settled otherwise, and says so', async () => {
    const psp = new CountingPsp(['hang']);
    const { session, key } = await inDoubt(psp);
    await store.updateSession(session.id, { status: 'error' });
    await reconciler(psp).reconcileOnce();
    expect((await store.getSession(session.id))?.status).toBe('error');
    expect((await store.getAuthorisation(key))?.state).toBe('approved');
    expect((await audit.list({ sessionId: session.id })).at(-1)!.detail).toMatchObject({ outcome: 'approved', sessionStatus: 'error' });
    expect(logged.some((l) => l.level === 'error')).toBe(true);
  });
});

describe('Reconciler.start / stop', () => {
  it('runs at once, then every interval, until stopped', async () => {
    const psp = new CountingPsp();
    await crashedMidAuthorisation('idem_a');
    psp.lookupAnswer = () => Promise.resolve({ kind: 'error', code: 'http-503', retryable: true });
    clock += 1000;
    const r = reconciler(psp, { intervalMs: 20 });
    r.start();
    r.start(); // a second start adds no second timer
    // The first pass starts at once: the crashed intent is in doubt and being looked up.
    await waitFor(() => psp.lookups.length >= 1);
    expect((await store.getAuthorisation('idem_a'))?.state).toBe('in_doubt');
    expect(psp.lookups[0]).toBe('idem_a');
    await waitFor(() => psp.lookups.length >= 3);
    r.stop();
    r.stop();
    const seen = psp.lookups.length;
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(psp.lookups.length).toBeLessThanOrEqual(seen + 1);
  });
});

describe('card data', () => {
  it('leaves no card number in any byte of the data directory', async () => {
    const psp = new CountingPsp(['hang', 'hang']);
    await inDoubt(psp);
    await crashedMidAuthorisation('idem_c');
    clock += 5000;
    await reconciler(psp).reconcileOnce();
    await store.close();
    expect(findCardDataInFiles(dir, [VISA])).toEqual([]);
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 2000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
