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
import { SqlitePaymentLinkStore } from '../../../store/sqlite-payment-link-store.js';
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

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'payment-store-'));
  clock = T0;
  store = open();
});
afterEach(async () => {
  await store.close();
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
  it('lives in <dataDir>/payments.db, WAL, foreign keys on, busy timeout, migrated, owner-only', async () => {
    expect(store.path).toBe(join(dir, 'payments.db'));
    const db = store.database;
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(db.pragma('busy_timeout', { simple: true })).toBe(5000);
    expect(db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
    expect(statSync(store.path).mode & 0o777).toBe(0o600);
  });

  it('creates a missing data folder', async () => {
    await store.close();
    const nested = join(dir, 'a', 'b');
    store = new SqlitePaymentStore({ dataDir: nested });
    expect(existsSync(join(nested, 'payments.db'))).toBe(true);
  });

  it('takes a file path instead, as an option or a string, and :memory:', async () => {
    await store.close();
    const file = join(dir, 'other.db');
    store = new SqlitePaymentStore({ file, busyTimeoutMs: 250 });
    expect(store.path).toBe(file);
    expect(store.database.pragma('busy_timeout', { simple: true })).toBe(250);
    await store.close();
    store = new SqlitePaymentStore(file);
    expect(store.path).toBe(file);
    await store.close();
    store = new SqlitePaymentStore({ file: ':memory:' });
    expect((await newSession()).status).toBe('pending');
    expect(() => new SqlitePaymentStore({})).toThrow(TypeError);
  });

  it('migrates once and keeps its data across a reopen', async () => {
    const s = await newSession();
    await store.close();
    store = open();
    expect((await store.getSession(s.id))?.id).toBe(s.id);
    expect(store.database.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
  });

  it('rebuilds the sessions table for merchant-initiated charges (migration 8) and the reversals for captures (9), keeping every row and the rows that point at them', async () => {
    await store.close();
    rmSync(join(dir, 'payments.db'), { force: true });
    const db = raw();
    db.pragma('foreign_keys = ON');
    for (const [i, sql] of MIGRATIONS.slice(0, 7).entries()) {
      db.exec(sql.sqlite);
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
    expect(await store.getSession('pay_old')).toMatchObject({ status: 'approved', confirmation: 'ABCDEFGH', storedCardToken: null });
    expect(await store.getAuthorisation('k-old')).toMatchObject({ sessionId: 'pay_old', state: 'approved' });
    expect(await store.listSessions({ pspReference: 'psp-old' })).toHaveLength(1);
    // Migration 9 rebuilt the reversals for captures: the old rows are there, a capture may be written.
    expect(store.database.prepare(`SELECT kind, amount_minor FROM reversals`).all()).toEqual([{ kind: 'refund', amount_minor: 100 }]);
    store.database
      .prepare(`INSERT INTO reversals (idempotency_key, session_id, kind, psp, amount_minor, currency, state, actor_kind, actor_id, requested_at)
        VALUES ('cap-1', 'pay_old', 'capture', 'sandbox', 100, 'EUR', 'requested', 'supervisor', 'sue', 't')`)
      .run();
    expect(() => store.database.prepare(`UPDATE reversals SET amount_minor = 5 WHERE idempotency_key = 'cap-1'`).run()).toThrow(/cannot change/);
    // The children still point at the table: a row for an unknown session is refused.
    await expect(store.recordAuthorisationIntent({ idempotencyKey: 'k2', sessionId: 'pay_nope', psp: 's', amountMinor: 1, currency: 'EUR' })).rejects.toThrow(PaymentNotFoundError);
    expect(() => store.database.prepare(`INSERT INTO capture_attempts (session_id, field, attempt, outcome, at) VALUES ('pay_nope', 'expiry', 1, 'accepted', 't')`).run()).toThrow(/FOREIGN KEY/);
    // The checks of migration 3 came back with the table.
    expect(() => store.database.prepare(`UPDATE payment_sessions SET card_brand = 'nope' WHERE id = 'pay_old'`).run()).toThrow(/card_brand/);
    // A merchant-initiated session names its token; no other mode may.
    const mit = await store.createSession({ mode: 'merchant-initiated', reference: 'SUB', amountMinor: 100, currency: 'EUR', idempotencyKey: 'mit-1', storedCardToken: 'sbxtok_1' });
    expect(mit).toMatchObject({ mode: 'merchant-initiated', storedCardToken: 'sbxtok_1', idempotencyKey: 'mit-1', status: 'pending' });
    await expect(store.createSession({ mode: 'merchant-initiated', reference: 'SUB', amountMinor: 100, currency: 'EUR' })).rejects.toThrow(/CHECK/);
    await expect(store.createSession({ mode: 'direct', reference: 'SUB', amountMinor: 100, currency: 'EUR', storedCardToken: 'sbxtok_1' })).rejects.toThrow(/CHECK/);
  });

  it('keeps the sandbox messages kept before migration 11, each under its own id as the provider\'s', async () => {
    await store.close();
    rmSync(join(dir, 'payments.db'), { force: true });
    const db = raw();
    for (const [i, sql] of MIGRATIONS.slice(0, 10).entries()) {
      db.exec(sql.sqlite);
      db.pragma(`user_version = ${i + 1}`);
    }
    db.prepare("INSERT INTO sms_outbox (id, session_id, recipient, body, sent_at) VALUES ('sms_old', NULL, '+447400123456', 'kept', '2030-01-01T00:00:00.000Z')").run();
    db.close();
    store = open();
    const links = new SqlitePaymentLinkStore(store.database);
    expect(await links.findSms('sandbox', 'sms_old')).toMatchObject({ id: 'sms_old', body: 'kept', delivery: 'submitted', linkId: null });
  });

  it('refuses a database from a newer build', async () => {
    await store.close();
    const db = raw();
    db.pragma(`user_version = ${MIGRATIONS.length + 1}`);
    db.close();
    expect(() => open()).toThrow(SchemaVersionError);
  });
});

describe('schema', () => {
  it('has no column that could hold a card number, expiry or security code', async () => {
    const columns = store.database
      .prepare("SELECT m.name AS tbl, p.name AS col FROM sqlite_master m, pragma_table_info(m.name) p WHERE m.type = 'table'")
      .all() as { tbl: string; col: string }[];
    expect(columns.length).toBeGreaterThan(20);
    expect(columns.filter((c) => /pan|card_?number|expir|cvv|cvc|security|track|pin/i.test(c.col))).toEqual([]);
  });
});

describe('readiness and closing', () => {
  it('probes with a real write', async () => {
    expect(await store.isWritable()).toBe(true);
    expect(store.database.prepare('SELECT at FROM store_probe').pluck().get()).toBe('2030-01-02T03:04:05.000Z');
    store.database.pragma('query_only = ON');
    expect(await store.isWritable()).toBe(false);
    store.database.pragma('query_only = OFF');
    expect(await store.isWritable()).toBe(true);
  });
});
