import type { Database, Statement } from 'better-sqlite3';

/**
 * The statements of queries whose SQL is assembled from fixed fragments
 * (optional filters), each shape prepared once on first use: better-sqlite3
 * does not cache prepares.
 */
export class QueryShapes {
  readonly #db: Database;
  readonly #prepared = new Map<string, Statement>();

  constructor(db: Database) {
    this.#db = db;
  }

  /** `sql` must be built from the caller's fixed fragments only, never from input. */
  get(sql: string): Statement {
    let statement = this.#prepared.get(sql);
    if (!statement) {
      statement = this.#db.prepare(sql);
      this.#prepared.set(sql, statement);
    }
    return statement;
  }
}

/** A query's LIMIT: `limit` truncated into 1..`max`, `fallback` when it is not a number. */
export function clampLimit(limit: number | undefined, fallback: number, max: number): number {
  return Number.isFinite(limit) ? Math.min(Math.max(Math.trunc(limit!), 1), max) : fallback;
}
