import pg from 'pg';

export type { Pool, PoolClient } from 'pg';

/** Advisory lock keys (pg_advisory_lock's bigint space), one per job the cluster must do one at a time. */
export const ADVISORY_LOCKS = {
  /** Start-up migrations: two nodes starting together migrate once. */
  migrate: 7_240_001,
  /** Audit appends: one chain, whichever node writes. */
  auditAppend: 7_240_002,
  /** The in-doubt reconciler: once per cluster, not once per node. */
  reconcile: 7_240_003,
  /** Taking over a dead node's calls: one live node does it. */
  takeover: 7_240_004,
  /** Deleting old shared progress frames and answered agent commands: one node at a time. */
  retention: 7_240_005,
} as const;

/**
 * A connection pool on DATABASE_URL. Ordinary writes commit without waiting
 * for the WAL flush (synchronous_commit off, as SQLite's synchronous=NORMAL:
 * a commit survives a crash of this process, since the server has it); the
 * writes money depends on ask for the flush (inTransaction's `durable`).
 */
export function openPool(url: string, max = 10): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max });
  pool.on('connect', (client) => {
    client.query('SET synchronous_commit = off').catch(() => undefined);
  });
  // An idle connection the server drops is replaced on the next checkout; without a listener the error would end the process.
  pool.on('error', () => undefined);
  return pool;
}

/**
 * Runs `work` in one transaction on one connection: COMMIT when it resolves,
 * ROLLBACK when it throws. `durable`: the intents and PSP answers money
 * depends on, whose commit waits until the WAL is flushed to disk
 * (PostgreSQL docs, "synchronous_commit"), whatever the session's default.
 */
export async function inTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>, options: { durable?: boolean } = {}): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    if (options.durable) await client.query('SET LOCAL synchronous_commit = on');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

/** Collects bound values for a statement assembled from fixed fragments: `p(value)` answers its `$n`. */
export function parameters(): { values: unknown[]; p: (value: unknown) => string } {
  const values: unknown[] = [];
  return { values, p: (value) => `$${values.push(value)}` };
}
