import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../../app/project-root.js';
import { qaJunit, qaTable } from '../../../scripts/qa/qa-report.js';
import { runQa } from '../../../scripts/qa/qa-runner.js';
import { QA_SCENARIOS } from '../../../scripts/qa/qa-scenarios.js';
import { startSystem, type RunningSystem } from '../../../tools/system-process.js';
import { freePort, killAllSipp } from '../../../tools/sipp/sipp-process.js';
import { testDataDir } from '../../support/test-data-dir.js';

const run = promisify(execFile);

/**
 * The QA kit's whole scenario library, as `npm run qa` runs it against a
 * deployment, here against the system started on loopback: every scenario
 * passes, and the runner's table and JUnit file say so.
 */
describe('QA runner against the started system', () => {
  const work = mkdtempSync(join(tmpdir(), 'qa-runner-'));
  const dataDir = testDataDir('qa-runner');
  const references = QA_SCENARIOS.map((_, i) => String(5001 + i));
  let system: RunningSystem;

  beforeAll(async () => {
    writeFileSync(join(work, 'orders.json'), JSON.stringify(references.map((reference) => ({ reference, amountMinor: 1999, currency: 'EUR' }))));
    const rtpBase = 40000 + Number(process.env.VITEST_POOL_ID ?? '1') * 300;
    system = await startSystem({
      DATA_DIR: dataDir,
      HTTP_PORT: String(await freePort(31000)),
      SIP_PORT: String(await freePort(33000)),
      RTP_PORT_MIN: String(rtpBase),
      RTP_PORT_MAX: String(rtpBase + 298),
      ORDERS_FILE: join(work, 'orders.json'),
      FIRST_DIGIT_TIMEOUT_MS: '3000',
      SANDBOX_LATENCY_MS: '50',
    });
  });

  afterAll(async () => {
    killAllSipp();
    await system?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('passes every scenario of the library, slow ones and the agent phone included', { timeout: 240_000 }, async () => {
    const results = await runQa({
      target: {
        host: '127.0.0.1',
        port: system.sipPort,
        payNumber: 'pay',
        localIp: '127.0.0.1',
        api: { url: system.httpUrl, key: system.adminKey },
        agentPort: await freePort(44000),
        references,
        firstDigitTimeoutMs: 3000,
        loadCalls: 10,
      },
      scenarios: QA_SCENARIOS,
      parallel: 5,
      firstCallerPort: 45000 + Number(process.env.VITEST_POOL_ID ?? '1') * 200,
    });
    expect(results.filter((r) => r.result !== 'pass'), qaTable(results)).toEqual([]);
    expect(results.map((r) => r.scenario)).toEqual(QA_SCENARIOS.map((s) => s.name));
    const junit = join(work, 'qa.xml');
    writeFileSync(junit, qaJunit(results));
    await run('xmllint', ['--noout', junit]);
    expect(readFileSync(junit, 'utf8')).toContain(`tests="${QA_SCENARIOS.length}" failures="0"`);
  });

  it('as `npm run qa`: prints the table, writes JUnit, exits 1 when a scenario fails and 2 on bad usage', { timeout: 60_000 }, async () => {
    const cli = (args: string[]) =>
      run(join(projectRoot(), 'node_modules/.bin/tsx'), [join(projectRoot(), 'scripts/qa.ts'), ...args], { cwd: work }).then(
        (r) => ({ code: 0, ...r }),
        (e: { code: number; stdout: string; stderr: string }) => e,
      );
    const target = ['--target', `127.0.0.1:${system.sipPort}`, '--api', system.httpUrl, '--api-key', system.adminKey, '--references', references[0]!];
    const ok = await cli([...target, '--scenario', 'cancel', '--junit', join(work, 'ok.xml')]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/cancel\s+PASS/);
    // A number the IVR does not serve: SIPp's call is refused, the scenario fails.
    const failed = await cli([...target, '--scenario', 'cancel', '--pay-number', 'nobody', '--junit', join(work, 'failed.xml')]);
    expect(failed.code).toBe(1);
    expect(failed.stdout).toMatch(/cancel\s+FAIL\s+[\d.]+ s\s+SIPp caller-cancel\.xml/);
    expect(readFileSync(join(work, 'failed.xml'), 'utf8')).toContain('failures="1"');
    expect((await cli([...target, '--scenario', 'no-such-scenario'])).code).toBe(2);
  });
});
