import { createHash, randomBytes } from 'node:crypto';
import { chmodSync } from 'node:fs';
import { join } from 'node:path';
import Database, { type Database as Db, type Statement } from 'better-sqlite3';
import type { CardBrand } from '../ivr/domain/card-brand.js';
import type { DeclineReason, PaymentStatus } from '../ivr/domain/payment-types.js';
import { migrate } from './migrations.js';
import type {
  Actor,
  AuditEntry,
  AuditVerification,
  AuthorisationRecord,
  AuthorisationState,
  CaptureAttemptRecord,
  NewPaymentSession,
  PaymentQuery,
  PaymentSessionRecord,
  PaymentSessionUpdate,
  PaymentStore,
} from './payment-store.js';
import {
  AuthorisationNotFoundError,
  IdempotencyKeyConflictError,
  InvalidStatusTransitionError,
  PaymentNotFoundError,
} from './store-errors.js';

export interface SqlitePaymentStoreOptions {
  /** The database is `<dataDir>/payments.db`. */
  readonly dataDir: string;
  /** Default: the wall clock. */
  readonly now?: () => Date;
}

/** Legal status changes (payment-types.ts); a status may also stay as it is. */
const NEXT_STATUS: Readonly<Record<PaymentStatus, readonly PaymentStatus[]>> = {
  pending: ['capturing', 'authorising', 'abandoned', 'cancelled', 'failed', 'error'],
  capturing: ['authorising', 'abandoned', 'cancelled', 'failed', 'error'],
  authorising: ['approved', 'declined', 'in_doubt', 'error'],
  in_doubt: ['approved', 'declined', 'error'],
  approved: [],
  declined: [],
  failed: [],
  abandoned: [],
  cancelled: [],
  error: [],
};

const GENESIS_HASH = '0'.repeat(64);

interface SessionRow {
  id: string;
  mode: PaymentSessionRecord['mode'];
  reference: string;
  amount_minor: number;
  currency: string;
  description: string | null;
  status: PaymentStatus;
  card_brand: CardBrand | null;
  card_last4: string | null;
  psp_reference: string | null;
  auth_code: string | null;
  decline_reason: DeclineReason | null;
  idempotency_key: string | null;
  call_id: string | null;
  language: string | null;
  agent_id: string | null;
  session_code: string | null;
  agent_uri: string | null;
  auto_capture: number;
  created_at: string;
  updated_at: string;
}

interface AuthorisationRow {
  idempotency_key: string;
  session_id: string;
  psp: string;
  amount_minor: number;
  currency: string;
  state: AuthorisationState;
  psp_reference: string | null;
  detail: string | null;
  requested_at: string;
  resolved_at: string | null;
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
}

const UPDATE_COLUMNS: Readonly<Record<keyof PaymentSessionUpdate, string>> = {
  status: 'status',
  cardBrand: 'card_brand',
  cardLast4: 'card_last4',
  pspReference: 'psp_reference',
  authCode: 'auth_code',
  declineReason: 'decline_reason',
  idempotencyKey: 'idempotency_key',
  callId: 'call_id',
};

/**
 * The store on SQLite (better-sqlite3): WAL journal, foreign keys, prepared
 * statements made once. The audit trail is a hash chain: each row carries
 * the SHA-256 of its content and of the row before, so an edit, a deletion
 * or a reordering is found by `verifyAudit` (PCI DSS 4.0 req. 10.3.4).
 */
export class SqlitePaymentStore implements PaymentStore {
  readonly path: string;
  readonly #db: Db;
  readonly #now: () => Date;
  readonly #sql: Record<string, Statement>;
  #lastHash: string;
  #lastSeq: number;

  constructor(options: SqlitePaymentStoreOptions) {
    this.path = join(options.dataDir, 'payments.db');
    this.#now = options.now ?? (() => new Date());
    this.#db = new Database(this.path);
    // Payment records are for the service account only (the folder is 0700 too).
    chmodSync(this.path, 0o600);
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma('foreign_keys = ON');
    this.#db.pragma('busy_timeout = 5000');
    // A committed payment survives a power cut, not only a process crash.
    this.#db.pragma('synchronous = FULL');
    migrate(this.#db);
    const p = (sql: string): Statement => this.#db.prepare(sql);
    this.#sql = {
      insertSession: p(`INSERT INTO payment_sessions (id, mode, reference, amount_minor, currency, description, status, call_id, language,
          agent_id, session_code, agent_uri, auto_capture, created_at, updated_at)
        VALUES (@id, @mode, @reference, @amount_minor, @currency, @description, 'pending', @call_id, @language,
          @agent_id, @session_code, @agent_uri, @auto_capture, @at, @at)`),
      getSession: p('SELECT * FROM payment_sessions WHERE id = ?'),
      insertAttempt: p('INSERT INTO capture_attempts (session_id, field, attempt, outcome, at) VALUES (?, ?, ?, ?, ?)'),
      listAttempts: p('SELECT session_id, field, attempt, outcome, at FROM capture_attempts WHERE session_id = ? ORDER BY id'),
      insertAuthorisation: p(`INSERT INTO authorisations (idempotency_key, session_id, psp, amount_minor, currency, state, requested_at)
        VALUES (?, ?, ?, ?, ?, 'requested', ?)`),
      getAuthorisation: p('SELECT * FROM authorisations WHERE idempotency_key = ?'),
      resolveAuthorisation: p('UPDATE authorisations SET state = ?, psp_reference = ?, detail = ?, resolved_at = ? WHERE idempotency_key = ?'),
      insertAudit: p(`INSERT INTO audit_log (seq, at, session_id, actor_kind, actor_id, action, detail, prev_hash, hash)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      lastAudit: p('SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1'),
      allAudit: p('SELECT * FROM audit_log ORDER BY seq'),
      probe: p('INSERT INTO store_probe (id, at) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET at = excluded.at'),
    };
    const last = this.#sql.lastAudit!.get() as { seq: number; hash: string } | undefined;
    this.#lastSeq = last?.seq ?? 0;
    this.#lastHash = last?.hash ?? GENESIS_HASH;
  }

  createSession(input: NewPaymentSession): PaymentSessionRecord {
    const id = input.id ?? `pay_${randomBytes(10).toString('hex')}`;
    this.#sql.insertSession!.run({
      id,
      mode: input.mode,
      reference: input.reference,
      amount_minor: input.amountMinor,
      currency: input.currency,
      description: input.description ?? null,
      call_id: input.callId ?? null,
      language: input.language ?? null,
      agent_id: input.agentId ?? null,
      session_code: input.code ?? null,
      agent_uri: input.agentUri ?? null,
      auto_capture: input.autoCapture === false ? 0 : 1,
      at: this.#stamp(),
    });
    return this.getSession(id)!;
  }

  getSession(id: string): PaymentSessionRecord | undefined {
    const row = this.#sql.getSession!.get(id) as SessionRow | undefined;
    return row && toSession(row);
  }

  updateSession(id: string, update: PaymentSessionUpdate): PaymentSessionRecord {
    return this.#db.transaction(() => {
      const current = this.getSession(id);
      if (!current) throw new PaymentNotFoundError(id);
      if (update.status && update.status !== current.status && !NEXT_STATUS[current.status].includes(update.status)) {
        throw new InvalidStatusTransitionError(id, current.status, update.status);
      }
      const sets: string[] = [];
      const values: unknown[] = [];
      for (const [key, column] of Object.entries(UPDATE_COLUMNS) as [keyof PaymentSessionUpdate, string][]) {
        if (update[key] !== undefined) {
          sets.push(`${column} = ?`);
          values.push(update[key]);
        }
      }
      if (sets.length > 0) {
        // Columns come from UPDATE_COLUMNS only, never from input.
        this.#db.prepare(`UPDATE payment_sessions SET ${sets.join(', ')}, updated_at = ? WHERE id = ?`).run(...values, this.#stamp(), id);
      }
      return this.getSession(id)!;
    })();
  }

  listSessions(query: PaymentQuery): PaymentSessionRecord[] {
    const where: string[] = [];
    const values: unknown[] = [];
    if (query.reference !== undefined) {
      where.push('reference = ?');
      values.push(query.reference);
    }
    if (query.status !== undefined) {
      where.push('status = ?');
      values.push(query.status);
    }
    if (query.mode !== undefined) {
      where.push('mode = ?');
      values.push(query.mode);
    }
    if (query.agentId !== undefined) {
      where.push('agent_id = ?');
      values.push(query.agentId);
    }
    if (query.code !== undefined) {
      where.push('session_code = ?');
      values.push(query.code);
    }
    const limit = Math.min(Math.max(query.limit ?? 100, 1), 1000);
    const sql = `SELECT * FROM payment_sessions ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, rowid DESC LIMIT ${limit}`;
    return (this.#db.prepare(sql).all(...values) as SessionRow[]).map(toSession);
  }

  recordCaptureAttempt(attempt: Omit<CaptureAttemptRecord, 'at'>): CaptureAttemptRecord {
    const at = this.#stamp();
    this.#sql.insertAttempt!.run(attempt.sessionId, attempt.field, attempt.attempt, attempt.outcome, at);
    return { ...attempt, at };
  }

  listCaptureAttempts(sessionId: string): CaptureAttemptRecord[] {
    return (this.#sql.listAttempts!.all(sessionId) as { session_id: string; field: CaptureAttemptRecord['field']; attempt: number; outcome: CaptureAttemptRecord['outcome']; at: string }[]).map(
      (r) => ({ sessionId: r.session_id, field: r.field, attempt: r.attempt, outcome: r.outcome, at: r.at }),
    );
  }

  recordAuthorisationIntent(input: { idempotencyKey: string; sessionId: string; psp: string; amountMinor: number; currency: string }): AuthorisationRecord {
    return this.#db.transaction(() => {
      const existing = this.getAuthorisation(input.idempotencyKey);
      if (existing) {
        if (existing.sessionId !== input.sessionId) throw new IdempotencyKeyConflictError(input.idempotencyKey);
        return existing;
      }
      this.#sql.insertAuthorisation!.run(input.idempotencyKey, input.sessionId, input.psp, input.amountMinor, input.currency, this.#stamp());
      return this.getAuthorisation(input.idempotencyKey)!;
    })();
  }

  resolveAuthorisation(
    idempotencyKey: string,
    update: { state: AuthorisationState; pspReference?: string | null; detail?: string | null },
  ): AuthorisationRecord {
    const current = this.getAuthorisation(idempotencyKey);
    if (!current) throw new AuthorisationNotFoundError(idempotencyKey);
    const resolvedAt = update.state === 'requested' || update.state === 'in_doubt' ? null : this.#stamp();
    this.#sql.resolveAuthorisation!.run(
      update.state,
      update.pspReference ?? current.pspReference,
      update.detail ?? current.detail,
      resolvedAt,
      idempotencyKey,
    );
    return this.getAuthorisation(idempotencyKey)!;
  }

  getAuthorisation(idempotencyKey: string): AuthorisationRecord | undefined {
    const row = this.#sql.getAuthorisation!.get(idempotencyKey) as AuthorisationRow | undefined;
    return row && toAuthorisation(row);
  }

  listAuthorisations(filter: { state?: AuthorisationState; sessionId?: string }): AuthorisationRecord[] {
    const where: string[] = [];
    const values: unknown[] = [];
    if (filter.state) {
      where.push('state = ?');
      values.push(filter.state);
    }
    if (filter.sessionId) {
      where.push('session_id = ?');
      values.push(filter.sessionId);
    }
    const sql = `SELECT * FROM authorisations ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY requested_at`;
    return (this.#db.prepare(sql).all(...values) as AuthorisationRow[]).map(toAuthorisation);
  }

  appendAudit(entry: { sessionId: string | null; actor: Actor; action: string; detail?: Record<string, unknown> }): AuditEntry {
    return this.#db.transaction(() => {
      const seq = this.#lastSeq + 1;
      const at = this.#stamp();
      const detail = canonicalJson(entry.detail ?? {});
      const prevHash = this.#lastHash;
      const hash = auditHash({ seq, at, sessionId: entry.sessionId, actor: entry.actor, action: entry.action, detail, prevHash });
      this.#sql.insertAudit!.run(seq, at, entry.sessionId, entry.actor.kind, entry.actor.id, entry.action, detail, prevHash, hash);
      this.#lastSeq = seq;
      this.#lastHash = hash;
      return { seq, at, sessionId: entry.sessionId, actor: entry.actor, action: entry.action, detail: entry.detail ?? {}, prevHash, hash };
    })();
  }

  listAudit(filter: { sessionId?: string; afterSeq?: number; limit?: number }): AuditEntry[] {
    const where: string[] = ['seq > ?'];
    const values: unknown[] = [filter.afterSeq ?? 0];
    if (filter.sessionId) {
      where.push('session_id = ?');
      values.push(filter.sessionId);
    }
    const limit = Math.min(Math.max(filter.limit ?? 1000, 1), 10_000);
    const rows = this.#db.prepare(`SELECT * FROM audit_log WHERE ${where.join(' AND ')} ORDER BY seq LIMIT ${limit}`).all(...values) as AuditRow[];
    return rows.map(toAudit);
  }

  verifyAudit(): AuditVerification {
    let prevHash = GENESIS_HASH;
    let expectedSeq = 1;
    let rows = 0;
    for (const row of this.#sql.allAudit!.iterate() as IterableIterator<AuditRow>) {
      rows++;
      const fail = (reason: string): AuditVerification => ({ ok: false, rows, firstBrokenSeq: row.seq, reason });
      if (row.seq !== expectedSeq) return fail(`expected row ${expectedSeq}, found ${row.seq} (a row is missing)`);
      if (row.prev_hash !== prevHash) return fail('prev_hash does not match the row before');
      const hash = auditHash({
        seq: row.seq,
        at: row.at,
        sessionId: row.session_id,
        actor: { kind: row.actor_kind, id: row.actor_id },
        action: row.action,
        detail: row.detail,
        prevHash: row.prev_hash,
      });
      if (hash !== row.hash) return fail('content does not match its hash (the row was edited)');
      prevHash = row.hash;
      expectedSeq++;
    }
    return { ok: true, rows };
  }

  /** The open database, for the sibling SQLite adapters (identities) that share the file. */
  get database(): Db {
    return this.#db;
  }

  isWritable(): boolean {
    try {
      this.#sql.probe!.run(this.#stamp());
      return true;
    } catch {
      return false;
    }
  }

  close(): void {
    if (this.#db.open) this.#db.close();
  }

  #stamp(): string {
    return this.#now().toISOString();
  }
}

function auditHash(row: { seq: number; at: string; sessionId: string | null; actor: Actor; action: string; detail: string; prevHash: string }): string {
  const canonical = JSON.stringify([row.seq, row.at, row.sessionId, row.actor.kind, row.actor.id, row.action, row.detail, row.prevHash]);
  return createHash('sha256').update(canonical).digest('hex');
}

/** JSON with object keys sorted, so the same detail always hashes the same. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

function toSession(r: SessionRow): PaymentSessionRecord {
  return {
    id: r.id,
    mode: r.mode,
    reference: r.reference,
    amountMinor: r.amount_minor,
    currency: r.currency,
    description: r.description,
    status: r.status,
    cardBrand: r.card_brand,
    cardLast4: r.card_last4,
    pspReference: r.psp_reference,
    authCode: r.auth_code,
    declineReason: r.decline_reason,
    idempotencyKey: r.idempotency_key,
    callId: r.call_id,
    language: r.language,
    agentId: r.agent_id,
    code: r.session_code,
    agentUri: r.agent_uri,
    autoCapture: r.auto_capture === 1,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

function toAuthorisation(r: AuthorisationRow): AuthorisationRecord {
  return {
    idempotencyKey: r.idempotency_key,
    sessionId: r.session_id,
    psp: r.psp,
    amountMinor: r.amount_minor,
    currency: r.currency,
    state: r.state,
    pspReference: r.psp_reference,
    detail: r.detail,
    requestedAt: r.requested_at,
    resolvedAt: r.resolved_at,
  };
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
