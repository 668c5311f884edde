import type { Database, Statement } from 'better-sqlite3';
import { AUDIT_KEY_MIN_BYTES, auditKeyId } from './audit-chain.js';
import type { AuditEntry, AuditLog, AuditQuery, AuditVerification, NewAuditEntry } from './audit-log.js';
import { nextAuditRow, verifyAuditChain, type AuditKey } from './audit-verification.js';
import { clampLimit, QueryShapes } from './sqlite-query-shapes.js';
import { AuditKeyError } from './store-errors.js';
import { toAudit, type AuditRow } from './store-rows.js';

export interface SqliteAuditLogOptions {
  /** AUDIT_KEY, at least 32 bytes: each row is chained with its HMAC. */
  readonly key: Buffer;
  /** The clock of every row's `at`. Default: the wall clock. */
  readonly now?: () => Date;
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
  readonly #auditKey: AuditKey;
  readonly #now: () => Date;
  readonly #sql: Record<'insert' | 'last' | 'all' | 'keyedFrom', Statement>;
  readonly #shapes: QueryShapes;
  /** The highest seq this log has written or seen: a truncated tail is found against it. */
  #highWater = 0;

  /** @throws AuditKeyError when the key is shorter than 32 bytes */
  constructor(db: Database, options: SqliteAuditLogOptions) {
    if (options.key.length < AUDIT_KEY_MIN_BYTES) throw new AuditKeyError(options.key.length);
    this.#db = db;
    this.#auditKey = { key: options.key, keyId: auditKeyId(options.key) };
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
        const next = nextAuditRow(entry, this.#sql.last.get() as { seq: number; hash: string } | undefined, this.#auditKey, this.#now());
        const { seq, at, session_id, actor_kind, actor_id, action, detail, prev_hash, hash, key_id } = next;
        this.#sql.insert.run(seq, at, session_id, actor_kind, actor_id, action, detail, prev_hash, hash, key_id);
        return next;
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

  /** Recomputes the chain (verifyAuditChain), and finds rows cut from the end below the highest seq this log has written or seen. */
  async verify(): Promise<AuditVerification> {
    // No boundary (its row deleted): every row must then be keyed, the strictest reading.
    const keyedFrom = (this.#sql.keyedFrom.get() as number | undefined) ?? 1;
    const verdict = verifyAuditChain(this.#sql.all.iterate() as IterableIterator<AuditRow>, this.#auditKey, keyedFrom, this.#highWater);
    if (verdict.ok) this.#highWater = verdict.rows;
    return verdict;
  }
}
