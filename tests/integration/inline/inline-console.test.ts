import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../../agent-bridge/identity/password-hash.js';
import { buildApplication, type Application } from '../../../app/application.js';
import { loadConfig } from '../../../app/config.js';
import { createLogger } from '../../../app/logger.js';
import { projectRoot } from '../../../app/project-root.js';
import { keyStepsInjection, killAllSipp, runSipp, SippPortSequence, startSipp } from '../../../tools/sipp/sipp-process.js';
import { writeUlaw } from '../../support/sipp-media.js';
import { testDataDir } from '../../support/test-data-dir.js';

const SIPP_DIR = join(projectRoot(), 'tests/sipp');
const PASSWORD = 'console agent password 1';
// Public test card numbers (the sandbox PSP's table).
const VISA = '4242424242424242';
const EXPIRY = '1230';
const CODE = '123';

/**
 * In-line mode in the agent console, in a real Chromium: a SIPp carrier's
 * call relayed to a SIPp PBX whose answer names the agent; the agent sees
 * the call in "My live calls", takes a payment on it (amount, reference),
 * and follows it to approved in the live progress view.
 */
describe('agent console, in-line mode: the live calls list and "Take payment"', () => {
  const dataDir = testDataDir('inline-console');
  const work = mkdtempSync(join(tmpdir(), 'inline-console-'));
  const sippPorts = new SippPortSequence(39000);
  let app: Application;
  let browser: Browser;
  let page: Page;
  let pbxPort: number;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    pbxPort = await sippPorts.next();
    const rtpBase = 57000 + Number(process.env.VITEST_POOL_ID ?? '1') * 200;
    const config = loadConfig({
      DATA_DIR: dataDir,
      HTTP_PORT: '0',
      SIP_PORT: '0',
      RTP_PORT_MIN: String(rtpBase),
      RTP_PORT_MAX: String(rtpBase + 198),
      LOG_LEVEL: 'silent',
      SANDBOX_LATENCY_MS: '50',
      INLINE_ROUTE: `sip:{user}@127.0.0.1:${pbxPort}`,
      INLINE_DIAL_TIMEOUT_MS: '10000',
    });
    app = await buildApplication({ config, logger: createLogger({ level: 'silent' }), dataDir });
    await app.identities.createUser({ username: 'amy', displayName: 'Amy Agent', role: 'agent', passwordHash: await hashPassword(PASSWORD) });
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    page = await (await browser.newContext({ viewport: { width: 1280, height: 1000 } })).newPage();
    page.on('pageerror', (err) => pageErrors.push(String(err)));
  }, 30_000);

  afterAll(async () => {
    killAllSipp();
    await browser?.close();
    await app?.stop();
    rmSync(work, { recursive: true, force: true });
  }, 30_000);

  it('the agent takes a payment on the call the PBX says they answered, and sees it approved', { timeout: 90_000 }, async () => {
    await page.goto(app.httpUrl);
    await page.getByLabel('Username').fill('amy');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('#live-calls').waitFor({ state: 'visible' });
    expect(await page.locator('#live-calls-empty').isVisible()).toBe(true);

    const voice = join(work, 'agent.ulaw');
    writeUlaw(voice, new Int16Array(8000));
    const port = await sippPorts.next();
    const pbx = startSipp(['-sf', join(SIPP_DIR, 'inline', 'pbx-agent-phone.xml'), '-i', '127.0.0.1', '-p', String(pbxPort), '-mp', String(pbxPort + 2), '-m', '1', '-key', 'agent', 'amy', '-key', 'voice', `${voice},-1,0`]);
    // The caller talks a while (a PBX menu key), then keys the card once the agent has started the payment.
    const keys = keyStepsInjection(join(work, 'console.csv'), ['1', 9000], [VISA, 2500], [EXPIRY, 1500], [CODE, 9000]);
    const caller = runSipp({
      args: [`127.0.0.1:${app.sipPort}`, '-sf', join(SIPP_DIR, 'direct-pay-hangup.xml'), '-s', '2001', '-i', '127.0.0.1', '-p', String(port), '-mp', String(port + 2), '-m', '1', ...keys],
      timeoutMs: 60_000,
    });

    const item = page.locator('#live-call-list li.live-call');
    await item.first().waitFor({ state: 'visible', timeout: 15_000 });
    expect(await item.count()).toBe(1);
    await item.getByRole('textbox', { name: /^Amount/ }).fill('19.99');
    await item.getByRole('textbox', { name: /^Reference/ }).fill('INLINE-CONSOLE-1');
    await item.getByRole('button', { name: 'Take payment' }).click();

    // The console opens the new payment and follows it live.
    await expect.poll(() => page.locator('#detail-title').textContent(), { timeout: 10_000 }).toBe('Payment INLINE-CONSOLE-1');
    await expect.poll(() => page.locator('#detail-status').getAttribute('data-status'), { timeout: 40_000, interval: 500 }).toBe('approved');
    expect(await page.locator('#summary').textContent()).toContain('4242');
    expect(await page.locator('#progress-log').textContent()).not.toContain(VISA);

    const run = await caller;
    expect(run.exitCode, run.errors || run.stdout.slice(-1500)).toBe(0);
    expect((await pbx.done).exitCode).toBe(0);
    const sessions = (await app.store.listSessions({ limit: 10 })).filter((s) => s.reference === 'INLINE-CONSOLE-1');
    const amy = (await app.identities.findUserForLogin('amy'))!.user.id;
    expect(sessions.map((s) => [s.status, s.amountMinor, s.agentId])).toEqual([['approved', 1999, amy]]);
    expect(pageErrors).toEqual([]);
  });
});
