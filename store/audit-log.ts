import type { Actor } from '../domain/actor.js';

/** One row of the audit trail: who did what to which payment, and when. */
export interface AuditEntry {
  readonly seq: number;
  readonly at: string;
  readonly sessionId: string | null;
  readonly actor: Actor;
  readonly action: string;
  /** Masked details only (brand, last four, error type...). */
  readonly detail: Record<string, unknown>;
  readonly prevHash: string;
  readonly hash: string;
}

export interface NewAuditEntry {
  readonly sessionId: string | null;
  readonly actor: Actor;
  readonly action: string;
  readonly detail?: Record<string, unknown>;
}

export interface AuditQuery {
  readonly sessionId?: string;
  readonly afterSeq?: number;
  readonly limit?: number;
}

/**
 * Why a row breaks the chain: `gap`, a seq is missing (a row deleted, or rows
 * cut from the end); `prev-hash-mismatch`, its prev_hash is not the hash of
 * the row before (rows removed or reordered); `hash-mismatch`, its content
 * does not give its hash (the row edited, or chained with another key).
 */
export type AuditProblem = 'gap' | 'prev-hash-mismatch' | 'hash-mismatch';

export type AuditVerification =
  | { readonly ok: true; readonly rows: number }
  | {
      readonly ok: false;
      /** Rows read, the broken one included. */
      readonly rows: number;
      readonly firstBrokenSeq: number;
      readonly problem: AuditProblem;
      /** One line for a person: what was found at that row. */
      readonly reason: string;
    };

/**
 * The audit trail port: append-only, each row chained to the one before with
 * a keyed hash so an edit, a deletion or a reordering is found (PCI DSS 4.0
 * req. 10.2.1, 10.3.2, 10.3.4).
 */
export interface AuditLog {
  append(entry: NewAuditEntry): Promise<AuditEntry>;
  /** In seq order. */
  list(filter: AuditQuery): Promise<AuditEntry[]>;
  /** Recomputes the chain and reports the first broken row. */
  verify(): Promise<AuditVerification>;
}
