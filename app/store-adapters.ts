import type { AgentCommandStore } from '../store/agent-command-store.js';
import type { AuditLog } from '../store/audit-log.js';
import type { IdentityStore } from '../store/identity-store.js';
import type { PaymentStore } from '../store/payment-store.js';
import { PostgresAgentCommandStore } from '../store/postgres-agent-command-store.js';
import { PostgresAuditLog } from '../store/postgres-audit-log.js';
import { PostgresIdentityStore } from '../store/postgres-identity-store.js';
import { PostgresPaymentLinkStore } from '../store/postgres-payment-link-store.js';
import { PostgresPaymentStore } from '../store/postgres-payment-store.js';
import { PostgresProgressFrameStore } from '../store/postgres-progress-frame-store.js';
import { PostgresPspRecordStore } from '../store/postgres-psp-record-store.js';
import type { PaymentLinkStore } from '../store/payment-link-store.js';
import type { ProgressFrameStore } from '../store/progress-frame-store.js';
import type { PspRecordStore } from '../store/psp-record-store.js';
import { SqliteAgentCommandStore } from '../store/sqlite-agent-command-store.js';
import { SqliteAuditLog } from '../store/sqlite-audit-log.js';
import { SqliteIdentityStore } from '../store/sqlite-identity-store.js';
import { SqlitePaymentLinkStore } from '../store/sqlite-payment-link-store.js';
import { SqlitePaymentStore } from '../store/sqlite-payment-store.js';
import { SqlitePspRecordStore } from '../store/sqlite-psp-record-store.js';
import type { Config } from './config.js';

/** The stores on one database: payments, PSP records, identities, the audit trail, payment links and the sandbox SMS outbox, agent commands between nodes. */
export interface Stores {
  readonly store: PaymentStore;
  readonly records: PspRecordStore;
  readonly identities: IdentityStore;
  readonly audit: AuditLog;
  readonly links: PaymentLinkStore;
  readonly commands: AgentCommandStore;
  /** Several nodes (PostgreSQL): the progress stream they share. One node keeps it in memory. */
  readonly progressFrames?: ProgressFrameStore;
}

/**
 * Opens the stores STORE names, migrated: SQLite in DATA_DIR/payments.db
 * (one process, the default) or PostgreSQL at DATABASE_URL (several nodes).
 * Closing `store` closes them all.
 */
export async function openStores(config: Pick<Config, 'STORE' | 'DATABASE_URL'>, dataDir: string, auditKey: Buffer): Promise<Stores> {
  if (config.STORE === 'postgres') {
    const store = await PostgresPaymentStore.open({ url: config.DATABASE_URL as string });
    return {
      store,
      records: new PostgresPspRecordStore(store.pool),
      identities: new PostgresIdentityStore(store.pool),
      audit: new PostgresAuditLog(store.pool, { key: auditKey }),
      links: new PostgresPaymentLinkStore(store.pool),
      commands: new PostgresAgentCommandStore(store.pool),
      progressFrames: new PostgresProgressFrameStore(store.pool),
    };
  }
  const store = new SqlitePaymentStore({ dataDir });
  return {
    store,
    records: new SqlitePspRecordStore(store.database),
    identities: new SqliteIdentityStore(store.database),
    audit: new SqliteAuditLog(store.database, { key: auditKey }),
    links: new SqlitePaymentLinkStore(store.database),
    commands: new SqliteAgentCommandStore(store.database),
  };
}
