import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { RunningPostgres } from '../../../tools/postgres-server.js';
import { PostgresAgentCommandStore } from '../../../store/postgres-agent-command-store.js';
import { PostgresAuditLog } from '../../../store/postgres-audit-log.js';
import { PostgresIdentityStore } from '../../../store/postgres-identity-store.js';
import { PostgresPaymentLinkStore } from '../../../store/postgres-payment-link-store.js';
import { PostgresPaymentStore } from '../../../store/postgres-payment-store.js';
import { PostgresPspRecordStore } from '../../../store/postgres-psp-record-store.js';
import type { StoreUnderTest } from './store-under-test.js';

/**
 * The PostgreSQL adapters on a fresh schema of `server`'s database (its own
 * search_path, so every test starts from migration 1 without a new database).
 */
export async function openPostgresStore(server: RunningPostgres, now: () => Date, auditKey: Buffer = Buffer.alloc(32, 7)): Promise<StoreUnderTest> {
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: server.url() });
  await admin.connect();
  try {
    await admin.query(`CREATE SCHEMA ${schema}`);
  } finally {
    await admin.end();
  }
  const url = `${server.url()}?options=${encodeURIComponent(`-c search_path=${schema}`)}`;
  return postgresStoresOn(url, now, auditKey);
}

async function postgresStoresOn(url: string, now: () => Date, auditKey: Buffer): Promise<StoreUnderTest> {
  const store = await PostgresPaymentStore.open({ url, now, poolSize: 4 });
  const { pool } = store;
  return {
    store,
    identities: new PostgresIdentityStore(pool, now),
    records: new PostgresPspRecordStore(pool, now),
    audit: new PostgresAuditLog(pool, { key: auditKey, now }),
    links: new PostgresPaymentLinkStore(pool, now),
    commands: new PostgresAgentCommandStore(pool, now),
    sql: async (text, params = []) => {
      let n = 0;
      return (await pool.query(text.replace(/\?/g, () => `$${++n}`), [...params])).rows;
    },
    reopen: () => postgresStoresOn(url, now, auditKey),
    close: () => store.close(),
  };
}
