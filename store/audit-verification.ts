import { AUDIT_GENESIS_HASH, canonicalJson, keyedAuditHash, unkeyedAuditHash, type ChainedRow } from './audit-chain.js';
import type { AuditProblem, AuditVerification, NewAuditEntry } from './audit-log.js';
import { chainedRowOf, type AuditRow } from './store-rows.js';

/** The key an audit log chains with, and its id (audit-chain.ts). */
export interface AuditKey {
  readonly key: Buffer;
  readonly keyId: string;
}

/**
 * The row that follows `last` (undefined: the first) for `entry`, chained
 * with the key. Both adapters write it inside a transaction that read `last`
 * under a lock, so two processes never take the same seq.
 */
export function nextAuditRow(entry: NewAuditEntry, last: { seq: number; hash: string } | undefined, key: AuditKey, at: Date): AuditRow {
  const chained: ChainedRow = {
    seq: (last?.seq ?? 0) + 1,
    at: at.toISOString(),
    sessionId: entry.sessionId,
    actor: entry.actor,
    action: entry.action,
    detail: canonicalJson(entry.detail ?? {}),
    prevHash: last?.hash ?? AUDIT_GENESIS_HASH,
  };
  const { seq, sessionId, actor, action, detail, prevHash } = chained;
  return {
    seq,
    at: chained.at,
    session_id: sessionId,
    actor_kind: actor.kind,
    actor_id: actor.id,
    action,
    detail,
    prev_hash: prevHash,
    hash: keyedAuditHash(key.key, key.keyId, chained),
    key_id: key.keyId,
  };
}

/**
 * Recomputes the chain from the first row (`rows` in seq order) and reports
 * the first row that is out of sequence (`gap`: a deleted row), whose
 * `prev_hash` is not the hash of the row before (removed or reordered rows),
 * or whose content does not give its hash (an edited row, or one chained with
 * another key); and rows missing at the end, below `highWater` (the highest
 * seq the log has written or seen). Rows from `keyedFrom` on must be keyed.
 */
export function verifyAuditChain(rows: Iterable<AuditRow>, key: AuditKey, keyedFrom: number, highWater: number): AuditVerification {
  let prevHash = AUDIT_GENESIS_HASH;
  let expectedSeq = 1;
  let count = 0;
  for (const row of rows) {
    count++;
    const broken = (problem: AuditProblem, reason: string): AuditVerification => ({ ok: false, rows: count, firstBrokenSeq: row.seq, problem, reason });
    if (row.seq !== expectedSeq) return broken('gap', `expected row ${expectedSeq}, found ${row.seq}: a row is missing`);
    if (row.prev_hash !== prevHash) return broken('prev-hash-mismatch', 'prev_hash is not the hash of the row before: rows were removed or reordered');
    const mismatch = row.seq >= keyedFrom ? keyedMismatch(row, key) : unkeyedMismatch(row);
    if (mismatch) return broken('hash-mismatch', mismatch);
    prevHash = row.hash;
    expectedSeq++;
  }
  if (count < highWater) {
    return {
      ok: false,
      rows: count,
      firstBrokenSeq: count + 1,
      problem: 'gap',
      reason: `the trail ends at ${count}; row ${highWater} existed: rows were removed from the end`,
    };
  }
  return { ok: true, rows: count };
}

/** Why a row of the keyed chain does not give its hash; undefined when it does. */
function keyedMismatch(row: AuditRow, key: AuditKey): string | undefined {
  if (row.key_id === null) return 'a row of the keyed chain names no key: it was rewritten';
  if (keyedAuditHash(key.key, row.key_id, chainedRowOf(row)) === row.hash) return undefined;
  if (row.key_id !== key.keyId) return `the row names key ${row.key_id}, not this AUDIT_KEY's ${key.keyId}: another key, or the row was edited`;
  return 'the content does not match its HMAC: the row was edited';
}

/** Why a row from before the key does not give its SHA-256; undefined when it does. */
function unkeyedMismatch(row: AuditRow): string | undefined {
  if (row.key_id !== null) return 'a row from before the key names a key: the chain was altered';
  return unkeyedAuditHash(chainedRowOf(row)) === row.hash ? undefined : 'the content does not match its hash: the row was edited';
}
