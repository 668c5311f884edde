import type { Database } from 'better-sqlite3';

/**
 * The store runs with `synchronous = NORMAL` in WAL mode: a commit survives a
 * crash of the process (kill -9), and the WAL is synced at checkpoints. An
 * fsync per commit (FULL) would stop the event loop, and with it every call's
 * 20 ms media clock, twenty times per call for audit rows that need no more.
 *
 * What money depends on is written through here instead: the intent to
 * authorise or reverse before the PSP is called, and the PSP's answer. Its
 * commit is synced (FULL), which also makes every earlier commit durable,
 * so after a power cut the reconciler still finds each request it must ask
 * the PSP about.
 */
export function durableTransaction<T>(db: Database, write: () => T): T {
  if (db.inTransaction) return db.transaction(write)();
  db.pragma('synchronous = FULL');
  try {
    return db.transaction(write).immediate();
  } finally {
    db.pragma('synchronous = NORMAL');
  }
}
