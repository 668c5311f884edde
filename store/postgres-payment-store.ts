import type { AuthorisationState } from '../domain/payment-lifecycle.js';
import type { CurrencyCode } from '../domain/payment-types.js';
import { FINAL_PAYMENT_STATUSES } from '../domain/payment-types.js';
import { newConfirmationCode } from '../domain/confirmation-code.js';
import { newOpaqueId } from '../domain/opaque-id.js';
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
import { migratePostgres } from './postgres-migrate.js';
import { ADVISORY_LOCKS, inTransaction, openPool, parameters, type Pool, type PoolClient } from './postgres-pool.js';
import { clampLimit } from './sqlite-query-shapes.js';
import { guardChange, settledColumns, type IntentAnswer } from './state-change.js';
import { IdempotencyKeyConflictError, PaymentNotFoundError } from './store-errors.js';
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

/** The advisory lock of each cluster job. */
const CLUSTER_JOB_LOCKS: Readonly<Record<ClusterJob, number>> = { reconcile: ADVISORY_LOCKS.reconcile, takeover: ADVISORY_LOCKS.takeover, retention: ADVISORY_LOCKS.retention };

export interface PostgresPaymentStoreOptions {
  /** DATABASE_URL: postgres://user:password@host:port/database. */
  readonly url: string;
  /** The clock for every timestamp. Default: the wall clock. */
  readonly now?: () => Date;
  /** Connections in the pool. Default 10. */
  readonly poolSize?: number;
}

type Queryable = Pool | PoolClient;

/**
 * The store on PostgreSQL (node-postgres), for several nodes sharing their
 * payments: the same tables as SQLite (migrations.ts, applied at start-up
 * under an advisory lock), each change read and checked under the row's lock
 * (SELECT … FOR UPDATE) in one transaction, the intents and answers money
 * depends on committed durably. The sibling adapters (identities, PSP
 * records, the audit log) work on the same pool (`pool`).
 */
export class PostgresPaymentStore implements PaymentStore {
  readonly #pool: Pool;
  readonly #now: () => Date;
  #closed = false;

  private constructor(pool: Pool, now: () => Date) {
    this.#pool = pool;
    this.#now = now;
  }

  /** Connects and migrates (SchemaVersionError for a schema newer than this build). */
  static async open(options: PostgresPaymentStoreOptions): Promise<PostgresPaymentStore> {
    const pool = openPool(options.url, options.poolSize);
    try {
      await migratePostgres(pool);
    } catch (err) {
      await pool.end();
      throw err;
    }
    return new PostgresPaymentStore(pool, options.now ?? (() => new Date()));
  }

  /** The pool, for the sibling PostgreSQL adapters that share the database. */
  get pool(): Pool {
    return this.#pool;
  }

  async createSession(input: NewPaymentSession): Promise<PaymentSessionRecord> {
    // 80 random bits, hex: unguessable, and safe in a URL or a SIP URI user part.
    const id = input.id ?? newOpaqueId('pay');
    const at = this.#stamp();
    const { rows } = await this.#pool.query<SessionRow>(
      `INSERT INTO payment_sessions (id, mode, reference, amount_minor, currency, description, status, call_id, language,
          agent_id, session_code, agent_uri, auto_capture, tokenise, customer_reference, idempotency_key, stored_card_token, node_id, created_at, updated_at)
        VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $18) RETURNING *`,
      [
        id,
        input.mode,
        input.reference,
        input.amountMinor,
        input.currency,
        input.description ?? null,
        input.callId ?? null,
        input.language ?? null,
        input.agentId ?? null,
        input.code ?? null,
        input.agentUri ?? null,
        input.autoCapture === false ? 0 : 1,
        input.tokenise ? 1 : 0,
        input.customerReference ?? null,
        input.idempotencyKey ?? null,
        input.storedCardToken ?? null,
        input.nodeId ?? null,
        at,
      ],
    );
    return toSession(rows[0]!);
  }

  async getSession(id: string): Promise<PaymentSessionRecord | undefined> {
    return sessionIn(this.#pool, id, false);
  }

  /**
   * Sets the given fields (`null` clears one, `undefined` leaves it).
   * @throws PaymentNotFoundError, InvalidStatusTransitionError
   */
  async updateSession(id: string, update: PaymentSessionUpdate): Promise<PaymentSessionRecord> {
    const keys = (Object.keys(UPDATE_COLUMNS) as (keyof PaymentSessionUpdate)[]).filter((k) => update[k] !== undefined);
    return inTransaction(this.#pool, async (client) => {
      const current = guardChange(SESSION_LIFECYCLE, id, await sessionIn(client, id, true), update.status);
      if (keys.length > 0) {
        const { values, p } = parameters();
        // Columns come from UPDATE_COLUMNS only, never from input.
        const set = keys.map((k) => `${UPDATE_COLUMNS[k]} = ${p(update[k])}`).join(', ');
        await client.query(`UPDATE payment_sessions SET ${set}, updated_at = ${p(this.#stamp())} WHERE id = ${p(id)}`, values);
      }
      if (update.status === 'approved' && current.confirmation === null) await this.#giveConfirmation(client, id);
      return (await sessionIn(client, id, false))!;
    });
  }

  /** Newest first; `limit` defaults to 100, at most 1000. */
  async listSessions(query: PaymentQuery): Promise<PaymentSessionRecord[]> {
    const keys = (Object.keys(SESSION_FILTERS) as (keyof typeof SESSION_FILTERS)[]).filter((k) => query[k] !== undefined);
    const { values, p } = parameters();
    const where = keys.length ? `WHERE ${keys.map((k) => `${SESSION_FILTERS[k]} = ${p(query[k])}`).join(' AND ')}` : '';
    const { rows } = await this.#pool.query<SessionRow>(
      `SELECT * FROM payment_sessions ${where} ORDER BY created_at DESC, row_order DESC LIMIT ${p(clampLimit(query.limit, 100, 1000))}`,
      values,
    );
    return rows.map(toSession);
  }

  async joinSession(id: string, callId: string, nodeId: string | null = null): Promise<PaymentSessionRecord | undefined> {
    const { rows } = await this.#pool.query<SessionRow>(
      `UPDATE payment_sessions SET call_id = $2, node_id = $5, updated_at = $3 WHERE id = $1 AND call_id IS NULL AND NOT (status = ANY ($4)) RETURNING *`,
      [id, callId, this.#stamp(), FINAL_PAYMENT_STATUSES, nodeId],
    );
    return rows[0] && toSession(rows[0]);
  }

  async leaveSession(id: string, callId: string): Promise<void> {
    await this.#pool.query(`UPDATE payment_sessions SET call_id = NULL, updated_at = $3 WHERE id = $1 AND call_id = $2 AND status = 'pending'`, [
      id,
      callId,
      this.#stamp(),
    ]);
  }

  /** @throws PaymentNotFoundError */
  async recordCaptureAttempt(attempt: Omit<CaptureAttemptRecord, 'at'>): Promise<CaptureAttemptRecord> {
    const at = this.#stamp();
    await inTransaction(this.#pool, async (client) => {
      if (!(await sessionIn(client, attempt.sessionId, false))) throw new PaymentNotFoundError(attempt.sessionId);
      await client.query('INSERT INTO capture_attempts (session_id, field, attempt, outcome, at) VALUES ($1, $2, $3, $4, $5)', [
        attempt.sessionId,
        attempt.field,
        attempt.attempt,
        attempt.outcome,
        at,
      ]);
    });
    return { sessionId: attempt.sessionId, field: attempt.field, attempt: attempt.attempt, outcome: attempt.outcome, at };
  }

  /** In the order they were recorded. */
  async listCaptureAttempts(sessionId: string): Promise<CaptureAttemptRecord[]> {
    const { rows } = await this.#pool.query<AttemptRow>('SELECT session_id, field, attempt, outcome, at FROM capture_attempts WHERE session_id = $1 ORDER BY id', [
      sessionId,
    ]);
    return rows.map((r) => ({ sessionId: r.session_id, field: r.field, attempt: r.attempt, outcome: r.outcome, at: r.at }));
  }

  /**
   * Writes the intent in state `requested`, durably. Writing the same intent
   * again returns the row as it is (whatever its state).
   * @throws PaymentNotFoundError, IdempotencyKeyConflictError (the key exists for another session or amount)
   */
  async recordAuthorisationIntent(input: {
    idempotencyKey: string;
    sessionId: string;
    psp: string;
    amountMinor: number;
    currency: CurrencyCode;
  }): Promise<AuthorisationRecord> {
    return inTransaction(
      this.#pool,
      async (client) => {
        const existing = await authorisationIn(client, input.idempotencyKey, true);
        if (existing) {
          if (existing.sessionId !== input.sessionId || existing.amountMinor !== input.amountMinor || existing.currency !== input.currency) {
            throw new IdempotencyKeyConflictError(input.idempotencyKey);
          }
          return existing;
        }
        if (!(await sessionIn(client, input.sessionId, false))) throw new PaymentNotFoundError(input.sessionId);
        const { rows } = await client.query<AuthorisationRow>(
          `INSERT INTO authorisations (idempotency_key, session_id, psp, amount_minor, currency, state, requested_at)
            VALUES ($1, $2, $3, $4, $5, 'requested', $6) RETURNING *`,
          [input.idempotencyKey, input.sessionId, input.psp, input.amountMinor, input.currency, this.#stamp()],
        );
        return toAuthorisation(rows[0]!);
      },
      { durable: true },
    );
  }

  /**
   * Records the PSP's answer (or `in_doubt`), durably. A field left undefined
   * keeps its value; `resolvedAt` is stamped when the state first becomes final.
   * @throws AuthorisationNotFoundError, InvalidAuthorisationTransitionError
   */
  async resolveAuthorisation(idempotencyKey: string, update: IntentAnswer<AuthorisationState>): Promise<AuthorisationRecord> {
    return inTransaction(
      this.#pool,
      async (client) => {
        const current = guardChange(AUTHORISATION_LIFECYCLE, idempotencyKey, await authorisationIn(client, idempotencyKey, true), update.state);
        const set = settledColumns(AUTHORISATION_LIFECYCLE, current, update, () => this.#stamp());
        const { rows } = await client.query<AuthorisationRow>(
          'UPDATE authorisations SET state = $1, psp_reference = $2, detail = $3, resolved_at = $4 WHERE idempotency_key = $5 RETURNING *',
          [set.state, set.pspReference, set.detail, set.resolvedAt, idempotencyKey],
        );
        return toAuthorisation(rows[0]!);
      },
      { durable: true },
    );
  }

  async getAuthorisation(idempotencyKey: string): Promise<AuthorisationRecord | undefined> {
    return authorisationIn(this.#pool, idempotencyKey, false);
  }

  /** Oldest first. */
  async listAuthorisations(filter: { state?: AuthorisationState; sessionId?: string }): Promise<AuthorisationRecord[]> {
    const { values, p } = parameters();
    const where: string[] = [];
    if (filter.state !== undefined) where.push(`state = ${p(filter.state)}`);
    if (filter.sessionId !== undefined) where.push(`session_id = ${p(filter.sessionId)}`);
    const { rows } = await this.#pool.query<AuthorisationRow>(
      `SELECT * FROM authorisations ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY requested_at, row_order`,
      values,
    );
    return rows.map(toAuthorisation);
  }

  async heartbeat(nodeId: string): Promise<void> {
    await this.#pool.query(
      'INSERT INTO nodes (id, started_at, heartbeat_at) VALUES ($1, $2, $2) ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at',
      [nodeId, this.#stamp()],
    );
  }

  async listNodes(): Promise<NodeRecord[]> {
    return (await this.#pool.query<NodeRow>('SELECT * FROM nodes ORDER BY id COLLATE "C"')).rows.map(toNode);
  }

  /** Under a session advisory lock held on one connection for the whole job (pg_try_advisory_lock: never waits). */
  async runAlone<T>(job: ClusterJob, work: () => Promise<T>): Promise<T | undefined> {
    const client = await this.#pool.connect();
    try {
      const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [CLUSTER_JOB_LOCKS[job]]);
      if (!rows[0]!.locked) return undefined;
      try {
        return await work();
      } finally {
        await client.query('SELECT pg_advisory_unlock($1)', [CLUSTER_JOB_LOCKS[job]]);
      }
    } finally {
      client.release();
    }
  }

  /** A real write (one row of `store_probe`), committed: false when the database cannot take it. */
  async isWritable(): Promise<boolean> {
    try {
      await this.#pool.query('INSERT INTO store_probe (id, at) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET at = excluded.at', [this.#stamp()]);
      return true;
    } catch {
      return false;
    }
  }

  /** Safe to call twice. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#pool.end();
  }

  /** A confirmation code no payment has yet; the unique index refuses a code another node took meanwhile. */
  async #giveConfirmation(client: PoolClient, id: string): Promise<void> {
    for (;;) {
      const code = newConfirmationCode();
      const taken = await client.query('SELECT 1 FROM payment_sessions WHERE confirmation = $1', [code]);
      if (taken.rowCount !== 0) continue;
      await client.query('UPDATE payment_sessions SET confirmation = $1 WHERE id = $2 AND confirmation IS NULL', [code, id]);
      return;
    }
  }

  #stamp(): string {
    return this.#now().toISOString();
  }
}

async function sessionIn(db: Queryable, id: string, forUpdate: boolean): Promise<PaymentSessionRecord | undefined> {
  const { rows } = await db.query<SessionRow>(`SELECT * FROM payment_sessions WHERE id = $1${forUpdate ? ' FOR UPDATE' : ''}`, [id]);
  return rows[0] && toSession(rows[0]);
}

async function authorisationIn(db: Queryable, key: string, forUpdate: boolean): Promise<AuthorisationRecord | undefined> {
  const { rows } = await db.query<AuthorisationRow>(`SELECT * FROM authorisations WHERE idempotency_key = $1${forUpdate ? ' FOR UPDATE' : ''}`, [key]);
  return rows[0] && toAuthorisation(rows[0]);
}
