import { describe } from 'vitest';
import { describeAgentCommandContract } from '../../support/store-contract/agent-command-contract.js';
import { describeAuditAndRecordsContract } from '../../support/store-contract/audit-and-records-contract.js';
import { describePaymentLinkContract } from '../../support/store-contract/payment-link-contract.js';
import { describePaymentStoreContract } from '../../support/store-contract/payment-store-contract.js';
import { openSqliteStore } from '../../support/store-contract/sqlite-store-under-test.js';

describe('the store contract on SQLite', () => {
  describePaymentStoreContract((now) => openSqliteStore(now));
  describeAuditAndRecordsContract(openSqliteStore);
  describePaymentLinkContract((now) => openSqliteStore(now));
  describeAgentCommandContract((now) => openSqliteStore(now));
});
