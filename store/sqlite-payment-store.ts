import { chmodSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database, { type Database as Db, type Statement } from 'better-sqlite3';
import type { CurrencyCode } from '../domain/payment-types.js';
import { durableTransaction } from './durable-transaction.js';
import { migrate } from './migrations.js';
import { clampLimit, QueryShapes } from './sqlite-query-shapes.js';
import { changeRow, settleIntent, type IntentAnswer } from './state-change.js';
import type {
  AuthorisationRecord,
  CaptureAttemptRecord,
  ClusterJob,
  NewPaymentSession,
  NodeRecord,
  PaymentQuery,
  PaymentSessionRecord,
  PaymentSessionUpdate,
  PaymentStore,
} from './payment-store.js';
import type { AuthorisationState } from '../domain/payment-lifecycle.js';
import { IdempotencyKeyConflictError, PaymentNotFoundError } from './store-errors.js';
import { newOpaqueId } from '../domain/opaque-id.js';
import { newConfirmationCode } from '../domain/confirmation-code.js';
import { FINAL_PAYMENT_STATUSES } from '../domain/payment-types.js';
import {
  AUTHORISATION_LIFECYCLE,
  SESSION_FILTERS,
  SESSION_LIFECYCLE,
  toAuthorisation,
  toNode,
  toSession,
  UPDATE_COLUMNS,
  type AttemptRow,
  type AuthorisationRow,
  type NodeRow,
  type SessionRow,
} from './store-rows.js';

/** The final statuses as named parameters (`@final0, @final1, …`) for a `NOT IN`. */
const FINAL_STATUS_PARAMS: Readonly<Record<string, string>> = Object.fromEntries(FINAL_PAYMENT_STATUSES.map((s, i) => [`final${i}`, s]));
const FINAL_STATUSES_SQL = Object.keys(FINAL_STATUS_PARAMS).map((k) => `@${k}`).join(', ');

export interface SqlitePaymentStoreOptions {
  /** The folder of the database: the file is `<dataDir>/payments.db`. Created (mode 0700) if missing. */
  readonly dataDir?: string;
  /** The database file itself, instead of `dataDir`; `':memory:'` for a throw-away store. */
  readonly file?: string;
  /** The clock for every timestamp. Default: the wall clock. */
  readonly now?: () => Date;
  /** How long a statement waits for another connection's write lock. Default 5000 ms. */
  readonly busyTimeoutMs?: number;
}

/** The file name inside `dataDir`. */
export const PAYMENTS_DB_FILE = 'payments.db';

/**
 * The store on SQLite (better-sqlite3): WAL journal, foreign keys on, a busy
 * timeout for a second connection (the admin CLI), migrations in code
 * (migrations.ts). Statements are prepared once: the fixed ones in the
 * constructor, the few shapes of the optional-filter queries on first use.
 * The sibling adapters (identities, PSP records, the audit log) work on the
 * same connection (`database`).
 */
export class SqlitePaymentStore implements PaymentStore {
  /** The database file (or `:memory:`). */
  readonly path: string;
  readonly #db: Db;
  readonly #now: () => Date;
  readonly #sql: {
    insertSession: Statement;
    getSession: Statement;
    confirmationTaken: Statement;
    setConfirmation: Statement;
    insertAttempt: Statement;
    listAttempts: Statement;
    insertAuthorisation: Statement;
    getAuthorisation: Statement;
    resolveAuthorisation: Statement;
    joinSession: Statement;
    heartbeat: Statement;
    listNodes: Statement;
    leaveSession: Statement;
    probe: Statement;
  };
  readonly #shapes: QueryShapes;

  /** `options` may also be the path of the database file. */
  constructor(options: SqlitePaymentStoreOptions | string) {
    const opts: SqlitePaymentStoreOptions = typeof options === 'string' ? { file: options } : options;
    if (opts.file !== undefined) {
      this.path = opts.file;
    } else if (opts.dataDir !== undefined) {
      mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
      this.path = join(opts.dataDir, PAYMENTS_DB_FILE);
    } else {
      throw new TypeError('SqlitePaymentStore needs a dataDir or a file');
    }
    this.#now = opts.now ?? (() => new Date());
    this.#db = new Database(this.path);
    try {
      // Payment records are for the service account only (the folder is 0700 too).
      // SQLite gives the -wal and -shm files the database file's mode.
      if (this.path !== ':memory:') chmodSync(this.path, 0o600);
      this.#db.pragma('journal_mode = WAL');
      this.#db.pragma('foreign_keys = ON');
      this.#db.pragma(`busy_timeout = ${Math.max(0, Math.trunc(opts.busyTimeoutMs ?? 5000))}`);
      // Durable against a crash; money-bearing writes are synced (durableTransaction).
      this.#db.pragma('synchronous = NORMAL');
      migrate(this.#db);
    } catch (err) {
      this.#db.close();
      throw err;
    }
    this.#shapes = new QueryShapes(this.#db);
    const p = (sql: string): Statement => this.#db.prepare(sql);
    this.#sql = {
      insertSession: p(`INSERT INTO payment_sessions (id, mode, reference, amount_minor, currency, description, status, call_id, language,
          agent_id, session_code, agent_uri, auto_capture, tokenise, customer_reference, idempotency_key, stored_card_token, node_id, created_at, updated_at)
        VALUES (@id, @mode, @reference, @amount_minor, @currency, @description, 'pending', @call_id, @language,
          @agent_id, @session_code, @agent_uri, @auto_capture, @tokenise, @customer_reference, @idempotency_key, @stored_card_token, @node_id, @at, @at)`),
      getSession: p('SELECT * FROM payment_sessions WHERE id = ?'),
      confirmationTaken: p('SELECT 1 FROM payment_sessions WHERE confirmation = ?'),
      setConfirmation: p('UPDATE payment_sessions SET confirmation = ? WHERE id = ? AND confirmation IS NULL'),
      insertAttempt: p('INSERT INTO capture_attempts (session_id, field, attempt, outcome, at) VALUES (?, ?, ?, ?, ?)'),
      listAttempts: p('SELECT session_id, field, attempt, outcome, at FROM capture_attempts WHERE session_id = ? ORDER BY id'),
      insertAuthorisation: p(`INSERT INTO authorisations (idempotency_key, session_id, psp, amount_minor, currency, state, requested_at)
        VALUES (?, ?, ?, ?, ?, 'requested', ?)`),
      getAuthorisation: p('SELECT * FROM authorisations WHERE idempotency_key = ?'),
      resolveAuthorisation: p(
        'UPDATE authorisations SET state = @state, psp_reference = @pspReference, detail = @detail, resolved_at = @resolvedAt WHERE idempotency_key = @key',
      ),
      joinSession: p(`UPDATE payment_sessions SET call_id = @callId, node_id = @nodeId, updated_at = @updatedAt
        WHERE id = @id AND call_id IS NULL AND status NOT IN (${FINAL_STATUSES_SQL})`),
      leaveSession: p(`UPDATE payment_sessions SET call_id = NULL, updated_at = @updatedAt WHERE id = @id AND call_id = @callId AND status = 'pending'`),
      heartbeat: p(`INSERT INTO nodes (id, started_at, heartbeat_at) VALUES (@id, @at, @at) ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at`),
      listNodes: p('SELECT * FROM nodes ORDER BY id'),
      probe: p('INSERT INTO store_probe (id, at) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET at = excluded.at'),
    };
  }

  async createSession(input: NewPaymentSession): Promise<PaymentSessionRecord> {
    // 80 random bits, hex: unguessable, and safe in a URL or a SIP URI user part.
    const id = input.id ?? newOpaqueId('pay');
    this.#sql.insertSession.run({
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
      tokenise: input.tokenise ? 1 : 0,
      customer_reference: input.customerReference ?? null,
      idempotency_key: input.idempotencyKey ?? null,
      stored_card_token: input.storedCardToken ?? null,
      node_id: input.nodeId ?? null,
      at: this.#stamp(),
    });
    return this.#session(id)!;
  }

  async getSession(id: string): Promise<PaymentSessionRecord | undefined> {
    return this.#session(id);
  }

  #session(id: string): PaymentSessionRecord | undefined {
    const row = this.#sql.getSession.get(id) as SessionRow | undefined;
    return row && toSession(row);
  }

  /**
   * Sets the given fields (`null` clears one, `undefined` leaves it).
   * @throws PaymentNotFoundError, InvalidStatusTransitionError
   */
  async updateSession(id: string, update: PaymentSessionUpdate): Promise<PaymentSessionRecord> {
    const keys = (Object.keys(UPDATE_COLUMNS) as (keyof PaymentSessionUpdate)[]).filter((k) => update[k] !== undefined);
    // Columns come from UPDATE_COLUMNS only, never from input.
    const sql = `UPDATE payment_sessions SET ${keys.map((k) => `${UPDATE_COLUMNS[k]} = @${k}`).join(', ')}, updated_at = @updatedAt WHERE id = @id`;
    return this.#db
      .transaction(() =>
        changeRow(SESSION_LIFECYCLE, {
          id,
          to: update.status,
          read: (sessionId) => this.#session(sessionId),
          write: (current) => {
            if (keys.length > 0) this.#shapes.get(sql).run({ ...Object.fromEntries(keys.map((k) => [k, update[k]])), updatedAt: this.#stamp(), id });
            if (update.status === 'approved' && current.confirmation === null) this.#sql.setConfirmation.run(this.#freeConfirmation(), id);
          },
        }),
      )
      .immediate();
  }

  /** Newest first; `limit` defaults to 100, at most 1000. */
  async listSessions(query: PaymentQuery): Promise<PaymentSessionRecord[]> {
    const keys = (Object.keys(SESSION_FILTERS) as (keyof typeof SESSION_FILTERS)[]).filter((k) => query[k] !== undefined);
    const where = keys.length ? `WHERE ${keys.map((k) => `${SESSION_FILTERS[k]} = @${k}`).join(' AND ')}` : '';
    const sql = `SELECT * FROM payment_sessions ${where} ORDER BY created_at DESC, rowid DESC LIMIT @limit`;
    const params = { ...Object.fromEntries(keys.map((k) => [k, query[k]])), limit: clampLimit(query.limit, 100, 1000) };
    return (this.#shapes.get(sql).all(params) as SessionRow[]).map(toSession);
  }

  async joinSession(id: string, callId: string, nodeId: string | null = null): Promise<PaymentSessionRecord | undefined> {
    const joined = this.#sql.joinSession.run({ id, callId, nodeId, updatedAt: this.#stamp(), ...FINAL_STATUS_PARAMS }).changes === 1;
    return joined ? this.#session(id) : undefined;
  }

  async leaveSession(id: string, callId: string): Promise<void> {
    this.#sql.leaveSession.run({ id, callId, updatedAt: this.#stamp() });
  }

  /** @throws PaymentNotFoundError */
  async recordCaptureAttempt(attempt: Omit<CaptureAttemptRecord, 'at'>): Promise<CaptureAttemptRecord> {
    const at = this.#stamp();
    this.#db
      .transaction(() => {
        if (!this.#sql.getSession.get(attempt.sessionId)) throw new PaymentNotFoundError(attempt.sessionId);
        this.#sql.insertAttempt.run(attempt.sessionId, attempt.field, attempt.attempt, attempt.outcome, at);
      })
      .immediate();
    return { sessionId: attempt.sessionId, field: attempt.field, attempt: attempt.attempt, outcome: attempt.outcome, at };
  }

  /** In the order they were recorded. */
  async listCaptureAttempts(sessionId: string): Promise<CaptureAttemptRecord[]> {
    return (this.#sql.listAttempts.all(sessionId) as AttemptRow[]).map((r) => ({
      sessionId: r.session_id,
      field: r.field,
      attempt: r.attempt,
      outcome: r.outcome,
      at: r.at,
    }));
  }

  /**
   * Writes the intent in state `requested`. Writing the same intent again
   * returns the row as it is (whatever its state).
   * @throws PaymentNotFoundError, IdempotencyKeyConflictError (the key exists for another session or amount)
   */
  async recordAuthorisationIntent(input: {
    idempotencyKey: string;
    sessionId: string;
    psp: string;
    amountMinor: number;
    currency: CurrencyCode;
  }): Promise<AuthorisationRecord> {
    return durableTransaction(this.#db, () => {
      const existing = this.#authorisation(input.idempotencyKey);
      if (existing) {
        if (existing.sessionId !== input.sessionId || existing.amountMinor !== input.amountMinor || existing.currency !== input.currency) {
          throw new IdempotencyKeyConflictError(input.idempotencyKey);
        }
        return existing;
      }
      if (!this.#sql.getSession.get(input.sessionId)) throw new PaymentNotFoundError(input.sessionId);
      this.#sql.insertAuthorisation.run(input.idempotencyKey, input.sessionId, input.psp, input.amountMinor, input.currency, this.#stamp());
      return this.#authorisation(input.idempotencyKey)!;
    });
  }

  /**
   * Records the PSP's answer (or `in_doubt`). A field left undefined keeps
   * its value; `resolvedAt` is stamped when the state first becomes final.
   * @throws AuthorisationNotFoundError, InvalidAuthorisationTransitionError
   */
  async resolveAuthorisation(idempotencyKey: string, update: IntentAnswer<AuthorisationState>): Promise<AuthorisationRecord> {
    return durableTransaction(this.#db, () =>
      settleIntent(AUTHORISATION_LIFECYCLE, {
        key: idempotencyKey,
        answer: update,
        read: (key) => this.#authorisation(key),
        statement: this.#sql.resolveAuthorisation,
        stamp: () => this.#stamp(),
      }),
    );
  }

  async getAuthorisation(idempotencyKey: string): Promise<AuthorisationRecord | undefined> {
    return this.#authorisation(idempotencyKey);
  }

  #authorisation(idempotencyKey: string): AuthorisationRecord | undefined {
    const row = this.#sql.getAuthorisation.get(idempotencyKey) as AuthorisationRow | undefined;
    return row && toAuthorisation(row);
  }

  /** Oldest first. */
  async listAuthorisations(filter: { state?: AuthorisationState; sessionId?: string }): Promise<AuthorisationRecord[]> {
    const where: string[] = [];
    if (filter.state !== undefined) where.push('state = @state');
    if (filter.sessionId !== undefined) where.push('session_id = @sessionId');
    const sql = `SELECT * FROM authorisations ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY requested_at, rowid`;
    const params = {
      ...(filter.state !== undefined ? { state: filter.state } : {}),
      ...(filter.sessionId !== undefined ? { sessionId: filter.sessionId } : {}),
    };
    return (this.#shapes.get(sql).all(params) as AuthorisationRow[]).map(toAuthorisation);
  }

  /** The open database, for the sibling SQLite adapters (identities, PSP records, audit log) that share the file. */
  get database(): Db {
    return this.#db;
  }

  async heartbeat(nodeId: string): Promise<void> {
    this.#sql.heartbeat.run({ id: nodeId, at: this.#stamp() });
  }

  async listNodes(): Promise<NodeRecord[]> {
    return (this.#sql.listNodes.all() as NodeRow[]).map(toNode);
  }

  /** SQLite serves one process: nobody else runs the job. */
  async runAlone<T>(_job: ClusterJob, work: () => Promise<T>): Promise<T> {
    return work();
  }

  /** A real write (one row of `store_probe`), committed: false when the database cannot take it. */
  async isWritable(): Promise<boolean> {
    try {
      this.#sql.probe.run(this.#stamp());
      return true;
    } catch {
      return false;
    }
  }

  /** Safe to call twice. */
  async close(): Promise<void> {
    if (this.#db.open) this.#db.close();
  }

  /** A confirmation code no payment has yet (inside the caller's transaction, so no other writer takes it meanwhile). */
  #freeConfirmation(): string {
    for (;;) {
      const code = newConfirmationCode();
      if (!this.#sql.confirmationTaken.get(code)) return code;
    }
  }

  #stamp(): string {
    return this.#now().toISOString();
  }
}

