import { AUDIT_KEY_MIN_BYTES, auditKeyId } from './audit-chain.js';
import type { AuditEntry, AuditLog, AuditQuery, AuditVerification, NewAuditEntry } from './audit-log.js';
import { nextAuditRow, verifyAuditChain, type AuditKey } from './audit-verification.js';
import { ADVISORY_LOCKS, inTransaction, parameters, type Pool } from './postgres-pool.js';
import { clampLimit } from './sqlite-query-shapes.js';
import { AuditKeyError } from './store-errors.js';
import { toAudit, type AuditRow } from './store-rows.js';

export interface PostgresAuditLogOptions {
  /** AUDIT_KEY, at least 32 bytes: each row is chained with its HMAC. */
  readonly key: Buffer;
  /** The clock of every row's `at`. Default: the wall clock. */
  readonly now?: () => Date;
}

/**
 * The audit trail in PostgreSQL's `audit_log`, one chain for every node:
 * each append takes a transaction-level advisory lock before it reads the
 * last row, so two nodes never take the same seq; PL/pgSQL triggers refuse
 * UPDATE, DELETE and TRUNCATE (PCI DSS 4.0 req. 10.3.2). Rows are chained and
 * verified as on SQLite (audit-verification.ts).
 */
export class PostgresAuditLog implements AuditLog {
  readonly #pool: Pool;
  readonly #auditKey: AuditKey;
  readonly #now: () => Date;
  /** The highest seq this log has written or seen: a truncated tail is found against it. */
  #highWater = 0;

  /** @throws AuditKeyError when the key is shorter than 32 bytes */
  constructor(pool: Pool, options: PostgresAuditLogOptions) {
    if (options.key.length < AUDIT_KEY_MIN_BYTES) throw new AuditKeyError(options.key.length);
    this.#pool = pool;
    this.#auditKey = { key: options.key, keyId: auditKeyId(options.key) };
    this.#now = options.now ?? (() => new Date());
  }

  async append(entry: NewAuditEntry): Promise<AuditEntry> {
    const row = await inTransaction(this.#pool, async (client) => {
      await client.query('SELECT pg_advisory_xact_lock($1)', [ADVISORY_LOCKS.auditAppend]);
      const last = (await client.query<{ seq: number; hash: string }>('SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1')).rows[0];
      const next = nextAuditRow(entry, last, this.#auditKey, this.#now());
      await client.query(
        `INSERT INTO audit_log (seq, at, session_id, actor_kind, actor_id, action, detail, prev_hash, hash, key_id)
          VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
        [next.seq, next.at, next.session_id, next.actor_kind, next.actor_id, next.action, next.detail, next.prev_hash, next.hash, next.key_id],
      );
      return next;
    });
    this.#highWater = Math.max(this.#highWater, row.seq);
    return toAudit(row);
  }

  /** In seq order, after `afterSeq` (default 0); `limit` defaults to 1000, at most 10 000. */
  async list(filter: AuditQuery): Promise<AuditEntry[]> {
    const { values, p } = parameters();
    const bySession = filter.sessionId !== undefined ? `AND session_id = ${p(filter.sessionId)}` : '';
    const { rows } = await this.#pool.query<AuditRow>(
      `SELECT * FROM audit_log WHERE seq > ${p(filter.afterSeq ?? 0)} ${bySession} ORDER BY seq LIMIT ${p(clampLimit(filter.limit, 1000, 10_000))}`,
      values,
    );
    return rows.map(toAudit);
  }

  /** Recomputes the chain (verifyAuditChain), and finds rows cut from the end below the highest seq this log has written or seen. */
  async verify(): Promise<AuditVerification> {
    const keyed = await this.#pool.query<{ keyed_from_seq: number }>('SELECT keyed_from_seq FROM audit_chain WHERE id = 1');
    // No boundary (its row deleted): every row must then be keyed, the strictest reading.
    const keyedFrom = keyed.rows[0]?.keyed_from_seq ?? 1;
    const { rows } = await this.#pool.query<AuditRow>('SELECT * FROM audit_log ORDER BY seq');
    const verdict = verifyAuditChain(rows, this.#auditKey, keyedFrom, this.#highWater);
    if (verdict.ok) this.#highWater = verdict.rows;
    return verdict;
  }
}
