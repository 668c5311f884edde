/**
 * `npm run audit:verify -- [DATA_DIR]`: recomputes the audit chain of the
 * payment database in DATA_DIR (the argument, else the configuration's) with
 * AUDIT_KEY, or the key generated into DATA_DIR/audit-key. Prints OK and the
 * number of rows; or the first broken row, what is wrong with it, and exits 1
 * (PCI DSS 4.0 req. 10.3.4). Exits 2 when there is nothing to verify with.
 * Opening the database brings its schema up to date, as the service would.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { AUDIT_KEY_FILE, findAuditKey } from '../app/audit-key.js';
import { ConfigError, loadConfig, type Config } from '../app/config.js';
import { openStores } from '../app/store-adapters.js';
import { PAYMENTS_DB_FILE } from '../store/sqlite-payment-store.js';

function fail(message: string): never {
  console.error(`audit:verify: ${message}`);
  process.exit(2);
}

async function main(): Promise<void> {
  const [given, ...extra] = process.argv.slice(2);
  if (extra.length > 0) fail('usage: npm run audit:verify -- [DATA_DIR]');
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    fail(err instanceof ConfigError ? err.message : String(err));
  }
  const dataDir = resolve(given ?? config.DATA_DIR);
  if (config.STORE === 'sqlite' && !existsSync(join(dataDir, PAYMENTS_DB_FILE))) fail(`no ${PAYMENTS_DB_FILE} in ${dataDir}`);
  const key = findAuditKey(dataDir, config.AUDIT_KEY);
  if (!key) fail(`neither AUDIT_KEY nor ${join(dataDir, AUDIT_KEY_FILE)}: the keyed chain cannot be verified`);
  const { store, audit } = await openStores(config, dataDir, key.key);
  try {
    const verdict = await audit.verify();
    if (verdict.ok) {
      console.log(`OK: ${verdict.rows} audit rows in ${dataDir}, chain intact`);
    } else {
      console.log(`BROKEN at row ${verdict.firstBrokenSeq} (${verdict.problem}): ${verdict.reason}`);
      process.exitCode = 1;
    }
  } finally {
    await store.close();
  }
}

main().catch((err: unknown) => fail(err instanceof Error ? err.message : String(err)));
