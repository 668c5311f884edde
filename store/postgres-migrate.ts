import type pg from 'pg';
import { MIGRATIONS } from './migrations.js';
import { ADVISORY_LOCKS } from './postgres-pool.js';
import { SchemaVersionError } from './store-errors.js';

/**
 * Brings a PostgreSQL schema up to date with MIGRATIONS' `postgres` texts,
 * under a session advisory lock, so two nodes starting together migrate once
 * (the second waits, then finds nothing to do). Each version commits with
 * its number in `schema_version`. Returns the version.
 */
export async function migratePostgres(pool: pg.Pool): Promise<number> {
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [ADVISORY_LOCKS.migrate]);
    try {
      await client.query('CREATE TABLE IF NOT EXISTS schema_version (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL)');
      await client.query('INSERT INTO schema_version (id, version) VALUES (1, 0) ON CONFLICT (id) DO NOTHING');
      for (;;) {
        const current = (await client.query<{ version: number }>('SELECT version FROM schema_version WHERE id = 1')).rows[0]!.version;
        if (current > MIGRATIONS.length) throw new SchemaVersionError(current, MIGRATIONS.length);
        if (current === MIGRATIONS.length) return current;
        await client.query('BEGIN');
        try {
          await client.query(MIGRATIONS[current]!.postgres);
          await client.query('UPDATE schema_version SET version = $1 WHERE id = 1', [current + 1]);
          await client.query('COMMIT');
        } catch (err) {
          await client.query('ROLLBACK');
          throw err;
        }
      }
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [ADVISORY_LOCKS.migrate]);
    }
  } finally {
    client.release();
  }
}
