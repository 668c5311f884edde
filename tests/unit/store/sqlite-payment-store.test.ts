import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqlitePaymentStore } from '../../../store/sqlite-payment-store.js';
import {
  IdempotencyKeyConflictError,
  InvalidStatusTransitionError,
  PaymentNotFoundError,
} from '../../../store/store-errors.js';

const CALL = { kind: 'call', id: 'call-1' } as const;
let dir: string;
let store: SqlitePaymentStore;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'store-test-'));
  store = new SqlitePaymentStore({ dataDir: dir });
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

function session() {
  return store.createSession({ mode: 'direct', reference: '1001', amountMinor: 4250, currency: 'EUR', callId: 'call-1' });
}

describe('payment sessions', () => {
  it('creates, reads, updates and lists', () => {
    const s = session();
    expect(s).toMatchObject({ status: 'pending', reference: '1001', amountMinor: 4250, currency: 'EUR', cardLast4: null });
    expect(s.id).toMatch(/^pay_[0-9a-f]{20}$/);
    const updated = store.updateSession(s.id, { status: 'capturing', cardBrand: 'visa', cardLast4: '4242' });
    expect(updated).toMatchObject({ status: 'capturing', cardBrand: 'visa', cardLast4: '4242' });
    expect(store.listSessions({ reference: '1001' }).map((x) => x.id)).toEqual([s.id]);
    expect(store.listSessions({ status: 'approved' })).toEqual([]);
  });

  it('follows the lifecycle and refuses illegal moves', () => {
    const s = session();
    expect(() => store.updateSession(s.id, { status: 'approved' })).toThrow(InvalidStatusTransitionError);
    store.updateSession(s.id, { status: 'authorising' });
    store.updateSession(s.id, { status: 'in_doubt' });
    store.updateSession(s.id, { status: 'approved' });
    expect(() => store.updateSession(s.id, { status: 'declined' })).toThrow(InvalidStatusTransitionError);
    expect(() => store.updateSession('pay_nope', { status: 'capturing' })).toThrow(PaymentNotFoundError);
  });

  it('refuses what is not a last four in the database itself', () => {
    const s = session();
    expect(() => store.updateSession(s.id, { cardLast4: '42424242' })).toThrow(/CHECK constraint/);
  });
});

describe('capture attempts and authorisation intents', () => {
  it('records attempts in order', () => {
    const s = session();
    store.recordCaptureAttempt({ sessionId: s.id, field: 'card-number', attempt: 1, outcome: 'invalid-card-number' });
    store.recordCaptureAttempt({ sessionId: s.id, field: 'card-number', attempt: 2, outcome: 'accepted' });
    expect(store.listCaptureAttempts(s.id).map((a) => a.outcome)).toEqual(['invalid-card-number', 'accepted']);
  });

  it('writes an intent once per key and resolves it', () => {
    const s = session();
    const intent = { idempotencyKey: 'k1', sessionId: s.id, psp: 'sandbox', amountMinor: 4250, currency: 'EUR' };
    expect(store.recordAuthorisationIntent(intent).state).toBe('requested');
    expect(store.recordAuthorisationIntent(intent).state).toBe('requested');
    const other = session();
    expect(() => store.recordAuthorisationIntent({ ...intent, sessionId: other.id })).toThrow(IdempotencyKeyConflictError);
    store.resolveAuthorisation('k1', { state: 'in_doubt', detail: 'no-answer' });
    expect(store.listAuthorisations({ state: 'in_doubt' }).map((a) => a.idempotencyKey)).toEqual(['k1']);
    const done = store.resolveAuthorisation('k1', { state: 'approved', pspReference: 'sbx_1' });
    expect(done).toMatchObject({ state: 'approved', pspReference: 'sbx_1', detail: 'no-answer' });
    expect(done.resolvedAt).not.toBeNull();
  });
});

describe('audit trail', () => {
  function fill(n: number): void {
    for (let i = 0; i < n; i++) store.appendAudit({ sessionId: null, actor: CALL, action: `step-${i}`, detail: { i, b: 'x', a: 1 } });
  }

  it('chains every row to the one before and verifies', () => {
    fill(5);
    const rows = store.listAudit({});
    expect(rows.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(rows[0]!.prevHash).toBe('0'.repeat(64));
    for (let i = 1; i < rows.length; i++) expect(rows[i]!.prevHash).toBe(rows[i - 1]!.hash);
    expect(store.verifyAudit()).toEqual({ ok: true, rows: 5 });
  });

  it('is append-only inside SQLite', () => {
    fill(2);
    const raw = new Database(store.path);
    expect(() => raw.prepare("UPDATE audit_log SET action = 'x' WHERE seq = 1").run()).toThrow(/append-only/);
    expect(() => raw.prepare('DELETE FROM audit_log WHERE seq = 1').run()).toThrow(/append-only/);
    raw.close();
  });

  it('finds a row edited directly in the database file', () => {
    fill(6);
    store.close();
    const raw = new Database(join(dir, 'payments.db'));
    raw.exec('DROP TRIGGER audit_log_no_update');
    raw.prepare(`UPDATE audit_log SET detail = '{"i":99}' WHERE seq = 4`).run();
    raw.close();
    store = new SqlitePaymentStore({ dataDir: dir });
    expect(store.verifyAudit()).toMatchObject({ ok: false, firstBrokenSeq: 4 });
  });

  it('finds a deleted row', () => {
    fill(6);
    store.close();
    const raw = new Database(join(dir, 'payments.db'));
    raw.exec('DROP TRIGGER audit_log_no_delete');
    raw.prepare('DELETE FROM audit_log WHERE seq = 3').run();
    raw.close();
    store = new SqlitePaymentStore({ dataDir: dir });
    expect(store.verifyAudit()).toMatchObject({ ok: false, firstBrokenSeq: 4 });
  });

  it('keeps the chain across a restart', () => {
    fill(3);
    store.close();
    store = new SqlitePaymentStore({ dataDir: dir });
    fill(2);
    expect(store.verifyAudit()).toEqual({ ok: true, rows: 5 });
  });
});

describe('readiness and contents', () => {
  it('probes writability and keeps no card data columns', () => {
    expect(store.isWritable()).toBe(true);
    const raw = new Database(store.path, { readonly: true });
    const columns = raw
      .prepare("SELECT name FROM pragma_table_info('payment_sessions') UNION SELECT name FROM pragma_table_info('authorisations')")
      .all()
      .map((r) => (r as { name: string }).name);
    raw.close();
    expect(columns.filter((c) => /pan|card_number|expiry|cvv|cvc|security/.test(c))).toEqual([]);
    expect(readdirSync(dir).some((f) => f.startsWith('payments.db'))).toBe(true);
    expect(readFileSync(store.path).length).toBeGreaterThan(0);
  });
});
