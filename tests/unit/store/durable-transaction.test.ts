import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { durableTransaction } from '../../../store/durable-transaction.js';

const dir = mkdtempSync(join(tmpdir(), 'durable-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** SQLite's codes for PRAGMA synchronous. */
const NORMAL = 1;
const FULL = 2;

describe('durableTransaction', () => {
  const db = new Database(join(dir, 't.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec('CREATE TABLE t (v TEXT)');
  const level = (): number => db.pragma('synchronous', { simple: true }) as number;

  it('commits with an fsync (FULL) and leaves the connection at NORMAL, even when the write throws', () => {
    const seen = durableTransaction(db, () => {
      db.prepare('INSERT INTO t VALUES (?)').run('intent');
      return level();
    });
    expect(seen).toBe(FULL);
    expect(level()).toBe(NORMAL);
    expect(() => durableTransaction(db, () => {
      db.prepare('INSERT INTO t VALUES (?)').run('rolled back');
      throw new Error('conflict');
    })).toThrow('conflict');
    expect(level()).toBe(NORMAL);
    expect(db.prepare('SELECT v FROM t').pluck().all()).toEqual(['intent']);
  });

  it('inside an open transaction, joins it (the outer commit decides)', () => {
    db.transaction(() => durableTransaction(db, () => db.prepare('INSERT INTO t VALUES (?)').run('nested')))();
    expect(db.prepare('SELECT count(*) FROM t').pluck().get()).toBe(2);
    expect(level()).toBe(NORMAL);
  });
});
