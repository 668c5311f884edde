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
import { freePort, keyStepsInjection, killAllSipp, runSipp, SippPortSequence, startSipp, type SippRun } from '../../../tools/sipp/sipp-process.js';
import { TEST_CARDS } from '../../../tools/test-cards.js';
import { findCardDataInText } from '../../support/card-scan.js';
import { FakeStripe } from '../../support/fake-stripe.js';
import { FakeTwilio } from '../../support/fake-twilio.js';
import { testDataDir } from '../../support/test-data-dir.js';

const PAN = TEST_CARDS.visa;
const PASSWORD = 'console link test password 1';
// A made-up UK mobile the agent types (valid for libphonenumber, not Luhn-valid).
const MOBILE_TYPED = '07400 123456';
const MOBILE = '+447400123456';

/**
 * Issue 18, the console's path in a real Chromium: the agent creates a
 * payment and sends a payment link (a Checkout Session on the strict fake
 * Stripe, texted by the strict fake Twilio, whose signed status callback says
 * it was delivered: the console shows it); then the caller, transferred to
 * the payment line by SIPp, keys the card instead while a second SIPp is the
 * agent's phone. The link is expired at Stripe before the card is sent:
 * exactly one charge, the page can no longer be paid, and the console shows
 * the link closed and the payment approved.
 */
describe('agent console in Chromium: a payment link sent, then paid by keypad instead', () => {
  const work = mkdtempSync(join(tmpdir(), 'console-payment-link-'));
  const dataDir = testDataDir('console-payment-link');
  const stripe = new FakeStripe();
  const twilio = new FakeTwilio();
  const sippPorts = new SippPortSequence(38500);
  let app: Application;
  let browser: Browser;
  let page: Page;
  let agentPhone: Promise<SippRun>;
  const frames: string[] = [];
  const pageErrors: string[] = [];
  let sessionId = '';

  beforeAll(async () => {
    const rtpBase = 58000 + Number(process.env.VITEST_POOL_ID ?? '1') * 100 + 50;
    // A known port: Twilio is told the status callback URL before the system starts.
    const httpPort = await freePort(34000);
    const config = loadConfig({
      DATA_DIR: dataDir,
      HTTP_PORT: String(httpPort),
      SIP_PORT: String(await freePort(37000)),
      RTP_PORT_MIN: String(rtpBase),
      RTP_PORT_MAX: String(rtpBase + 48),
      LOG_LEVEL: 'silent',
      RECORDING: 'off',
      PSP: 'stripe',
      STRIPE_SECRET_KEY: stripe.secretKey,
      STRIPE_API_BASE: await stripe.start(),
      STRIPE_WEBHOOK_SECRET: stripe.checkout.webhookSecret,
      SMS_PROVIDER: 'twilio',
      TWILIO_ACCOUNT_SID: twilio.accountSid,
      TWILIO_AUTH_TOKEN: twilio.authToken,
      TWILIO_FROM: twilio.from,
      TWILIO_API_BASE: await twilio.start(),
      TWILIO_STATUS_CALLBACK_URL: `http://127.0.0.1:${httpPort}/sms/twilio/status`,
      SMS_DEFAULT_COUNTRY: 'GB',
      // The caller is hung up after the result, so both SIPp scenarios end on their own.
      RELEASE_CALLER_AFTER_PAYMENT: 'true',
    });
    app = await buildApplication({ config, logger: createLogger({ level: 'silent' }), dataDir });
    stripe.checkout.webhookUrl = `${app.httpUrl}/psp/stripe/webhooks`;

    const agentPort = await sippPorts.next();
    app.identities.createUser({ username: 'alice', displayName: 'Alice Agent', role: 'agent', sipUri: `sip:agent@127.0.0.1:${agentPort}`, passwordHash: await hashPassword(PASSWORD) });
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
    page = await (await browser.newContext({ viewport: { width: 1280, height: 1000 } })).newPage();
    page.on('websocket', (ws) => ws.on('framereceived', (f) => frames.push(typeof f.payload === 'string' ? f.payload : f.payload.toString('utf8'))));
    page.on('pageerror', (err) => pageErrors.push(String(err)));
    page.on('console', (msg) => {
      if (msg.type() === 'error') pageErrors.push(msg.text());
    });
  }, 30_000);

  afterAll(async () => {
    await browser?.close();
    killAllSipp();
    await app?.stop();
    await stripe.close();
    await twilio.close();
    rmSync(work, { recursive: true, force: true });
  }, 30_000);

  it('signs in, creates a payment, texts a payment link to the number the agent types, and shows it delivered', async () => {
    await page.goto(app.httpUrl);
    await page.getByLabel('Username').fill('alice');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('#whoami').waitFor({ state: 'visible' });

    await page.getByLabel('Amount').fill('42.5');
    await page.getByLabel('Currency').fill('gbp');
    await page.getByLabel('Order or invoice reference').fill('INV-CONSOLE-LINK');
    await page.getByRole('button', { name: 'Create payment' }).click();
    await page.locator('#detail').waitFor({ state: 'visible' });
    await expect.poll(() => page.locator('#stream-state').getAttribute('data-state')).toBe('live');
    sessionId = (await app.store.listSessions({ reference: 'INV-CONSOLE-LINK' }))[0]!.id;

    await page.locator('#link-phone').fill(MOBILE_TYPED);
    await page.getByRole('button', { name: 'Send a payment link' }).click();
    await expect.poll(() => page.locator('#action-result').textContent()).toMatch(/^Payment link sent \(number ending 456, valid until .+\)\.$/);
    await page.locator('#detail-status', { hasText: 'Payment link sent' }).waitFor({ timeout: 5_000 });
    await page.locator('#summary', { hasText: 'waiting for the payment; text to …456 accepted by the SMS provider' }).waitFor({ timeout: 5_000 });
    await page.locator('#progress-log').getByText('Payment link texted to the number ending 456').waitFor({ timeout: 5_000 });

    // One text, to the number typed, carrying the one Checkout Session made.
    expect(twilio.messages.map((m) => m.to)).toEqual([MOBILE]);
    expect(twilio.messages[0]!.body).toMatch(/ https:\/\/checkout\.stripe\.com\/c\/pay\/cs_/);
    // The handset has it: Twilio's signed status callbacks reach the console.
    expect(await twilio.report(twilio.messages[0]!.sid, 'sent')).toBe(204);
    expect(await twilio.report(twilio.messages[0]!.sid, 'delivered')).toBe(204);
    await page.locator('#progress-log').getByText('The payment link text was delivered to the number ending 456').waitFor({ timeout: 5_000 });
    await page.locator('#summary', { hasText: 'waiting for the payment; text to …456 delivered' }).waitFor({ timeout: 5_000 });
    expect([...stripe.checkout.sessions.values()].map((s) => [s.status, s.amount_total, s.currency])).toEqual([['open', 4250, 'gbp']]);
  });

  it('the transferred caller keys the card instead: the link is expired at Stripe first, one charge, and the console shows it', { timeout: 60_000 }, async () => {
    const transferUri = await page.locator('#transfer-uri').inputValue();
    const [, service, host, port] = /^sip:(pay-\d{6})@([\d.]+):(\d+)$/.exec(transferUri) ?? [];
    expect(service).toBeDefined();
    const callerPort = await sippPorts.next();
    // Keys in steps (direct-pay-keys.xml): a moment for the agent call-back, then the card number, expiry, security code.
    const inject = keyStepsInjection(join(work, 'caller.csv'), ['', 1000], [PAN, 1500], ['1230', 1500], ['123', 500]);
    const caller = runSipp({
      args: [`${host}:${port}`, '-sf', join(projectRoot(), 'tests/sipp/direct-pay-keys.xml'), '-s', service!, '-i', '127.0.0.1', '-p', String(callerPort), '-mp', String(callerPort + 2), '-m', '1', ...inject],
      timeoutMs: 50_000,
    });

    const log = page.locator('#progress-log');
    await log.getByText('Caller connected to the payment line').waitFor({ timeout: 15_000 });
    await log.getByText('Payment link closed: the caller pays by keypad').waitFor({ timeout: 30_000 });
    await page.locator('#stage', { hasText: /^Approved, PSP reference pi_\w+$/ }).waitFor({ timeout: 30_000 });
    await page.locator('#detail-status', { hasText: 'Approved' }).waitFor({ timeout: 5_000 });
    await page.locator('#summary', { hasText: 'expired; text to …456 delivered' }).waitFor({ timeout: 5_000 });
    expect(await page.locator('#summary').textContent()).toContain('Visa •••• 4242');

    const run = await caller;
    expect(run.exitCode, `${run.errors}\n${run.stdout.slice(-1500)}`).toBe(0);
    const phone = await agentPhone;
    expect(phone.exitCode, phone.stdout.slice(-1500)).toBe(0);

    // Exactly one charge, by the keypad; the link closed at Stripe and here, its page no longer payable.
    expect(stripe.paymentIntents.size).toBe(1);
    expect([...stripe.checkout.sessions.values()].map((s) => s.status)).toEqual(['expired']);
    expect((await app.links.listLinks({ sessionId })).map((l) => l.state)).toEqual(['expired']);
    expect(await app.store.getSession(sessionId)).toMatchObject({ status: 'approved', cardLast4: '4242' });
    const checkoutId = [...stripe.checkout.sessions.keys()][0]!;
    expect(() => stripe.checkout.pay(checkoutId)).toThrow(/not open/);
    const actions = (await app.audit.list({ sessionId })).map((e) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['payment-link-sent', 'payment-link-expired']));
  });

  it('never showed or received card data beyond the last four, nor the full number', async () => {
    const seen = `${await page.content()}\n${await page.locator('body').innerText()}\n${frames.join('\n')}`;
    expect(findCardDataInText(seen, [PAN])).toEqual([]);
    expect(seen).not.toContain(MOBILE.slice(1, -3));
    expect(pageErrors.filter((e) => !/^Failed to load resource: the server responded with a status of (400|401|409)\b/.test(e))).toEqual([]);
  });
});
