import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteAgentCommandStore } from '../../../store/sqlite-agent-command-store.js';
import { SqliteAuditLog } from '../../../store/sqlite-audit-log.js';
import { SqliteIdentityStore } from '../../../store/sqlite-identity-store.js';
import { SqlitePaymentLinkStore } from '../../../store/sqlite-payment-link-store.js';
import { SqlitePaymentStore } from '../../../store/sqlite-payment-store.js';
import { SqlitePspRecordStore } from '../../../store/sqlite-psp-record-store.js';
import type { StoreUnderTest } from './store-under-test.js';

/** The SQLite adapters on a fresh file in a temporary folder (removed on close). */
export async function openSqliteStore(now: () => Date, auditKey: Buffer = Buffer.alloc(32, 7)): Promise<StoreUnderTest> {
  const dir = mkdtempSync(join(tmpdir(), 'store-contract-'));
  const opened = sqliteStoresIn(dir, now, auditKey);
  return { ...opened, close: async () => {
    await opened.close();
    rmSync(dir, { recursive: true, force: true });
  } };
}

function sqliteStoresIn(dir: string, now: () => Date, auditKey: Buffer): StoreUnderTest {
  const store = new SqlitePaymentStore({ dataDir: dir, now });
  const db = store.database;
  return {
    store,
    identities: new SqliteIdentityStore(db, now),
    records: new SqlitePspRecordStore(db, now),
    audit: new SqliteAuditLog(db, { key: auditKey, now }),
    links: new SqlitePaymentLinkStore(db, now),
    commands: new SqliteAgentCommandStore(db, now),
    sql: async (text, params = []) => {
      const statement = db.prepare(text);
      if (statement.reader) return statement.all(...params);
      statement.run(...params);
      return [];
    },
    reopen: async () => sqliteStoresIn(dir, now, auditKey),
    close: () => store.close(),
  };
}
