import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ReversalState } from '../../../domain/payment-lifecycle.js';
import { SqlitePaymentStore } from '../../../store/sqlite-payment-store.js';
import { SqlitePspRecordStore } from '../../../store/sqlite-psp-record-store.js';
import { IdempotencyKeyConflictError, InvalidReversalTransitionError, ReversalNotFoundError } from '../../../store/store-errors.js';

const SUPERVISOR = { kind: 'supervisor', id: 'sue' } as const;
const T0 = Date.parse('2030-01-02T03:04:05.000Z');

let dir: string;
let clock: number;
let store: SqlitePaymentStore;
let records: SqlitePspRecordStore;
const now = (): Date => new Date(clock);

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'psp-records-'));
  clock = T0;
  store = new SqlitePaymentStore({ dataDir: dir, now });
  records = new SqlitePspRecordStore(store.database, now);
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

function requestRefund(key = 'rev_1') {
  const session = store.createSession({ mode: 'direct', reference: 'INV-1', amountMinor: 4250, currency: 'EUR' });
  return records.recordReversalIntent({ idempotencyKey: key, sessionId: session.id, kind: 'refund', psp: 'sandbox', amountMinor: 1000, currency: 'EUR', actor: SUPERVISOR });
}

describe('reversal states', () => {
  // payment-lifecycle.ts: requested → pending | succeeded | refused | error | in_doubt;
  // pending → succeeded | refused; in_doubt → pending | succeeded | refused | error. Final states never change.
  const LEGAL: Record<ReversalState, ReversalState[]> = {
    requested: ['pending', 'succeeded', 'refused', 'error', 'in_doubt'],
    pending: ['succeeded', 'refused'],
    in_doubt: ['pending', 'succeeded', 'refused', 'error'],
    succeeded: [],
    refused: [],
    error: [],
  };
  const STATES = Object.keys(LEGAL) as ReversalState[];
  const pairs = STATES.flatMap((from) => STATES.map((to) => [from, to, from === to || LEGAL[from].includes(to)] as const));

  it.each(pairs)('%s → %s allowed: %s', (from, to, allowed) => {
    requestRefund();
    if (from !== 'requested') records.resolveReversal('rev_1', { state: from });
    if (allowed) {
      expect(records.resolveReversal('rev_1', { state: to }).state).toBe(to);
      return;
    }
    let thrown: unknown;
    try {
      records.resolveReversal('rev_1', { state: to, detail: 'late' });
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(InvalidReversalTransitionError);
    expect(thrown).toMatchObject({ idempotencyKey: 'rev_1', from, to });
    // Nothing of a refused change is written.
    expect(records.getReversal('rev_1')).toMatchObject({ state: from, detail: null });
  });

  it('refuses an unknown key with ReversalNotFoundError, and a key used twice', () => {
    expect(() => records.resolveReversal('rev_nope', { state: 'succeeded' })).toThrow(ReversalNotFoundError);
    requestRefund();
    expect(() => requestRefund()).toThrow(IdempotencyKeyConflictError);
  });

  it('stamps resolvedAt when the state first becomes final; pending and in doubt leave it empty; unset fields are kept', () => {
    requestRefund();
    clock += 1000;
    expect(records.resolveReversal('rev_1', { state: 'in_doubt', detail: 'no-answer' })).toMatchObject({ detail: 'no-answer', resolvedAt: null });
    expect(records.resolveReversal('rev_1', { state: 'pending', pspReference: 're_1' })).toMatchObject({ pspReference: 're_1', detail: 'no-answer', resolvedAt: null });
    clock += 1000;
    const done = records.resolveReversal('rev_1', { state: 'succeeded', detail: null });
    expect(done).toMatchObject({ state: 'succeeded', pspReference: 're_1', detail: null, resolvedAt: '2030-01-02T03:04:07.000Z' });
    clock += 1000;
    expect(records.resolveReversal('rev_1', { state: 'succeeded' }).resolvedAt).toBe(done.resolvedAt);
  });
});
