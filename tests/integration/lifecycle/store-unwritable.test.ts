import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApplication, type Application } from '../../../app/application.js';
import { loadConfig } from '../../../app/config.js';
import { createLogger } from '../../../app/logger.js';
import { projectRoot } from '../../../app/project-root.js';
import type { SandboxPsp } from '../../../psp/sandbox-psp.js';
import { findCardDataInText } from '../../support/card-scan.js';
import { freePort, killAllSipp, runSipp, SippPortSequence } from '../../../tools/sipp/sipp-process.js';
import { testDataDir } from '../../support/test-data-dir.js';
import type { SqlitePaymentStore } from '../../../store/sqlite-payment-store.js';

const VISA = '4242424242424242';

/**
 * The store stops taking writes (SQLite's query_only: every write fails as a
 * full or read-only disk would) while a caller keys the card: the payment
 * must not be charged without a record. The caller hears the apology and
 * is hung up; /readyz reports the store.
 */
describe('a store that cannot be written', () => {
  const dataDir = testDataDir('store-readonly');
  const lines: string[] = [];
  const ports = new SippPortSequence(39000);
  let app: Application;

  beforeAll(async () => {
    const rtpBase = 57000 + Number(process.env.VITEST_POOL_ID ?? '1') * 40;
    const config = loadConfig({
      DATA_DIR: dataDir,
      HTTP_PORT: '0',
      SIP_PORT: String(await freePort(33000)),
      RTP_PORT_MIN: String(rtpBase),
      RTP_PORT_MAX: String(rtpBase + 38),
      SANDBOX_LATENCY_MS: '0',
      LOG_LEVEL: 'debug',
    });
    app = await buildApplication({ config, logger: createLogger({ level: 'debug', destination: { write: (l: string) => void lines.push(l) } }), dataDir });
  });

  afterAll(async () => {
    killAllSipp();
    (app.store as unknown as SqlitePaymentStore).database.pragma('query_only = OFF');
    await app?.stop();
  });

  it('stops the authorisation with a spoken apology: nothing charged, the process up, /readyz not ready', { timeout: 60_000 }, async () => {
    const port = await ports.next();
    const call = runSipp({
      args: [`127.0.0.1:${app.sipPort}`, '-sf', join(projectRoot(), 'tests/sipp/direct-pay-rfc4733.xml'), '-s', 'pay', '-i', '127.0.0.1', '-p', String(port), '-mp', String(port + 2), '-m', '1', '-key', 'ref', '1001', '-key', 'pan', VISA, '-key', 'exp', '1230', '-key', 'cvv', '123'],
      timeoutMs: 50_000,
    });
    const deadline = Date.now() + 20_000;
    while (!(await app.store.listSessions({ reference: '1001' })).some((s) => s.status === 'capturing') && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    (app.store as unknown as SqlitePaymentStore).database.pragma('query_only = ON');

    // The IVR still ends the call itself (the scenario only succeeds on its BYE).
    const run = await call;
    expect(run.exitCode, run.errors || run.stdout.slice(-800)).toBe(0);
    expect((app.psp as SandboxPsp).charges()).toEqual([]);
    expect(lines.some((l) => l.includes('store not writable: authorisation not attempted'))).toBe(true);
    const ready = await fetch(`${app.httpUrl}/readyz`);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { checks: Record<string, boolean> }).checks.store).toBe(false);
    expect(findCardDataInText(lines.join('\n'), [VISA])).toEqual([]);

    // Writable again: the session is still where the failure left it, for the next start to settle.
    (app.store as unknown as SqlitePaymentStore).database.pragma('query_only = OFF');
    expect((await app.store.listSessions({ reference: '1001' })).map((s) => s.status)).toEqual(['capturing']);
    expect((await fetch(`${app.httpUrl}/readyz`)).status).toBe(200);
  });
});
