import { createHash, createHmac, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { durableTransaction } from '../../../store/durable-transaction.js';
import { MIGRATIONS } from '../../../store/migrations.js';
import { SqliteAuditLog } from '../../../store/sqlite-audit-log.js';
import { SqlitePaymentStore } from '../../../store/sqlite-payment-store.js';
import { AuditKeyError } from '../../../store/store-errors.js';

const CALL = { kind: 'call', id: 'call-1' } as const;
const T0 = Date.parse('2030-01-02T03:04:05.000Z');

let dir: string;
let clock: number;
let store: SqlitePaymentStore;
let audit: SqliteAuditLog;
/** AUDIT_KEY of this test's log. */
let key: Buffer;
const now = (): Date => new Date(clock);
const tick = (ms = 1000): void => {
  clock += ms;
};
/** The payment store and the audit log on its connection, as the application wires them. */
function open(withKey = key): void {
  store = new SqlitePaymentStore({ dataDir: dir, now });
  audit = new SqliteAuditLog(store.database, { key: withKey, now });
}

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'audit-log-'));
  clock = T0;
  key = randomBytes(32);
  open();
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

interface Row {
  seq: number;
  at: string;
  sessionId: string | null;
  actor: { kind: string; id: string };
  action: string;
  detail: string;
  prevHash: string;
}

/** The documented hashes and key id, computed here independently of the log. */
const keyIdOf = (k: Buffer): string => createHmac('sha256', k).update('audit-key-id').digest('hex').slice(0, 16);
function keyedHash(k: Buffer, e: Row): string {
  const text = JSON.stringify([e.seq, e.at, e.sessionId, e.actor.kind, e.actor.id, e.action, e.detail, keyIdOf(k)]);
  return createHmac('sha256', k).update(e.prevHash).update(text).digest('hex');
}
function unkeyedHash(e: Row): string {
  const text = JSON.stringify([e.seq, e.at, e.sessionId, e.actor.kind, e.actor.id, e.action, e.detail, e.prevHash]);
  return createHash('sha256').update(text).digest('hex');
}

describe('audit trail', () => {
  async function fill(n: number, sessionId: string | null = null): Promise<void> {
    for (let i = 0; i < n; i++) {
      await audit.append({ sessionId, actor: CALL, action: `step-${i}`, detail: { i, b: 'x', a: { z: 1, y: [2, 1] } } });
      tick();
    }
  }

  // The SQLite adapters write before their promise is returned: inside a transaction, the write is part of it.
  it('appends inside a transaction open on the same connection, and rolls back with it', async () => {
    const s = await newSession();
    expect(() =>
      durableTransaction(store.database, () => {
        void store.updateSession(s.id, { status: 'capturing' });
        void audit.append({ sessionId: s.id, actor: CALL, action: 'capture-started' });
        throw new Error('the write that caused it failed');
      }),
    ).toThrow(/failed/);
    expect((await store.getSession(s.id))?.status).toBe('pending');
    expect(await audit.list({})).toEqual([]);
    durableTransaction(store.database, () => {
      void store.updateSession(s.id, { status: 'capturing' });
      void audit.append({ sessionId: s.id, actor: CALL, action: 'capture-started' });
    });
    expect((await audit.list({})).map((e) => e.action)).toEqual(['capture-started']);
    expect(await audit.verify()).toEqual({ ok: true, rows: 1 });
  });

  /** Tampers with the file through a second connection, then opens a fresh store and log on it. */
  async function tamper(sql: string[], trigger: 'audit_log_no_update' | 'audit_log_no_delete' | 'both'): Promise<void> {
    await store.close();
    const db = raw();
    if (trigger !== 'audit_log_no_delete') db.exec('DROP TRIGGER IF EXISTS audit_log_no_update');
    if (trigger !== 'audit_log_no_update') db.exec('DROP TRIGGER IF EXISTS audit_log_no_delete');
    for (const statement of sql) db.exec(statement);
    db.close();
    open();
  }

  it('finds a row edited by hand with better-sqlite3, at its seq', async () => {
    await fill(6);
    expect(await audit.verify()).toEqual({ ok: true, rows: 6 });
    await tamper([`UPDATE audit_log SET detail = '{"i":99}' WHERE seq = 4`], 'audit_log_no_update');
    expect(await audit.verify()).toMatchObject({ ok: false, rows: 4, firstBrokenSeq: 4, problem: 'hash-mismatch', reason: expect.stringMatching(/edited/) });
  });

  it('finds an edited row whose hash was recomputed without the key (plain SHA-256, or a guessed key), at that row', async () => {
    await fill(6);
    const row4 = (await audit.list({ afterSeq: 3, limit: 1 }))[0]!;
    const edited = { ...row4, action: 'refund', detail: canonical(row4.detail) };
    for (const forged of [unkeyedHash(edited), keyedHash(randomBytes(32), edited)]) {
      await tamper([`UPDATE audit_log SET action = 'refund', hash = '${forged}' WHERE seq = 4`], 'audit_log_no_update');
      expect(await audit.verify()).toMatchObject({ ok: false, firstBrokenSeq: 4, problem: 'hash-mismatch' });
    }
  });

  it('finds a keyed row passed off as one from before the key (no key id, plain SHA-256)', async () => {
    await fill(4);
    const row3 = (await audit.list({ afterSeq: 2, limit: 1 }))[0]!;
    const downgraded = unkeyedHash({ ...row3, detail: canonical(row3.detail) });
    await tamper([`UPDATE audit_log SET key_id = NULL, hash = '${downgraded}' WHERE seq = 3`], 'audit_log_no_update');
    expect(await audit.verify()).toMatchObject({ ok: false, firstBrokenSeq: 3, problem: 'hash-mismatch', reason: expect.stringMatching(/names no key/) });
  });

  it('finds a deleted row: the gap in seq', async () => {
    await fill(6);
    await tamper(['DELETE FROM audit_log WHERE seq = 3'], 'audit_log_no_delete');
    expect(await audit.verify()).toMatchObject({ ok: false, rows: 3, firstBrokenSeq: 4, problem: 'gap', reason: expect.stringMatching(/expected row 3/) });
  });

  it('finds a deleted first row', async () => {
    await fill(3);
    await tamper(['DELETE FROM audit_log WHERE seq = 1'], 'audit_log_no_delete');
    expect(await audit.verify()).toMatchObject({ ok: false, firstBrokenSeq: 2, problem: 'gap' });
  });

  it('finds reordered rows: contents of 3 and 4 swapped', async () => {
    await fill(6);
    const columns = ['at', 'session_id', 'actor_kind', 'actor_id', 'action', 'detail', 'prev_hash', 'hash'];
    await tamper(
      [
        `CREATE TEMP TABLE swap AS SELECT seq, ${columns.join(', ')} FROM audit_log WHERE seq IN (3, 4)`,
        ...columns.map((c) => `UPDATE audit_log SET ${c} = (SELECT ${c} FROM swap WHERE swap.seq = 7 - audit_log.seq) WHERE seq IN (3, 4)`),
      ],
      'audit_log_no_update',
    );
    expect((await audit.list({})).map((r) => r.action)).toEqual(['step-0', 'step-1', 'step-3', 'step-2', 'step-4', 'step-5']);
    expect(await audit.verify()).toMatchObject({ ok: false, firstBrokenSeq: 3, problem: 'prev-hash-mismatch' });
  });

  it('finds rows removed from the end while the store was open', async () => {
    await fill(5);
    const db = raw();
    db.exec('DROP TRIGGER IF EXISTS audit_log_no_delete');
    db.exec('DELETE FROM audit_log WHERE seq >= 4');
    db.close();
    expect(await audit.verify()).toMatchObject({ ok: false, rows: 3, firstBrokenSeq: 4, problem: 'gap', reason: expect.stringMatching(/end/) });
  });

  it('with the wrong key, fails at the first keyed row and names both keys', async () => {
    await fill(3);
    await store.close();
    const wrong = randomBytes(32);
    open(wrong);
    expect(await audit.verify()).toMatchObject({ ok: false, rows: 1, firstBrokenSeq: 1, problem: 'hash-mismatch' });
    const verdict = await audit.verify();
    expect(verdict.ok === false && verdict.reason).toContain(keyIdOf(key));
    expect(verdict.ok === false && verdict.reason).toContain(keyIdOf(wrong));
    expect(verdict.ok === false && verdict.reason).not.toContain(key.toString('hex'));
  });

  it('refuses a key shorter than 32 bytes, and a new row that names no key', async () => {
    expect(() => new SqliteAuditLog(store.database, { key: randomBytes(31) })).toThrow(AuditKeyError);
    const insert = `INSERT INTO audit_log (seq, at, session_id, actor_kind, actor_id, action, detail, prev_hash, hash)
      VALUES (1, 'now', NULL, 'system', 'x', 'y', '{}', '${'0'.repeat(64)}', '${'1'.repeat(64)}')`;
    expect(() => store.database.exec(insert)).toThrow(/key_id/);
  });
});

describe('a database whose rows were chained before the key (schema 4)', () => {
  const OLD_ROWS = 4;

  /** What the earlier version left in DATA_DIR: schema 4, rows chained by plain SHA-256. */
  async function writeOldDatabase(): Promise<void> {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir);
    const db = raw();
    for (const migration of MIGRATIONS.slice(0, 4)) db.exec(migration.sqlite);
    db.pragma('user_version = 4');
    const insert = db.prepare(`INSERT INTO audit_log (seq, at, session_id, actor_kind, actor_id, action, detail, prev_hash, hash)
      VALUES (@seq, @at, NULL, 'system', 'old', @action, @detail, @prevHash, @hash)`);
    let prevHash = '0'.repeat(64);
    for (let seq = 1; seq <= OLD_ROWS; seq++) {
      const row = { seq, at: new Date(T0 - 86_400_000 + seq * 1000).toISOString(), sessionId: null, actor: { kind: 'system', id: 'old' }, action: `old-${seq}`, detail: `{"n":${seq}}`, prevHash };
      const hash = unkeyedHash(row);
      insert.run({ ...row, hash });
      prevHash = hash;
    }
    db.close();
  }

  beforeEach(async () => {
    await writeOldDatabase();
    open();
  });

  it('still verifies, and the keyed chain starts after its last row', async () => {
    expect(await audit.verify()).toEqual({ ok: true, rows: OLD_ROWS });
    expect(store.database.prepare('SELECT keyed_from_seq FROM audit_chain').pluck().get()).toBe(OLD_ROWS + 1);
    const first = await audit.append({ sessionId: null, actor: CALL, action: 'first-keyed' });
    await audit.append({ sessionId: null, actor: CALL, action: 'second-keyed' });
    expect(first.seq).toBe(OLD_ROWS + 1);
    expect(first.hash).toBe(keyedHash(key, { ...first, detail: '{}' }));
    expect(store.database.prepare('SELECT seq, key_id FROM audit_log ORDER BY seq').all()).toEqual([
      ...Array.from({ length: OLD_ROWS }, (_, i) => ({ seq: i + 1, key_id: null })),
      { seq: OLD_ROWS + 1, key_id: keyIdOf(key) },
      { seq: OLD_ROWS + 2, key_id: keyIdOf(key) },
    ]);
    expect(await audit.verify()).toEqual({ ok: true, rows: OLD_ROWS + 2 });
  });

  it('finds an old row edited by hand, at its seq', async () => {
    await audit.append({ sessionId: null, actor: CALL, action: 'keyed' });
    await tamper([`UPDATE audit_log SET detail = '{"n":99}' WHERE seq = 2`]);
    expect(await audit.verify()).toMatchObject({ ok: false, firstBrokenSeq: 2, problem: 'hash-mismatch' });
  });

  it('finds old rows rewritten with every SHA-256 recomputed, at the first keyed row', async () => {
    await audit.append({ sessionId: null, actor: CALL, action: 'keyed' });
    // Someone without the key rewrites row 2 and re-chains rows 2..4 by plain SHA-256.
    const rows = await audit.list({ limit: OLD_ROWS });
    let prevHash = rows[0]!.hash;
    const statements: string[] = [];
    for (const row of rows.slice(1)) {
      const detail = row.seq === 2 ? '{"n":-2}' : canonical(row.detail);
      const hash = unkeyedHash({ ...row, detail, prevHash });
      statements.push(`UPDATE audit_log SET detail = '${detail}', prev_hash = '${prevHash}', hash = '${hash}' WHERE seq = ${row.seq}`);
      prevHash = hash;
    }
    await tamper(statements);
    expect(await audit.verify()).toMatchObject({ ok: false, firstBrokenSeq: OLD_ROWS + 1, problem: 'prev-hash-mismatch' });
  });

  /** Tampers through a second connection (the update trigger dropped), then reopens. */
  async function tamper(sql: string[]): Promise<void> {
    await store.close();
    const db = raw();
    db.exec('DROP TRIGGER IF EXISTS audit_log_no_update');
    for (const statement of sql) db.exec(statement);
    db.close();
    open();
  }
});

function canonical(value: Record<string, unknown>): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1))) : v,
  );
}
