import { createHash } from 'node:crypto';
import type { Database, Statement } from 'better-sqlite3';
import type { Actor } from '../domain/actor.js';
import { clampLimit, QueryShapes } from './sqlite-query-shapes.js';
import type { AuditEntry, AuditLog, AuditQuery, AuditVerification, NewAuditEntry } from './audit-log.js';

export interface SqliteAuditLogOptions {
  /** The clock of every row's `at`. Default: the wall clock. */
  readonly now?: () => Date;
}

/** The `prev_hash` of the first audit row. */
export const AUDIT_GENESIS_HASH = '0'.repeat(64);

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
}

/**
 * The audit trail in the payment database's `audit_log` table (migration 1),
 * on the payment store's connection. Each row carries the SHA-256 of its own
 * content and of the row before, so an edit, a deletion or a reordering is
 * found by `verify` (PCI DSS 4.0 req. 10.3.4); triggers refuse UPDATE and
 * DELETE on it (req. 10.3.2).
 *
 * An append inside a transaction already open on the same connection (a
 * session write, a `durableTransaction`) joins it: better-sqlite3 nests it
 * as a savepoint, so the row commits or rolls back with what caused it.
 */
export class SqliteAuditLog implements AuditLog {
  readonly #db: Database;
  readonly #now: () => Date;
  readonly #sql: Record<'insert' | 'last' | 'all', Statement>;
  readonly #shapes: QueryShapes;
  /** The highest seq this log has written or seen: a truncated tail is found against it. */
  #highWater = 0;

  constructor(db: Database, options: SqliteAuditLogOptions = {}) {
    this.#db = db;
    this.#now = options.now ?? (() => new Date());
    this.#shapes = new QueryShapes(db);
    const p = (sql: string): Statement => db.prepare(sql);
    this.#sql = {
      insert: p(`INSERT INTO audit_log (seq, at, session_id, actor_kind, actor_id, action, detail, prev_hash, hash)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      last: p('SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1'),
      all: p('SELECT * FROM audit_log ORDER BY seq'),
    };
    this.#highWater = (this.#sql.last.get() as { seq: number } | undefined)?.seq ?? 0;
  }

  /**
   * Appends one row to the chain. The last row is read inside the same
   * IMMEDIATE transaction, so two connections (the service and the admin
   * CLI) cannot both take the same seq. `detail` is stored as canonical JSON.
   */
  append(entry: NewAuditEntry): AuditEntry {
    const row = this.#db
      .transaction((): AuditRow => {
        const last = this.#sql.last.get() as { seq: number; hash: string } | undefined;
        const seq = (last?.seq ?? 0) + 1;
        const prevHash = last?.hash ?? AUDIT_GENESIS_HASH;
        const at = this.#now().toISOString();
        const detail = canonicalJson(entry.detail ?? {});
        const hash = auditHash({ seq, at, sessionId: entry.sessionId, actor: entry.actor, action: entry.action, detail, prevHash });
        this.#sql.insert.run(seq, at, entry.sessionId, entry.actor.kind, entry.actor.id, entry.action, detail, prevHash, hash);
        return {
          seq,
          at,
          session_id: entry.sessionId,
          actor_kind: entry.actor.kind,
          actor_id: entry.actor.id,
          action: entry.action,
          detail,
          prev_hash: prevHash,
          hash,
        };
      })
      .immediate();
    this.#highWater = Math.max(this.#highWater, row.seq);
    return toAudit(row);
  }

  /** In seq order, after `afterSeq` (default 0); `limit` defaults to 1000, at most 10 000. */
  list(filter: AuditQuery): AuditEntry[] {
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
   * Recomputes the chain from the first row. Reports the first row that is
   * out of sequence (a deleted row leaves a gap), whose `prev_hash` is not
   * the hash of the row before (deleted or reordered rows), or whose content
   * does not match its hash (an edited row); and rows missing at the end,
   * below the highest seq this log has written or seen.
   */
  verify(): AuditVerification {
    let prevHash = AUDIT_GENESIS_HASH;
    let expectedSeq = 1;
    let rows = 0;
    for (const row of this.#sql.all.iterate() as IterableIterator<AuditRow>) {
      rows++;
      const fail = (reason: string): AuditVerification => ({ ok: false, rows, firstBrokenSeq: row.seq, reason });
      if (row.seq !== expectedSeq) return fail(`expected row ${expectedSeq}, found ${row.seq}: a row is missing`);
      if (row.prev_hash !== prevHash) return fail('prev_hash is not the hash of the row before: rows were removed or reordered');
      const hash = auditHash({
        seq: row.seq,
        at: row.at,
        sessionId: row.session_id,
        actor: { kind: row.actor_kind, id: row.actor_id },
        action: row.action,
        detail: row.detail,
        prevHash: row.prev_hash,
      });
      if (hash !== row.hash) return fail('the content does not match its hash: the row was edited');
      prevHash = row.hash;
      expectedSeq++;
    }
    if (rows < this.#highWater) {
      return { ok: false, rows, firstBrokenSeq: rows + 1, reason: `the trail ends at ${rows}; row ${this.#highWater} existed: rows were removed from the end` };
    }
    this.#highWater = rows;
    return { ok: true, rows };
  }

}

/**
 * The hash of one audit row: SHA-256, hex, over the JSON array
 * [seq, at, session_id, actor_kind, actor_id, action, detail, prev_hash],
 * where `detail` is the stored canonical JSON text.
 */
export function auditHash(row: {
  seq: number;
  at: string;
  sessionId: string | null;
  actor: Actor;
  action: string;
  detail: string;
  prevHash: string;
}): string {
  const canonical = JSON.stringify([row.seq, row.at, row.sessionId, row.actor.kind, row.actor.id, row.action, row.detail, row.prevHash]);
  return createHash('sha256').update(canonical, 'utf8').digest('hex');
}

/** JSON with object keys sorted at every depth, so the same detail always hashes the same. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

function toAudit(r: AuditRow): AuditEntry {
  return {
    seq: r.seq,
    at: r.at,
    sessionId: r.session_id,
    actor: { kind: r.actor_kind, id: r.actor_id },
    action: r.action,
    detail: JSON.parse(r.detail) as Record<string, unknown>,
    prevHash: r.prev_hash,
    hash: r.hash,
  };
}
