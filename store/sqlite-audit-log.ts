import type { Database, Statement } from 'better-sqlite3';
import type { Actor } from '../domain/actor.js';
import {
  AUDIT_GENESIS_HASH,
  AUDIT_KEY_MIN_BYTES,
  auditKeyId,
  canonicalJson,
  keyedAuditHash,
  unkeyedAuditHash,
  type ChainedRow,
} from './audit-chain.js';
import type { AuditEntry, AuditLog, AuditProblem, AuditQuery, AuditVerification, NewAuditEntry } from './audit-log.js';
import { clampLimit, QueryShapes } from './sqlite-query-shapes.js';
import { AuditKeyError } from './store-errors.js';

export interface SqliteAuditLogOptions {
  /** AUDIT_KEY, at least 32 bytes: each row is chained with its HMAC. */
  readonly key: Buffer;
  /** The clock of every row's `at`. Default: the wall clock. */
  readonly now?: () => Date;
}

interface AuditRow {
  seq: number;
  at: string;
  session_id: string | null;
  actor_kind: Actor['kind'];
  actor_id: string;
  action: string;
  detail: string;
  prev_hash: string;
  hash: string;
  /** Null on the rows written before the chain was keyed (migration 5). */
  key_id: string | null;
}

/**
 * The audit trail in the payment database's `audit_log` table (migration 1),
 * on the payment store's connection. Each row carries the HMAC, with
 * AUDIT_KEY, of its own content and of the row before (audit-chain.ts), so
 * an edit, a deletion or a reordering is found by `verify` (PCI DSS 4.0
 * req. 10.3.4) and cannot be covered up without the key; triggers refuse
 * UPDATE and DELETE on it (req. 10.3.2).
 *
 * Rows written before the chain was keyed (below `audit_chain.keyed_from_seq`,
 * migration 5) keep their plain SHA-256 and are verified as such. The first
 * keyed row's HMAC covers the hash of the last of them, so they cannot be
 * rewritten unnoticed either.
 *
 * An append inside a transaction already open on the same connection (a
 * session write, a `durableTransaction`) joins it: better-sqlite3 nests it
 * as a savepoint, so the row commits or rolls back with what caused it.
 */
export class SqliteAuditLog implements AuditLog {
  readonly #db: Database;
  readonly #key: Buffer;
  readonly #keyId: string;
  readonly #now: () => Date;
  readonly #sql: Record<'insert' | 'last' | 'all' | 'keyedFrom', Statement>;
  readonly #shapes: QueryShapes;
  /** The highest seq this log has written or seen: a truncated tail is found against it. */
  #highWater = 0;

  /** @throws AuditKeyError when the key is shorter than 32 bytes */
  constructor(db: Database, options: SqliteAuditLogOptions) {
    if (options.key.length < AUDIT_KEY_MIN_BYTES) throw new AuditKeyError(options.key.length);
    this.#db = db;
    this.#key = options.key;
    this.#keyId = auditKeyId(options.key);
    this.#now = options.now ?? (() => new Date());
    this.#shapes = new QueryShapes(db);
    const p = (sql: string): Statement => db.prepare(sql);
    this.#sql = {
      insert: p(`INSERT INTO audit_log (seq, at, session_id, actor_kind, actor_id, action, detail, prev_hash, hash, key_id)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      last: p('SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1'),
      all: p('SELECT * FROM audit_log ORDER BY seq'),
      keyedFrom: p('SELECT keyed_from_seq FROM audit_chain WHERE id = 1').pluck(),
    };
    this.#highWater = (this.#sql.last.get() as { seq: number } | undefined)?.seq ?? 0;
  }

  /**
   * Appends one row to the chain. The last row is read inside the same
   * IMMEDIATE transaction, so two connections (the service and the admin
   * CLI) cannot both take the same seq. `detail` is stored as canonical JSON.
   */
  async append(entry: NewAuditEntry): Promise<AuditEntry> {
    const row = this.#db
      .transaction((): AuditRow => {
        const last = this.#sql.last.get() as { seq: number; hash: string } | undefined;
        const chained: ChainedRow = {
          seq: (last?.seq ?? 0) + 1,
          at: this.#now().toISOString(),
          sessionId: entry.sessionId,
          actor: entry.actor,
          action: entry.action,
          detail: canonicalJson(entry.detail ?? {}),
          prevHash: last?.hash ?? AUDIT_GENESIS_HASH,
        };
        const hash = keyedAuditHash(this.#key, this.#keyId, chained);
        const { seq, at, sessionId, actor, action, detail, prevHash } = chained;
        this.#sql.insert.run(seq, at, sessionId, actor.kind, actor.id, action, detail, prevHash, hash, this.#keyId);
        return {
          seq,
          at,
          session_id: sessionId,
          actor_kind: actor.kind,
          actor_id: actor.id,
          action,
          detail,
          prev_hash: prevHash,
          hash,
          key_id: this.#keyId,
        };
      })
      .immediate();
    this.#highWater = Math.max(this.#highWater, row.seq);
    return toAudit(row);
  }

  /** In seq order, after `afterSeq` (default 0); `limit` defaults to 1000, at most 10 000. */
  async list(filter: AuditQuery): Promise<AuditEntry[]> {
    const bySession = filter.sessionId !== undefined;
    const sql = `SELECT * FROM audit_log WHERE seq > @afterSeq ${bySession ? 'AND session_id = @sessionId' : ''} ORDER BY seq LIMIT @limit`;
    const rows = this.#shapes.get(sql).all({
      afterSeq: filter.afterSeq ?? 0,
      limit: clampLimit(filter.limit, 1000, 10_000),
      ...(bySession ? { sessionId: filter.sessionId } : {}),
    }) as AuditRow[];
    return rows.map(toAudit);
  }

  /**
   * Recomputes the chain from the first row and reports the first row that
   * is out of sequence (`gap`: a deleted row), whose `prev_hash` is not the
   * hash of the row before (removed or reordered rows), or whose content does
   * not give its hash (an edited row, or one chained with another key); and
   * rows missing at the end, below the highest seq this log has written or seen.
   */
  async verify(): Promise<AuditVerification> {
    // No boundary (its row deleted): every row must then be keyed, the strictest reading.
    const keyedFrom = (this.#sql.keyedFrom.get() as number | undefined) ?? 1;
    let prevHash = AUDIT_GENESIS_HASH;
    let expectedSeq = 1;
    let rows = 0;
    for (const row of this.#sql.all.iterate() as IterableIterator<AuditRow>) {
      rows++;
      const broken = (problem: AuditProblem, reason: string): AuditVerification => ({ ok: false, rows, firstBrokenSeq: row.seq, problem, reason });
      if (row.seq !== expectedSeq) return broken('gap', `expected row ${expectedSeq}, found ${row.seq}: a row is missing`);
      if (row.prev_hash !== prevHash) return broken('prev-hash-mismatch', 'prev_hash is not the hash of the row before: rows were removed or reordered');
      const mismatch = row.seq >= keyedFrom ? this.#keyedMismatch(row) : unkeyedMismatch(row);
      if (mismatch) return broken('hash-mismatch', mismatch);
      prevHash = row.hash;
      expectedSeq++;
    }
    if (rows < this.#highWater) {
      return {
        ok: false,
        rows,
        firstBrokenSeq: rows + 1,
        problem: 'gap',
        reason: `the trail ends at ${rows}; row ${this.#highWater} existed: rows were removed from the end`,
      };
    }
    this.#highWater = rows;
    return { ok: true, rows };
  }

  /** Why a row of the keyed chain does not give its hash; undefined when it does. */
  #keyedMismatch(row: AuditRow): string | undefined {
    if (row.key_id === null) return 'a row of the keyed chain names no key: it was rewritten';
    if (keyedAuditHash(this.#key, row.key_id, chainedRowOf(row)) === row.hash) return undefined;
    if (row.key_id !== this.#keyId) return `the row names key ${row.key_id}, not this AUDIT_KEY's ${this.#keyId}: another key, or the row was edited`;
    return 'the content does not match its HMAC: the row was edited';
  }
}

/** Why a row from before the key does not give its SHA-256; undefined when it does. */
function unkeyedMismatch(row: AuditRow): string | undefined {
  if (row.key_id !== null) return 'a row from before the key names a key: the chain was altered';
  return unkeyedAuditHash(chainedRowOf(row)) === row.hash ? undefined : 'the content does not match its hash: the row was edited';
}

function chainedRowOf(row: AuditRow): ChainedRow {
  return {
    seq: row.seq,
    at: row.at,
    sessionId: row.session_id,
    actor: { kind: row.actor_kind, id: row.actor_id },
    action: row.action,
    detail: row.detail,
    prevHash: row.prev_hash,
  };
}

function toAudit(r: AuditRow): AuditEntry {
  return { ...chainedRowOf(r), detail: JSON.parse(r.detail) as Record<string, unknown>, hash: r.hash };
}
