import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CARD_BRANDS } from '../../../domain/card-brand.js';
import type { PaymentStatus } from '../../../domain/payment-types.js';
import { MIGRATIONS } from '../../../store/migrations.js';
import type { AuthorisationState } from '../../../domain/payment-lifecycle.js';
import { SqlitePaymentStore } from '../../../store/sqlite-payment-store.js';
import {
  AuthorisationNotFoundError,
  IdempotencyKeyConflictError,
  InvalidAuthorisationTransitionError,
  InvalidStatusTransitionError,
  PaymentNotFoundError,
  SchemaVersionError,
} from '../../../store/store-errors.js';

const CALL = { kind: 'call', id: 'call-1' } as const;
const T0 = Date.parse('2030-01-02T03:04:05.000Z');

let dir: string;
let clock: number;
let store: SqlitePaymentStore;
const now = (): Date => new Date(clock);
const tick = (ms = 1000): void => {
  clock += ms;
};
const open = (): SqlitePaymentStore => new SqlitePaymentStore({ dataDir: dir, now });

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'payment-store-'));
  clock = T0;
  store = open();
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

function newSession(reference = '1001') {
  return store.createSession({ mode: 'direct', reference, amountMinor: 4250, currency: 'EUR', callId: 'call-1' });
}

/** A second connection to the same file, as an operator (or an attacker) with sqlite3 would have. */
function raw(): Database.Database {
  return new Database(join(dir, 'payments.db'));
}

describe('opening the database', () => {
  it('lives in <dataDir>/payments.db, WAL, foreign keys on, busy timeout, migrated, owner-only', () => {
    expect(store.path).toBe(join(dir, 'payments.db'));
    const db = store.database;
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(db.pragma('busy_timeout', { simple: true })).toBe(5000);
    expect(db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
    expect(statSync(store.path).mode & 0o777).toBe(0o600);
  });

  it('creates a missing data folder', () => {
    store.close();
    const nested = join(dir, 'a', 'b');
    store = new SqlitePaymentStore({ dataDir: nested });
    expect(existsSync(join(nested, 'payments.db'))).toBe(true);
  });

  it('takes a file path instead, as an option or a string, and :memory:', () => {
    store.close();
    const file = join(dir, 'other.db');
    store = new SqlitePaymentStore({ file, busyTimeoutMs: 250 });
    expect(store.path).toBe(file);
    expect(store.database.pragma('busy_timeout', { simple: true })).toBe(250);
    store.close();
    store = new SqlitePaymentStore(file);
    expect(store.path).toBe(file);
    store.close();
    store = new SqlitePaymentStore({ file: ':memory:' });
    expect(newSession().status).toBe('pending');
    expect(() => new SqlitePaymentStore({})).toThrow(TypeError);
  });

  it('migrates once and keeps its data across a reopen', () => {
    const s = newSession();
    store.close();
    store = open();
    expect(store.getSession(s.id)?.id).toBe(s.id);
    expect(store.database.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
  });

  it('rebuilds the sessions table for merchant-initiated charges (migration 8) and the reversals for captures (9), keeping every row and the rows that point at them', () => {
    store.close();
    rmSync(join(dir, 'payments.db'), { force: true });
    const db = raw();
    db.pragma('foreign_keys = ON');
    for (const [i, sql] of MIGRATIONS.slice(0, 7).entries()) {
      db.exec(sql);
      db.pragma(`user_version = ${i + 1}`);
    }
    db.prepare(`INSERT INTO payment_sessions (id, mode, reference, amount_minor, currency, status, created_at, updated_at, confirmation, psp_reference)
      VALUES ('pay_old', 'direct', '1001', 4250, 'EUR', 'approved', 't', 't', 'ABCDEFGH', 'psp-old')`).run();
    db.prepare(`INSERT INTO authorisations (idempotency_key, session_id, psp, amount_minor, currency, state, requested_at) VALUES ('k-old', 'pay_old', 'sandbox', 4250, 'EUR', 'approved', 't')`).run();
    db.prepare(`INSERT INTO payment_tokens (session_id, psp, token, customer, created_at) VALUES ('pay_old', 'sandbox', 'sbxtok_1', 'c1', 't')`).run();
    db.prepare(`INSERT INTO reversals (idempotency_key, session_id, kind, psp, amount_minor, currency, state, actor_kind, actor_id, requested_at)
      VALUES ('rev-old', 'pay_old', 'refund', 'sandbox', 100, 'EUR', 'succeeded', 'supervisor', 'sue', 't')`).run();
    db.close();

    store = open();
    expect(store.database.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
    expect(store.database.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(store.database.pragma('foreign_key_check')).toEqual([]);
    expect(store.getSession('pay_old')).toMatchObject({ status: 'approved', confirmation: 'ABCDEFGH', storedCardToken: null });
    expect(store.getAuthorisation('k-old')).toMatchObject({ sessionId: 'pay_old', state: 'approved' });
    expect(store.listSessions({ pspReference: 'psp-old' })).toHaveLength(1);
    // Migration 9 rebuilt the reversals for captures: the old rows are there, a capture may be written.
    expect(store.database.prepare(`SELECT kind, amount_minor FROM reversals`).all()).toEqual([{ kind: 'refund', amount_minor: 100 }]);
    store.database
      .prepare(`INSERT INTO reversals (idempotency_key, session_id, kind, psp, amount_minor, currency, state, actor_kind, actor_id, requested_at)
        VALUES ('cap-1', 'pay_old', 'capture', 'sandbox', 100, 'EUR', 'requested', 'supervisor', 'sue', 't')`)
      .run();
    expect(() => store.database.prepare(`UPDATE reversals SET amount_minor = 5 WHERE idempotency_key = 'cap-1'`).run()).toThrow(/cannot change/);
    // The children still point at the table: a row for an unknown session is refused.
    expect(() => store.recordAuthorisationIntent({ idempotencyKey: 'k2', sessionId: 'pay_nope', psp: 's', amountMinor: 1, currency: 'EUR' })).toThrow(PaymentNotFoundError);
    expect(() => store.database.prepare(`INSERT INTO capture_attempts (session_id, field, attempt, outcome, at) VALUES ('pay_nope', 'expiry', 1, 'accepted', 't')`).run()).toThrow(/FOREIGN KEY/);
    // The checks of migration 3 came back with the table.
    expect(() => store.database.prepare(`UPDATE payment_sessions SET card_brand = 'nope' WHERE id = 'pay_old'`).run()).toThrow(/card_brand/);
    // A merchant-initiated session names its token; no other mode may.
    const mit = store.createSession({ mode: 'merchant-initiated', reference: 'SUB', amountMinor: 100, currency: 'EUR', idempotencyKey: 'mit-1', storedCardToken: 'sbxtok_1' });
    expect(mit).toMatchObject({ mode: 'merchant-initiated', storedCardToken: 'sbxtok_1', idempotencyKey: 'mit-1', status: 'pending' });
    expect(() => store.createSession({ mode: 'merchant-initiated', reference: 'SUB', amountMinor: 100, currency: 'EUR' })).toThrow(/CHECK/);
    expect(() => store.createSession({ mode: 'direct', reference: 'SUB', amountMinor: 100, currency: 'EUR', storedCardToken: 'sbxtok_1' })).toThrow(/CHECK/);
  });

  it('refuses a database from a newer build', () => {
    store.close();
    const db = raw();
    db.pragma(`user_version = ${MIGRATIONS.length + 1}`);
    db.close();
    expect(() => open()).toThrow(SchemaVersionError);
  });
});

describe('schema', () => {
  it('has no column that could hold a card number, expiry or security code', () => {
    const columns = store.database
      .prepare("SELECT m.name AS tbl, p.name AS col FROM sqlite_master m, pragma_table_info(m.name) p WHERE m.type = 'table'")
      .all() as { tbl: string; col: string }[];
    expect(columns.length).toBeGreaterThan(20);
    expect(columns.filter((c) => /pan|card_?number|expir|cvv|cvc|security|track|pin/i.test(c.col))).toEqual([]);
  });

  it('checks amounts, currencies, last four, brands and decline reasons in the database itself', () => {
    const bad = (input: object) => () => store.createSession({ mode: 'direct', reference: 'r', amountMinor: 1, currency: 'EUR', ...input });
    expect(bad({ amountMinor: -1 })).toThrow(/CHECK constraint/);
    expect(bad({ amountMinor: 12.5 })).toThrow(/integer/);
    expect(bad({ currency: 'eur' })).toThrow(/CHECK constraint/);
    expect(bad({ currency: 'EURO' })).toThrow(/CHECK constraint/);
    expect(bad({ mode: 'walk-in' })).toThrow(/CHECK constraint/);
    const s = newSession();
    expect(() => store.updateSession(s.id, { cardLast4: '42424242' })).toThrow(/CHECK constraint/);
    expect(() => store.updateSession(s.id, { cardLast4: '42a2' })).toThrow(/CHECK constraint/);
    expect(() => store.updateSession(s.id, { cardBrand: '4242424242424242' as never })).toThrow(/card_brand/);
    expect(() => store.updateSession(s.id, { declineReason: 'because' as never })).toThrow(/decline_reason/);
    for (const brand of CARD_BRANDS) expect(store.updateSession(s.id, { cardBrand: brand }).cardBrand).toBe(brand);
    expect(() => store.database.prepare("UPDATE payment_sessions SET status = 'paid' WHERE id = ?").run(s.id)).toThrow(/CHECK constraint/);
    const intent = { idempotencyKey: 'k', sessionId: s.id, psp: 'p', amountMinor: 1.5, currency: 'EUR' };
    expect(() => store.recordAuthorisationIntent(intent)).toThrow(/integer/);
    expect(() => store.recordAuthorisationIntent({ ...intent, amountMinor: 1, currency: 'eu' })).toThrow(/currency/);
  });
});

describe('payment sessions', () => {
  it('creates a pending session with a pay_ id and the clock\'s ISO 8601 UTC time', () => {
    const s = newSession();
    expect(s).toEqual({
      id: expect.stringMatching(/^pay_[0-9a-f]{24}$/),
      mode: 'direct',
      reference: '1001',
      amountMinor: 4250,
      currency: 'EUR',
      description: null,
      status: 'pending',
      cardBrand: null,
      cardLast4: null,
      pspReference: null,
      confirmation: null,
      authCode: null,
      declineReason: null,
      idempotencyKey: null,
      callId: 'call-1',
      language: null,
      agentId: null,
      code: null,
      agentUri: null,
      autoCapture: true,
      tokenise: false,
      customerReference: null,
      storedCardToken: null,
      createdAt: '2030-01-02T03:04:05.000Z',
      updatedAt: '2030-01-02T03:04:05.000Z',
    });
    expect(newSession().id).not.toBe(s.id);
  });

  it('keeps every field of an agent-assisted session', () => {
    store.database
      .prepare("INSERT INTO users (id, username, display_name, role, password_hash, created_at) VALUES ('u1', 'sue', 'Sue', 'agent', 'x', ?)")
      .run(now().toISOString());
    const s = store.createSession({
      id: 'pay_given',
      mode: 'agent-assisted',
      reference: 'INV-7',
      amountMinor: 0,
      currency: 'GBP',
      description: 'Deposit',
      language: 'en-GB',
      agentId: 'u1',
      code: '482913',
      agentUri: 'sip:sue@pbx.example',
      autoCapture: false,
    });
    expect(store.getSession('pay_given')).toEqual(s);
    expect(s).toMatchObject({ mode: 'agent-assisted', agentId: 'u1', code: '482913', agentUri: 'sip:sue@pbx.example', autoCapture: false, language: 'en-GB', description: 'Deposit' });
    expect(() => store.createSession({ mode: 'agent-assisted', reference: 'x', amountMinor: 1, currency: 'GBP', agentId: 'nobody' })).toThrow(/FOREIGN KEY/);
  });

  it('reads an unknown id as undefined', () => {
    expect(store.getSession('pay_nope')).toBeUndefined();
  });

  it('updates the given fields only, clears with null, and stamps updatedAt', () => {
    const s = newSession();
    tick();
    const updated = store.updateSession(s.id, { status: 'capturing', cardBrand: 'visa', cardLast4: '4242', idempotencyKey: 'k1' });
    expect(updated).toMatchObject({ status: 'capturing', cardBrand: 'visa', cardLast4: '4242', idempotencyKey: 'k1', callId: 'call-1' });
    expect(updated.createdAt).toBe('2030-01-02T03:04:05.000Z');
    expect(updated.updatedAt).toBe('2030-01-02T03:04:06.000Z');
    expect(store.updateSession(s.id, { callId: null, cardLast4: null })).toMatchObject({ callId: null, cardLast4: null, cardBrand: 'visa' });
    expect(store.updateSession(s.id, {})).toEqual(store.getSession(s.id));
    const other = newSession();
    expect(() => store.updateSession(other.id, { idempotencyKey: 'k1' })).toThrow(/UNIQUE/);
  });

  it('gives a payment its confirmation code when it becomes approved, once, unique, and finds it by that code and the PSP reference', () => {
    const approve = (reference: string, pspReference: string) => {
      const s = newSession(reference);
      for (const status of ['capturing', 'authorising'] as const) store.updateSession(s.id, { status });
      expect(store.getSession(s.id)!.confirmation).toBeNull();
      return store.updateSession(s.id, { status: 'approved', pspReference });
    };
    const a = approve('A', 'psp-a');
    const b = approve('B', 'psp-b');
    expect(a.confirmation).toMatch(/^[A-HJ-NP-Z2-9]{8}$/);
    expect(b.confirmation).not.toBe(a.confirmation);
    // Kept as it is by later writes.
    expect(store.updateSession(a.id, { callId: 'call-9' }).confirmation).toBe(a.confirmation);
    expect(store.updateSession(a.id, { status: 'approved' }).confirmation).toBe(a.confirmation);
    expect(store.listSessions({ confirmation: a.confirmation! }).map((s) => s.id)).toEqual([a.id]);
    expect(store.listSessions({ pspReference: 'psp-b' }).map((s) => s.id)).toEqual([b.id]);
    expect(store.listSessions({ confirmation: b.confirmation!, reference: 'A' })).toEqual([]);
    // A declined payment gets none.
    const d = newSession('D');
    for (const status of ['capturing', 'authorising', 'declined'] as const) store.updateSession(d.id, { status });
    expect(store.getSession(d.id)!.confirmation).toBeNull();
    // Unique in the database itself.
    expect(() => store.database.prepare('UPDATE payment_sessions SET confirmation = ? WHERE id = ?').run(a.confirmation, d.id)).toThrow(/UNIQUE/);
  });

  it('throws PaymentNotFoundError for an unknown id', () => {
    expect(() => store.updateSession('pay_nope', { status: 'capturing' })).toThrow(PaymentNotFoundError);
    expect(() => store.updateSession('pay_nope', {})).toThrow(PaymentNotFoundError);
  });

  it('lists by reference, status, mode, agent and code, newest first, with a limit', () => {
    const a = newSession('A');
    tick();
    const b = newSession('B');
    tick();
    const c = store.createSession({ mode: 'agent-assisted', reference: 'A', amountMinor: 1, currency: 'EUR', code: '123456' });
    store.updateSession(b.id, { status: 'capturing' });
    expect(store.listSessions({}).map((s) => s.id)).toEqual([c.id, b.id, a.id]);
    expect(store.listSessions({ reference: 'A' }).map((s) => s.id)).toEqual([c.id, a.id]);
    expect(store.listSessions({ reference: 'A', mode: 'direct' }).map((s) => s.id)).toEqual([a.id]);
    expect(store.listSessions({ status: 'capturing' }).map((s) => s.id)).toEqual([b.id]);
    expect(store.listSessions({ code: '123456' }).map((s) => s.id)).toEqual([c.id]);
    expect(store.listSessions({ agentId: 'u1' })).toEqual([]);
    expect(store.listSessions({ limit: 2 }).map((s) => s.id)).toEqual([c.id, b.id]);
    expect(store.listSessions({ limit: 0 })).toHaveLength(1);
  });
});

describe('status transitions', () => {
  // payment-types.ts: pending → capturing → authorising → approved | declined | in_doubt | error;
  // pending | capturing → abandoned | cancelled | failed; in_doubt → approved | declined | error;
  // plus pending | capturing → error (statusForResult('internal-error')); pending | capturing → link-sent →
  // approved | declined | expired | cancelled | error, or back to the keypad (capturing, authorising). Final statuses never change.
  const LEGAL: Record<PaymentStatus, PaymentStatus[]> = {
    // → authorising: a merchant-initiated charge on a stored card has nothing to capture.
    pending: ['capturing', 'authorising', 'abandoned', 'cancelled', 'failed', 'error', 'link-sent'],
    capturing: ['authorising', 'abandoned', 'cancelled', 'failed', 'error', 'link-sent'],
    authorising: ['approved', 'declined', 'in_doubt', 'error'],
    in_doubt: ['approved', 'declined', 'error'],
    'link-sent': ['approved', 'declined', 'expired', 'cancelled', 'capturing', 'authorising', 'error'],
    expired: [],
    approved: [],
    declined: [],
    failed: [],
    abandoned: [],
    cancelled: [],
    error: [],
  };
  const PATH: Record<PaymentStatus, PaymentStatus[]> = {
    pending: [],
    capturing: ['capturing'],
    authorising: ['capturing', 'authorising'],
    in_doubt: ['capturing', 'authorising', 'in_doubt'],
    approved: ['capturing', 'authorising', 'approved'],
    declined: ['capturing', 'authorising', 'declined'],
    error: ['capturing', 'authorising', 'error'],
    failed: ['capturing', 'failed'],
    abandoned: ['abandoned'],
    cancelled: ['capturing', 'cancelled'],
    'link-sent': ['link-sent'],
    expired: ['link-sent', 'expired'],
  };
  const STATUSES = Object.keys(LEGAL) as PaymentStatus[];
  const pairs = STATUSES.flatMap((from) => STATUSES.map((to) => [from, to, from === to || LEGAL[from].includes(to)] as const));

  it.each(pairs)('%s → %s allowed: %s', (from, to, allowed) => {
    const s = newSession();
    for (const step of PATH[from]) store.updateSession(s.id, { status: step });
    expect(store.getSession(s.id)?.status).toBe(from);
    if (allowed) {
      expect(store.updateSession(s.id, { status: to }).status).toBe(to);
    } else {
      let thrown: unknown;
      try {
        store.updateSession(s.id, { status: to, cardLast4: '1111' });
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(InvalidStatusTransitionError);
      expect(thrown).toMatchObject({ id: s.id, from, to });
      // Nothing of a refused update is written.
      expect(store.getSession(s.id)).toMatchObject({ status: from, cardLast4: null });
    }
  });
});

describe('capture attempts', () => {
  it('records attempts in order with the clock time', () => {
    const s = newSession();
    const first = store.recordCaptureAttempt({ sessionId: s.id, field: 'card-number', attempt: 1, outcome: 'invalid-card-number' });
    expect(first).toEqual({ sessionId: s.id, field: 'card-number', attempt: 1, outcome: 'invalid-card-number', at: '2030-01-02T03:04:05.000Z' });
    tick();
    store.recordCaptureAttempt({ sessionId: s.id, field: 'card-number', attempt: 2, outcome: 'accepted' });
    store.recordCaptureAttempt({ sessionId: s.id, field: 'expiry', attempt: 1, outcome: 'accepted' });
    expect(store.listCaptureAttempts(s.id).map((a) => `${a.field}#${a.attempt}:${a.outcome}@${a.at.slice(17, 19)}`)).toEqual([
      'card-number#1:invalid-card-number@05',
      'card-number#2:accepted@06',
      'expiry#1:accepted@06',
    ]);
    expect(store.listCaptureAttempts(newSession().id)).toEqual([]);
  });

  it('refuses an unknown session and an unknown field', () => {
    expect(() => store.recordCaptureAttempt({ sessionId: 'pay_nope', field: 'expiry', attempt: 1, outcome: 'accepted' })).toThrow(PaymentNotFoundError);
    const s = newSession();
    expect(() => store.recordCaptureAttempt({ sessionId: s.id, field: 'pin' as never, attempt: 1, outcome: 'accepted' })).toThrow(/CHECK constraint/);
  });
});

describe('authorisation intents', () => {
  const intentFor = (sessionId: string, key = 'k1') => ({ idempotencyKey: key, sessionId, psp: 'sandbox', amountMinor: 4250, currency: 'EUR' });

  it('writes an intent once per key; the same intent again returns it', () => {
    const s = newSession();
    const first = store.recordAuthorisationIntent(intentFor(s.id));
    expect(first).toEqual({
      idempotencyKey: 'k1',
      sessionId: s.id,
      psp: 'sandbox',
      amountMinor: 4250,
      currency: 'EUR',
      state: 'requested',
      pspReference: null,
      detail: null,
      requestedAt: '2030-01-02T03:04:05.000Z',
      resolvedAt: null,
    });
    tick();
    expect(store.recordAuthorisationIntent(intentFor(s.id))).toEqual(first);
    expect(store.getAuthorisation('k1')).toEqual(first);
    expect(store.getAuthorisation('k2')).toBeUndefined();
  });

  it('refuses a key used by another session or for another amount, and an unknown session', () => {
    const s = newSession();
    store.recordAuthorisationIntent(intentFor(s.id));
    expect(() => store.recordAuthorisationIntent(intentFor(newSession().id))).toThrow(IdempotencyKeyConflictError);
    expect(() => store.recordAuthorisationIntent({ ...intentFor(s.id), amountMinor: 1 })).toThrow(IdempotencyKeyConflictError);
    expect(() => store.recordAuthorisationIntent(intentFor('pay_nope', 'k9'))).toThrow(PaymentNotFoundError);
  });

  it('resolves: in doubt keeps resolvedAt empty, a final state stamps it, unset fields are kept', () => {
    const s = newSession();
    store.recordAuthorisationIntent(intentFor(s.id));
    tick();
    expect(store.resolveAuthorisation('k1', { state: 'in_doubt', detail: 'no-answer' })).toMatchObject({ state: 'in_doubt', detail: 'no-answer', resolvedAt: null });
    tick();
    const done = store.resolveAuthorisation('k1', { state: 'approved', pspReference: 'psp_1' });
    expect(done).toMatchObject({ state: 'approved', pspReference: 'psp_1', detail: 'no-answer', resolvedAt: '2030-01-02T03:04:07.000Z' });
    tick();
    // The same answer again (a reconciler repeating a half-written pass) changes nothing of substance.
    expect(store.resolveAuthorisation('k1', { state: 'approved', detail: null })).toMatchObject({ pspReference: 'psp_1', detail: null, resolvedAt: done.resolvedAt });
  });

  const FINAL: AuthorisationState[] = ['approved', 'declined', 'error'];
  it.each(FINAL)('a settled authorisation (%s) is not settled differently', (state) => {
    const s = newSession();
    store.recordAuthorisationIntent(intentFor(s.id));
    store.resolveAuthorisation('k1', { state });
    for (const to of ['requested', 'in_doubt', ...FINAL.filter((f) => f !== state)] as AuthorisationState[]) {
      expect(() => store.resolveAuthorisation('k1', { state: to })).toThrow(InvalidAuthorisationTransitionError);
    }
    expect(store.getAuthorisation('k1')?.state).toBe(state);
  });

  it('does not move an in-doubt authorisation back to requested, and knows no unknown key', () => {
    const s = newSession();
    store.recordAuthorisationIntent(intentFor(s.id));
    store.resolveAuthorisation('k1', { state: 'in_doubt' });
    expect(() => store.resolveAuthorisation('k1', { state: 'requested' })).toThrow(InvalidAuthorisationTransitionError);
    expect(() => store.resolveAuthorisation('nope', { state: 'error' })).toThrow(AuthorisationNotFoundError);
  });

  it('keeps the intent itself fixed in the database', () => {
    const s = newSession();
    store.recordAuthorisationIntent(intentFor(s.id));
    expect(() => store.database.prepare("UPDATE authorisations SET amount_minor = 1 WHERE idempotency_key = 'k1'").run()).toThrow(/intent cannot change/);
  });

  it('lists by state and session, oldest first', () => {
    const a = newSession();
    const b = newSession();
    store.recordAuthorisationIntent(intentFor(a.id, 'ka'));
    tick();
    store.recordAuthorisationIntent(intentFor(b.id, 'kb'));
    tick();
    store.recordAuthorisationIntent(intentFor(b.id, 'kc'));
    store.resolveAuthorisation('kb', { state: 'in_doubt' });
    expect(store.listAuthorisations({}).map((x) => x.idempotencyKey)).toEqual(['ka', 'kb', 'kc']);
    expect(store.listAuthorisations({ state: 'requested' }).map((x) => x.idempotencyKey)).toEqual(['ka', 'kc']);
    expect(store.listAuthorisations({ sessionId: b.id }).map((x) => x.idempotencyKey)).toEqual(['kb', 'kc']);
    expect(store.listAuthorisations({ sessionId: b.id, state: 'in_doubt' }).map((x) => x.idempotencyKey)).toEqual(['kb']);
  });
});

describe('readiness and closing', () => {
  it('probes with a real write', () => {
    expect(store.isWritable()).toBe(true);
    expect(store.database.prepare('SELECT at FROM store_probe').pluck().get()).toBe('2030-01-02T03:04:05.000Z');
    store.database.pragma('query_only = ON');
    expect(store.isWritable()).toBe(false);
    store.database.pragma('query_only = OFF');
    expect(store.isWritable()).toBe(true);
  });

  it('is not writable once closed, and closes twice', () => {
    store.close();
    expect(store.isWritable()).toBe(false);
    expect(() => store.close()).not.toThrow();
  });
});
