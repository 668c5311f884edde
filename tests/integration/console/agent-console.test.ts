import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../../agent-bridge/identity/password-hash.js';
import { buildApplication, type Application } from '../../../app/application.js';
import { loadConfig } from '../../../app/config.js';
import { createLogger } from '../../../app/logger.js';
import { projectRoot } from '../../../app/project-root.js';
import { findCardDataInText } from '../../support/card-scan.js';
import { freePort, keyStepsInjection, killAllSipp, runSipp, SippPortSequence, startSipp, type SippRun } from '../../../tools/sipp/sipp-process.js';
import { testDataDir } from '../../support/test-data-dir.js';

// The public Visa test card (sandbox PSP: approved), and what the caller keys after it.
const PAN = '4242424242424242';
const EXPIRY = '1230';
const CVV = '737';
const PASSWORD = 'console test password 1';

const SIPP_DIR = join(projectRoot(), 'tests/sipp');
const ARTIFACTS = join(projectRoot(), 'test-artifacts');

/**
 * Card data the page may never have received: every 6-digit run of the PAN
 * (so nothing beyond the last four), the PAN in groups of four, and the
 * expiry and security code as keyed (as whole numbers, so a random id that
 * happens to hold "737" between letters does not count).
 */
function cardDataIn(text: string): string[] {
  const hits = new Set<string>();
  for (let i = 0; i + 6 <= PAN.length; i++) if (text.includes(PAN.slice(i, i + 6))) hits.add(`PAN run ${PAN.slice(i, i + 6)}`);
  for (const found of findCardDataInText(text, [PAN])) hits.add(`PAN ${found}`);
  for (const [name, value] of [['expiry', EXPIRY], ['security code', CVV], ['expiry+security code', EXPIRY + CVV]] as const) {
    if (new RegExp(`(?<![0-9A-Za-z])${value}(?![0-9A-Za-z])`).test(text)) hits.add(name);
  }
  return [...hits];
}

/**
 * The agent console in a real Chromium (Debian's, driven by playwright-core)
 * against the whole system started in-process on loopback: sign in, create
 * a payment, read the transfer target off the page; a SIPp caller is
 * transferred there and keys the test card while a second SIPp is the
 * agent's phone the IVR calls back. The page must follow every step live
 * (across a forced WebSocket reconnect) and end on "Approved"; then
 * everything the page showed or received is checked for card data.
 */
describe('agent console in Chromium', () => {
  // The callers' keys and audio (test input) stay out of the system's data, which CI audits for card numbers.
  const work = mkdtempSync(join(tmpdir(), 'agent-console-'));
  const dataDir = testDataDir('agent-console');
  let app: Application;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const sippPorts = new SippPortSequence(38000);
  let agentPort: number;
  let agentPhone: Promise<SippRun>;

  // Everything the page received, for the card-data scan.
  const responses: Promise<{ url: string; body: string }>[] = [];
  const socketUrls: string[] = [];
  const frames: string[] = [];
  const pageErrors: string[] = [];

  let sessionId = '';
  let transferUri = '';

  beforeAll(async () => {
    mkdirSync(dataDir, { recursive: true });
    const worker = Number(process.env.VITEST_POOL_ID ?? '1');
    const rtpBase = 58000 + worker * 100;
    const config = loadConfig({
      DATA_DIR: dataDir,
      HTTP_PORT: '0',
      SIP_PORT: String(await freePort(37000)),
      RTP_PORT_MIN: String(rtpBase),
      RTP_PORT_MAX: String(rtpBase + 98),
      LOG_LEVEL: 'silent',
      SANDBOX_LATENCY_MS: '50',
      // The caller is hung up after the result, so both SIPp scenarios end on their own.
      RELEASE_CALLER_AFTER_PAYMENT: 'true',
    });
    app = await buildApplication({ config, logger: createLogger({ level: 'silent' }), dataDir });
    // No SIP URI on file: the agent gives the call-back number on the form.
    await app.identities.createUser({ username: 'alice', displayName: 'Alice Agent', role: 'agent', passwordHash: await hashPassword(PASSWORD) });

    agentPort = await sippPorts.next();
    agentPhone = startSipp([
      '-sf', join(projectRoot(), 'tests/integration/console/agent-phone-answer.xml'),
      '-i', '127.0.0.1',
      '-p', String(agentPort),
      '-mp', String(agentPort + 2),
      '-m', '1',
    ]).done;

    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    context = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
    // Every Content-Security-Policy violation the page hits, seen from inside it.
    await context.addInitScript(`
      globalThis.cspViolations = [];
      addEventListener('securitypolicyviolation', (e) => cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));
    `);
    page = await context.newPage();
    page.on('response', (res) => {
      responses.push(
        res
          .body()
          .then((b) => ({ url: res.url(), body: b.toString('utf8') }))
          .catch(() => ({ url: res.url(), body: '' })),
      );
    });
    page.on('websocket', (ws) => {
      socketUrls.push(ws.url());
      ws.on('framereceived', (f) => frames.push(typeof f.payload === 'string' ? f.payload : f.payload.toString('utf8')));
    });
    page.on('pageerror', (err) => pageErrors.push(String(err)));
    page.on('console', (msg) => {
      if (msg.type() === 'error') pageErrors.push(msg.text());
    });
  }, 30_000);

  afterAll(() => rmSync(work, { recursive: true, force: true }));

  afterAll(async () => {
    await browser?.close();
    killAllSipp();
    await app?.stop();
  }, 30_000);

  it('serves the page with its modules, same-origin only', async () => {
    const res = await page.goto(app.httpUrl);
    expect(res?.status()).toBe(200);
    expect(res?.headers()['content-type']).toMatch(/^text\/html/);
    expect(res?.headers()['cache-control']).toBe('no-store');
    expect(res?.headers()['content-security-policy']).toContain("default-src 'self'");
    const js = await fetch(`${app.httpUrl}/console.js`);
    expect(js.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(js.headers.get('cache-control')).toBe('no-store');
    // The API keeps its JSON 404 behind the static files.
    expect(await (await fetch(`${app.httpUrl}/api/v1/nothing`)).json()).toEqual({ error: 'not-found' });
    await expect.poll(() => page.locator('#login-form').isVisible()).toBe(true);
  });

  it('refuses a wrong password, then signs in and shows who is signed in', async () => {
    await page.getByLabel('Username').fill('alice');
    await page.getByLabel('Password').fill('not the password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.locator('#login-error').textContent()).toContain('Wrong username or password');

    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByLabel('Password').press('Enter');
    await page.locator('#whoami').waitFor({ state: 'visible' });
    expect(await page.locator('#user-name').textContent()).toBe('Alice Agent');
    expect(await page.locator('#login-view').isHidden()).toBe(true);
    // Keyboard first: the amount field has the focus.
    expect(await page.evaluate('document.activeElement?.id')).toBe('amount');
    const cookies = await context.cookies();
    // Plain HTTP here: not Secure (tests/integration/agent-bridge-logout.test.ts has HTTPS).
    expect(cookies.find((c) => c.name === 'pay_session')).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/', secure: false });
  });

  it('creates a payment from major units and shows the transfer target', async () => {
    await page.getByLabel('Amount').fill('42.5');
    await page.getByLabel('Currency').fill('eur');
    await page.getByLabel('Order or invoice reference').fill('INV-CONSOLE-1');
    await page.getByLabel(/Description/).fill('Console test');
    await page.getByRole('button', { name: 'Create payment' }).click();
    // No phone on file and none given: the API's 400 names the field.
    await expect.poll(() => page.locator('#create-error').textContent()).toMatch(/call-back SIP URI.*\(HTTP 400\)/);

    await page.getByLabel(/Call me back at/).fill(`sip:agent@127.0.0.1:${agentPort}`);
    await page.getByRole('button', { name: 'Create payment' }).click();
    await page.locator('#detail').waitFor({ state: 'visible' });
    transferUri = await page.locator('#transfer-uri').inputValue();
    expect(transferUri).toMatch(new RegExp(`^sip:pay-\\d{6}@127\\.0\\.0\\.1:${app.sipPort}$`));
    expect(await page.evaluate('document.activeElement?.id')).toBe('transfer-uri');

    const [stored] = await app.store.listSessions({ reference: 'INV-CONSOLE-1' });
    expect(stored).toMatchObject({ amountMinor: 4250, currency: 'EUR', description: 'Console test', autoCapture: true });
    expect(stored!.agentUri).toBe(`sip:agent@127.0.0.1:${agentPort}`);
    sessionId = stored!.id;

    expect(await page.locator('#detail-title').textContent()).toBe('Payment INV-CONSOLE-1');
    expect(await page.locator('#detail-status').textContent()).toBe('Waiting for the caller');
    expect(await page.locator('#summary').textContent()).toMatch(/€42\.50/);
    await expect.poll(() => page.locator('#session-list button[aria-current="true"]').textContent()).toContain('INV-CONSOLE-1');
    await expect.poll(() => page.locator('#stream-state').getAttribute('data-state')).toBe('live');
  });

  it('shows a 409 clearly when the caller has not joined', async () => {
    await page.getByRole('button', { name: 'Capture card number', exact: true }).click();
    await expect.poll(() => page.locator('#action-result').textContent()).toBe(
      'Capture card number refused. The caller is not on the payment line yet. (HTTP 409)',
    );
  });

  it('follows the transferred caller live to "Approved", across a WebSocket reconnect', { timeout: 60_000 }, async () => {
    const match = /^sip:(pay-\d{6})@([\d.]+):(\d+)$/.exec(transferUri);
    expect(match).not.toBeNull();
    const [, service, host, port] = match!;
    const callerPort = await sippPorts.next();
    // Keys in steps (direct-pay-keys.xml): a moment for the agent call-back, then the card number, expiry, security code.
    const inject = keyStepsInjection(join(work, 'caller.csv'), ['', 1000], [PAN, 1500], [EXPIRY, 1500], [CVV, 500]);
    const caller = runSipp({
      args: [
        `${host}:${port}`,
        '-sf', join(SIPP_DIR, 'direct-pay-keys.xml'),
        '-s', service!,
        '-i', '127.0.0.1',
        '-p', String(callerPort),
        '-mp', String(callerPort + 2),
        '-m', '1',
        ...inject,
      ],
      timeoutMs: 50_000,
    });

    const log = page.locator('#progress-log');
    await log.getByText('Caller connected to the payment line').waitFor({ timeout: 15_000 });
    await log.getByText('You are connected to the caller').waitFor({ timeout: 15_000 });
    // The secure window is shown while the card is keyed; digits show as a count only.
    await page.locator('#secure-badge').waitFor({ state: 'visible', timeout: 15_000 });
    expect(await page.locator('#secure-badge').textContent()).toBe('Secure');
    await page.locator('#fields li[data-field="card-number"] .state', { hasText: /^•••• \d+ digits?$/ }).waitFor({ timeout: 15_000 });
    const cardRow = page.locator('#fields li[data-field="card-number"]');
    await cardRow.and(page.locator('[data-state="valid"]')).waitFor({ timeout: 15_000 });
    expect(await cardRow.locator('.state').textContent()).toBe('Valid: Visa •••• 4242');

    // The network "comes back": the console drops its socket and resumes after the last frame it saw.
    const before = socketUrls.length;
    await page.evaluate("window.dispatchEvent(new Event('online'))");

    await page.locator('#stage', { hasText: /^Approved, PSP reference sbx_[0-9a-f]+$/ }).waitFor({ timeout: 30_000 });
    await page.locator('#detail-status', { hasText: 'Approved' }).waitFor({ timeout: 5_000 });
    expect(await page.locator('#secure-badge').isHidden()).toBe(true);
    const stored = (await app.store.getSession(sessionId))!;
    expect(stored).toMatchObject({ status: 'approved', cardBrand: 'visa', cardLast4: '4242' });
    expect(await page.locator('#summary').textContent()).toContain(stored.pspReference!);
    expect(await page.locator('#summary').textContent()).toContain('Visa •••• 4242');
    for (const field of ['expiry', 'security-code']) {
      expect(await page.locator(`#fields li[data-field="${field}"] .state`).textContent()).toBe('Valid');
    }
    // Finished: the action buttons are off.
    for (const button of await page.locator('button[data-action]').all()) expect(await button.isDisabled()).toBe(true);

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'agent-console.png'), fullPage: true });

    const run = await caller;
    expect(run.exitCode, `${run.errors}\n${run.stdout.slice(-1500)}`).toBe(0);
    const phone = await agentPhone;
    expect(phone.exitCode, phone.stdout.slice(-1500)).toBe(0);

    // Resumed, not restarted: the new socket asked for frames after the last one seen, and no frame was shown twice.
    const resumed = socketUrls.slice(before).find((u) => u.includes(`session=${sessionId}`));
    const after = Number(new URL(resumed!).searchParams.get('after'));
    expect(after).toBeGreaterThan(0);
    const seqs = frames.map((f) => (JSON.parse(f) as { sessionId: string; seq: number })).filter((f) => f.sessionId === sessionId).map((f) => f.seq);
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
    const texts = await log.locator('li .text').allTextContents();
    for (const once of ['Caller connected to the payment line', 'Card number valid: Visa •••• 4242', 'Authorising with the payment provider…']) {
      expect(texts.filter((t) => t === once)).toHaveLength(1);
    }
    expect(texts.filter((t) => t.startsWith('Approved, PSP reference'))).toHaveLength(1);
  });

  it('never showed or received card data beyond the last four', async () => {
    const html = await page.content();
    const text = await page.locator('body').innerText();
    const inputs = (await page.locator('input').evaluateAll((els) => els.map((e) => (e as unknown as { value: string }).value))).join('\n');
    expect(cardDataIn(`${html}\n${text}\n${inputs}`)).toEqual([]);
    expect(text).toContain('4242');

    const bodies = await Promise.all(responses);
    expect(bodies.some((b) => b.url.endsWith('/console.js'))).toBe(true);
    expect(bodies.some((b) => b.body.includes('"cardLast4":"4242"'))).toBe(true);
    for (const { url, body } of bodies) expect(cardDataIn(body), url).toEqual([]);

    expect(frames.some((f) => f.includes('"type":"digit-entered"'))).toBe(true);
    for (const frame of frames) expect(cardDataIn(frame), frame).toEqual([]);
    expect(await page.evaluate('globalThis.cspViolations')).toEqual([]);
    // Nothing the page did was refused (no CSP violation, no script error); the
    // API's own 4xx answers the test provoked are logged by Chromium and expected.
    expect(pageErrors.filter((e) => !/^Failed to load resource: the server responded with a status of (400|401|409)\b/.test(e))).toEqual([]);
  });

  it('signs out: back to the form, the cookie gone and its token revoked, and another tab signed out by its stream', async () => {
    const token = (await context.cookies()).find((c) => c.name === 'pay_session')!.value;
    // A second tab (same cookie) following the payment live.
    const other = await context.newPage();
    await other.goto(app.httpUrl);
    await other.locator(`#session-list button[data-session="${sessionId}"]`).click();
    await expect.poll(() => other.locator('#stream-state').getAttribute('data-state')).toBe('live');

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.locator('#login-form').waitFor({ state: 'visible' });
    expect(await page.locator('#whoami').isHidden()).toBe(true);
    expect(await page.evaluate(async () => (await fetch('/api/v1/me')).status)).toBe(401);
    expect((await context.cookies()).find((c) => c.name === 'pay_session')).toBeUndefined();
    // Revoked, not only forgotten by this browser: a copy of the cookie is refused too.
    expect((await fetch(`${app.httpUrl}/api/v1/me`, { headers: { cookie: `pay_session=${token}` } })).status).toBe(401);

    await other.locator('#login-form').waitFor({ state: 'visible' });
    expect(await other.locator('#login-error').textContent()).toContain('You are signed out. Sign in again.');
    await other.close();
  });
});
