import type { AgentCommandStore } from '../../../store/agent-command-store.js';
import type { AuditLog } from '../../../store/audit-log.js';
import type { IdentityStore } from '../../../store/identity-store.js';
import type { PaymentLinkStore } from '../../../store/payment-link-store.js';
import type { PaymentStore } from '../../../store/payment-store.js';
import type { PspRecordStore } from '../../../store/psp-record-store.js';

/** One adapter's stores on one fresh database, as the application wires them. */
export interface StoreUnderTest {
  readonly store: PaymentStore;
  readonly identities: IdentityStore;
  readonly records: PspRecordStore;
  readonly audit: AuditLog;
  readonly links: PaymentLinkStore;
  readonly commands: AgentCommandStore;
  /** Runs SQL on the same database as an operator with a SQL client would (`?` placeholders); resolves with the rows. */
  sql(text: string, params?: readonly unknown[]): Promise<unknown[]>;
  /** Another process on the same database: its own connection(s) and stores. */
  reopen(): Promise<StoreUnderTest>;
  /** Safe to call twice. */
  close(): Promise<void>;
}

/** Opens the stores of a fresh, migrated database on the given clock. */
export type OpenStore = (now: () => Date) => Promise<StoreUnderTest>;

/** A refused CHECK, in SQLite's words ("CHECK constraint failed") or PostgreSQL's ("violates check constraint"). */
export const CHECK = /check constraint/i;
/** A refused duplicate: SQLite's "UNIQUE constraint failed", PostgreSQL's "duplicate key value violates unique constraint". */
export const UNIQUE = /unique constraint/i;
