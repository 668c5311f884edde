import { createHash, createHmac } from 'node:crypto';
import type { Actor } from '../domain/actor.js';

/** The `prev_hash` of the first audit row. */
export const AUDIT_GENESIS_HASH = '0'.repeat(64);

/** The least key length: HMAC-SHA-256's output length (RFC 2104 §3). */
export const AUDIT_KEY_MIN_BYTES = 32;

/** One audit row as it is chained; `detail` is the stored canonical JSON text. */
export interface ChainedRow {
  readonly seq: number;
  readonly at: string;
  readonly sessionId: string | null;
  readonly actor: Actor;
  readonly action: string;
  readonly detail: string;
  readonly prevHash: string;
}

/**
 * The hash of a row chained with the key (migration 5 on): HMAC-SHA-256,
 * hex, over `prev_hash` followed by the JSON array
 * [seq, at, session_id, actor_kind, actor_id, action, detail, key_id].
 * Without the key nobody can recompute it, so a row edited by someone who
 * can write the database but not read the key is found (PCI DSS 4.0 req. 10.3.2).
 */
export function keyedAuditHash(key: Buffer, keyId: string, row: ChainedRow): string {
  const canonical = JSON.stringify([row.seq, row.at, row.sessionId, row.actor.kind, row.actor.id, row.action, row.detail, keyId]);
  return createHmac('sha256', key).update(row.prevHash, 'utf8').update(canonical, 'utf8').digest('hex');
}

/**
 * The hash of a row written before the chain was keyed: SHA-256, hex, over
 * the JSON array [seq, at, session_id, actor_kind, actor_id, action, detail, prev_hash].
 */
export function unkeyedAuditHash(row: ChainedRow): string {
  const canonical = JSON.stringify([row.seq, row.at, row.sessionId, row.actor.kind, row.actor.id, row.action, row.detail, row.prevHash]);
  return createHash('sha256').update(canonical, 'utf8').digest('hex');
}

/**
 * Names a key without revealing it: the first 16 hex digits of its HMAC over
 * a fixed label. Stored with each keyed row, so a verification with another
 * key says so rather than only "edited".
 */
export function auditKeyId(key: Buffer): string {
  return createHmac('sha256', key).update('audit-key-id', 'utf8').digest('hex').slice(0, 16);
}

/** JSON with object keys sorted at every depth, so the same detail always hashes the same. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}
