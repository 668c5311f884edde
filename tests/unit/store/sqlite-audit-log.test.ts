import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { durableTransaction } from '../../../store/durable-transaction.js';
import { SqliteAuditLog } from '../../../store/sqlite-audit-log.js';
import { SqlitePaymentStore } from '../../../store/sqlite-payment-store.js';

const CALL = { kind: 'call', id: 'call-1' } as const;
const T0 = Date.parse('2030-01-02T03:04:05.000Z');

let dir: string;
let clock: number;
let store: SqlitePaymentStore;
let audit: SqliteAuditLog;
const now = (): Date => new Date(clock);
const tick = (ms = 1000): void => {
  clock += ms;
};
/** The payment store and the audit log on its connection, as the application wires them. */
function open(): void {
  store = new SqlitePaymentStore({ dataDir: dir, now });
  audit = new SqliteAuditLog(store.database, { now });
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'audit-log-'));
  clock = T0;
  open();
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

describe('audit trail', () => {
  function fill(n: number, sessionId: string | null = null): void {
    for (let i = 0; i < n; i++) {
      audit.append({ sessionId, actor: CALL, action: `step-${i}`, detail: { i, b: 'x', a: { z: 1, y: [2, 1] } } });
      tick();
    }
  }

  /** The documented hash, computed here independently of the store. */
  function expectedHash(e: { seq: number; at: string; sessionId: string | null; actor: { kind: string; id: string }; action: string; detail: string; prevHash: string }): string {
    const text = JSON.stringify([e.seq, e.at, e.sessionId, e.actor.kind, e.actor.id, e.action, e.detail, e.prevHash]);
    return createHash('sha256').update(text).digest('hex');
  }

  it('appends inside a transaction open on the same connection, and rolls back with it', () => {
    const s = newSession();
    expect(() =>
      durableTransaction(store.database, () => {
        store.updateSession(s.id, { status: 'capturing' });
        audit.append({ sessionId: s.id, actor: CALL, action: 'capture-started' });
        throw new Error('the write that caused it failed');
      }),
    ).toThrow(/failed/);
    expect(store.getSession(s.id)?.status).toBe('pending');
    expect(audit.list({})).toEqual([]);
    durableTransaction(store.database, () => {
      store.updateSession(s.id, { status: 'capturing' });
      audit.append({ sessionId: s.id, actor: CALL, action: 'capture-started' });
    });
    expect(audit.list({}).map((e) => e.action)).toEqual(['capture-started']);
    expect(audit.verify()).toEqual({ ok: true, rows: 1 });
  });

  it('appends rows chained by SHA-256 over a canonical serialisation', () => {
    const s = newSession();
    const first = audit.append({ sessionId: s.id, actor: { kind: 'agent', id: 'u1' }, action: 'session-created', detail: { b: 2, a: 1 } });
    expect(first).toMatchObject({ seq: 1, at: '2030-01-02T03:04:05.000Z', sessionId: s.id, actor: { kind: 'agent', id: 'u1' }, detail: { a: 1, b: 2 } });
    expect(first.prevHash).toBe('0'.repeat(64));
    expect(first.hash).toBe(expectedHash({ ...first, detail: '{"a":1,"b":2}' }));
    const second = audit.append({ sessionId: null, actor: CALL, action: 'x' });
    expect(second).toMatchObject({ seq: 2, prevHash: first.hash, detail: {} });
    expect(second.hash).toBe(expectedHash({ ...second, detail: '{}' }));
    // Key order does not change what is stored.
    const c = audit.append({ sessionId: null, actor: CALL, action: 'y', detail: { n: { b: 1, a: [{ d: 1, c: 2 }] } } });
    expect(store.database.prepare('SELECT detail FROM audit_log WHERE seq = ?').pluck().get(c.seq)).toBe('{"n":{"a":[{"c":2,"d":1}],"b":1}}');
  });

  it('lists by session, after a seq, with a limit', () => {
    const s = newSession();
    fill(2);
    fill(3, s.id);
    expect(audit.list({}).map((r) => r.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(audit.list({ sessionId: s.id }).map((r) => r.seq)).toEqual([3, 4, 5]);
    expect(audit.list({ afterSeq: 3 }).map((r) => r.seq)).toEqual([4, 5]);
    expect(audit.list({ sessionId: s.id, afterSeq: 3, limit: 1 }).map((r) => r.seq)).toEqual([4]);
    expect(audit.list({})[0]).toMatchObject({ actor: CALL, detail: { i: 0, b: 'x', a: { z: 1, y: [2, 1] } } });
  });

  it('verifies an intact chain, also across a reopen', () => {
    expect(audit.verify()).toEqual({ ok: true, rows: 0 });
    fill(3);
    store.close();
    open();
    fill(2);
    expect(audit.verify()).toEqual({ ok: true, rows: 5 });
  });

  it('keeps one chain when two connections append to the same file', () => {
    const second = new SqlitePaymentStore({ dataDir: dir, now });
    const secondAudit = new SqliteAuditLog(second.database, { now });
    try {
      for (let i = 0; i < 10; i++) (i % 2 ? audit : secondAudit).append({ sessionId: null, actor: CALL, action: `a${i}` });
    } finally {
      second.close();
    }
    expect(audit.list({}).map((r) => r.action)).toEqual(['a0', 'a1', 'a2', 'a3', 'a4', 'a5', 'a6', 'a7', 'a8', 'a9']);
    expect(audit.verify()).toEqual({ ok: true, rows: 10 });
  });

  it('refuses UPDATE and DELETE inside SQLite', () => {
    fill(2);
    const db = raw();
    try {
      expect(() => db.prepare("UPDATE audit_log SET action = 'x' WHERE seq = 1").run()).toThrow(/append-only/);
      expect(() => db.prepare('DELETE FROM audit_log WHERE seq = 1').run()).toThrow(/append-only/);
      expect(() => db.prepare('DELETE FROM audit_log').run()).toThrow(/append-only/);
    } finally {
      db.close();
    }
    expect(audit.verify()).toEqual({ ok: true, rows: 2 });
  });

  /** Tampers with the file through a second connection, then opens a fresh store and log on it. */
  function tamper(sql: string[], trigger: 'audit_log_no_update' | 'audit_log_no_delete' | 'both'): void {
    store.close();
    const db = raw();
    if (trigger !== 'audit_log_no_delete') db.exec('DROP TRIGGER audit_log_no_update');
    if (trigger !== 'audit_log_no_update') db.exec('DROP TRIGGER audit_log_no_delete');
    for (const statement of sql) db.exec(statement);
    db.close();
    open();
  }

  it('finds a row edited directly in the database file, at its seq', () => {
    fill(6);
    expect(audit.verify()).toEqual({ ok: true, rows: 6 });
    tamper([`UPDATE audit_log SET detail = '{"i":99}' WHERE seq = 4`], 'audit_log_no_update');
    expect(audit.verify()).toMatchObject({ ok: false, firstBrokenSeq: 4, reason: expect.stringMatching(/edited/) });
  });

  it('finds an edited row whose own hash was recomputed, at the next row', () => {
    fill(6);
    const row4 = audit.list({ afterSeq: 3, limit: 1 })[0]!;
    const forged = expectedHash({ ...row4, action: 'refund', detail: canonical(row4.detail) });
    tamper([`UPDATE audit_log SET action = 'refund', hash = '${forged}' WHERE seq = 4`], 'audit_log_no_update');
    expect(audit.verify()).toMatchObject({ ok: false, firstBrokenSeq: 5, reason: expect.stringMatching(/prev_hash/) });
  });

  it('finds a deleted row: a gap in seq', () => {
    fill(6);
    tamper(['DELETE FROM audit_log WHERE seq = 3'], 'audit_log_no_delete');
    expect(audit.verify()).toMatchObject({ ok: false, rows: 3, firstBrokenSeq: 4, reason: expect.stringMatching(/missing/) });
  });

  it('finds a deleted first row', () => {
    fill(3);
    tamper(['DELETE FROM audit_log WHERE seq = 1'], 'audit_log_no_delete');
    expect(audit.verify()).toMatchObject({ ok: false, firstBrokenSeq: 2 });
  });

  it('finds reordered rows: contents of 3 and 4 swapped', () => {
    fill(6);
    const cols = 'at, session_id, actor_kind, actor_id, action, detail, prev_hash, hash';
    tamper(
      [
        `CREATE TEMP TABLE swap AS SELECT seq, ${cols} FROM audit_log WHERE seq IN (3, 4)`,
        ...['at', 'session_id', 'actor_kind', 'actor_id', 'action', 'detail', 'prev_hash', 'hash'].map(
          (c) => `UPDATE audit_log SET ${c} = (SELECT ${c} FROM swap WHERE swap.seq = 7 - audit_log.seq) WHERE seq IN (3, 4)`,
        ),
      ],
      'audit_log_no_update',
    );
    expect(audit.list({}).map((r) => r.action)).toEqual(['step-0', 'step-1', 'step-3', 'step-2', 'step-4', 'step-5']);
    expect(audit.verify()).toMatchObject({ ok: false, firstBrokenSeq: 3 });
  });

  it('finds rows removed from the end while the store was open', () => {
    fill(5);
    const db = raw();
    db.exec('DROP TRIGGER audit_log_no_delete');
    db.exec('DELETE FROM audit_log WHERE seq >= 4');
    db.close();
    expect(audit.verify()).toMatchObject({ ok: false, rows: 3, firstBrokenSeq: 4, reason: expect.stringMatching(/end/) });
  });
});

function canonical(value: Record<string, unknown>): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1))) : v,
  );
}
