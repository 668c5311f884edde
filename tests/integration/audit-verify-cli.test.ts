import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveAuditKey } from '../../app/audit-key.js';
import { SqliteAuditLog } from '../../store/sqlite-audit-log.js';
import { PAYMENTS_DB_FILE, SqlitePaymentStore } from '../../store/sqlite-payment-store.js';
import { testDataDir } from '../support/test-data-dir.js';

/** `npm run audit:verify -- DIR` as an operator runs it: its exit code and what it printed. */
function auditVerify(dataDir: string): Promise<{ code: number; stdout: string; stderr: string }> {
  // Only the argument names the data: no DATA_DIR, AUDIT_KEY or CONFIG_FILE from whoever runs the tests.
  const { DATA_DIR: _d, AUDIT_KEY: _k, CONFIG_FILE: _c, ...env } = process.env;
  return new Promise((resolve) => {
    execFile('npm', ['run', '--silent', 'audit:verify', '--', dataDir], { env, encoding: 'utf8', timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? Number(err.code) : 0, stdout, stderr });
    });
  });
}

describe('npm run audit:verify', () => {
  const dataDir = testDataDir('audit-verify');
  const ROWS = 5;

  beforeAll(async () => {
    // A DATA_DIR as the service leaves it: the generated key file beside the database.
    const key = resolveAuditKey(dataDir, undefined).key;
    const store = new SqlitePaymentStore({ dataDir });
    const audit = new SqliteAuditLog(store.database, { key });
    for (let i = 1; i <= ROWS; i++) await audit.append({ sessionId: null, actor: { kind: 'system', id: 'test' }, action: `step-${i}`, detail: { i } });
    await store.close();
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('prints OK with the row count and exits 0 on an intact chain, then the edited row and exit 1 after an edit by hand', async () => {
    const intact = await auditVerify(dataDir);
    expect(intact).toMatchObject({ code: 0, stderr: '' });
    expect(intact.stdout).toMatch(new RegExp(`^OK: ${ROWS} audit rows`));

    const db = new Database(join(dataDir, PAYMENTS_DB_FILE));
    db.exec('DROP TRIGGER audit_log_no_update');
    db.exec(`UPDATE audit_log SET detail = '{"i":300}' WHERE seq = 3`);
    db.close();

    const edited = await auditVerify(dataDir);
    expect(edited.code).toBe(1);
    expect(edited.stdout).toMatch(/^BROKEN at row 3 \(hash-mismatch\): .*edited/);
  }, 60_000);

  it('exits 2 when the folder holds no payment database', async () => {
    const empty = testDataDir('audit-verify-empty');
    const result = await auditVerify(empty);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/no payments\.db in/);
    rmSync(empty, { recursive: true, force: true });
  }, 60_000);
});
