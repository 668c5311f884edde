import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Authoriser, type PspCallOutcome } from '../../../psp/authoriser.js';
import { SqliteAuditLog } from '../../../store/sqlite-audit-log.js';
import { SqlitePaymentStore } from '../../../store/sqlite-payment-store.js';
import { CardData } from '../../../vault/card-data.js';
import { CountingPsp, type PspStep } from './counting-psp.js';

// Public test card number (Stripe's documented Visa test card).
const VISA = '4242424242424242';

let dir: string;
let store: SqlitePaymentStore;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'authoriser-latency-'));
  store = new SqlitePaymentStore({ dataDir: dir });
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Runs one authorisation against a PSP scripted with `steps`; returns what `onPspCall` was told. */
async function pspCalls(steps: PspStep[]): Promise<{ psp: string; outcome: PspCallOutcome; seconds: number }[]> {
  const seen: { psp: string; outcome: PspCallOutcome; seconds: number }[] = [];
  const authoriser = new Authoriser({
    psp: new CountingPsp(steps),
    store,
    audit: new SqliteAuditLog(store.database, { key: randomBytes(32) }),
    timeoutMs: 300,
    maxRetries: 2,
    sleep: () => Promise.resolve(),
    onPspCall: (psp, outcome, seconds) => void seen.push({ psp, outcome, seconds }),
  });
  const created = await store.createSession({ mode: 'direct', reference: 'INV-1', amountMinor: 100, currency: 'EUR', callId: 'c' });
  const session = await store.updateSession(created.id, { status: 'capturing' });
  await authoriser.authorise(session, new CardData({ pan: VISA, expiry: '1230', securityCode: '123', brand: 'visa' }), { kind: 'call', id: 'c' });
  return seen;
}

describe('Authoriser PSP latency', () => {
  it('reports each request to the PSP, retries on their own, by PSP name and outcome', async () => {
    const seen = await pspCalls(['retryable', 'reject', 'approve']);
    expect(seen.map((s) => `${s.psp}:${s.outcome}`)).toEqual(['counting:error', 'counting:no-answer', 'counting:approved']);
    for (const { seconds } of seen) expect(seconds).toBeGreaterThanOrEqual(0);
  });

  it('reports a decline, and a PSP that never answers as no-answer', async () => {
    expect((await pspCalls(['decline'])).map((s) => s.outcome)).toEqual(['declined']);
    expect((await pspCalls(['hang-deaf'])).map((s) => s.outcome)).toEqual(['no-answer']);
  });
});
