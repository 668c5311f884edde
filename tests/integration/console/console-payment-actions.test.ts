import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../../agent-bridge/identity/password-hash.js';
import { buildApplication, type Application } from '../../../app/application.js';
import { loadConfig } from '../../../app/config.js';
import { createLogger } from '../../../app/logger.js';
import type { PaymentSessionRecord } from '../../../store/payment-store.js';
import { CardData } from '../../../vault/card-data.js';
import { testDataDir } from '../../support/test-data-dir.js';

// The public Visa test card (sandbox PSP: approved).
const VISA = '4242424242424242';
const PASSWORD = 'console supervisor password 1';

/**
 * What a supervisor does in the console after the call, in a real Chromium
 * against the system with the sandbox PSP authorising only
 * (PSP_CAPTURE=manual): find a payment by the confirmation the caller quotes
 * or by its PSP reference, capture part of it, refund part of what was
 * captured, void another; each checked against the API afterwards.
 */
describe('agent console: finding payments, capture, refund and void', () => {
  const dataDir = testDataDir('console-payment-actions');
  let app: Application;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];
  let first: PaymentSessionRecord;
  let second: PaymentSessionRecord;

  /** A payment authorised as a call would authorise it. */
  async function authorised(reference: string, amountMinor: number): Promise<PaymentSessionRecord> {
    const s = await app.store.createSession({ mode: 'direct', reference, amountMinor, currency: 'EUR', callId: `call-${reference}` });
    const result = await app.authoriser.authorise(await app.store.updateSession(s.id, { status: 'capturing' }), new CardData({ pan: VISA, expiry: '1230', securityCode: '123', brand: 'visa' }), {
      kind: 'call',
      id: `call-${reference}`,
    });
    expect(result.kind).toBe('approved');
    return (await app.store.getSession(s.id))!;
  }

  const api = async (path: string): Promise<Record<string, any>> => (await page.evaluate(async (p) => (await fetch(p)).json(), path)) as Record<string, any>;

  beforeAll(async () => {
    const config = loadConfig({ DATA_DIR: dataDir, HTTP_PORT: '0', SIP_PORT: '0', LOG_LEVEL: 'silent', SANDBOX_LATENCY_MS: '0', PSP_CAPTURE: 'manual' });
    app = await buildApplication({ config, logger: createLogger({ level: 'silent' }), dataDir });
    await app.identities.createUser({ username: 'sue', displayName: 'Sue Supervisor', role: 'supervisor', passwordHash: await hashPassword(PASSWORD) });
    first = await authorised('INV-C1', 4250);
    second = await authorised('INV-C2', 1200);
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    page = await (await browser.newContext({ viewport: { width: 1280, height: 1000 } })).newPage();
    page.on('pageerror', (err) => pageErrors.push(String(err)));
    // Every capture, refund and void asks first: the supervisor says yes.
    page.on('dialog', (dialog) => void dialog.accept());
  }, 30_000);

  afterAll(async () => {
    await browser?.close();
    await app?.stop();
  }, 30_000);

  it('signs the supervisor in', async () => {
    await page.goto(app.httpUrl);
    await page.getByLabel('Username').fill('sue');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('#whoami').waitFor({ state: 'visible' });
  });

  it('finds a payment by the confirmation the caller quotes, typed in lower case, and shows it', async () => {
    await page.getByLabel('Find a payment').fill(first.confirmation!.toLowerCase());
    await page.getByRole('button', { name: 'Find' }).click();
    await expect.poll(() => page.locator('#session-list button').count()).toBe(1);
    await page.locator(`#session-list button[data-session="${first.id}"]`).click();
    await expect.poll(() => page.locator('#summary').textContent()).toContain(first.confirmation!);
    // Authorised only: capture and void are offered, refund is not (nothing captured yet).
    expect(await page.locator('#psp-capture').isVisible()).toBe(true);
    expect(await page.locator('#void').isVisible()).toBe(true);
    expect(await page.locator('#refund').isHidden()).toBe(true);
  });

  it('captures part of it, then refunds part of what was captured', async () => {
    await page.getByLabel('How much').fill('30.00');
    await page.locator('#psp-capture').click();
    await expect.poll(() => page.locator('#action-result').textContent()).toBe('Capture of €30.00: done.');
    let payment = await api(`/api/v1/sessions/${first.id}`);
    expect(payment).toMatchObject({ capturable: 0, refundable: 3000, reversals: [{ kind: 'capture', amount: 3000, state: 'succeeded', requestedBy: { kind: 'supervisor' } }] });
    await expect.poll(() => page.locator('#summary').textContent()).toContain('Captured€30.00');
    expect(await page.locator('#void').isHidden()).toBe(true);

    await page.getByLabel('How much').fill('10');
    await page.locator('#refund').click();
    await expect.poll(() => page.locator('#action-result').textContent()).toBe('Refund of €10.00: done.');
    payment = await api(`/api/v1/sessions/${first.id}`);
    expect(payment.refundable).toBe(2000);
    expect(payment.reversals.map((r: { kind: string; amount: number }) => `${r.kind}:${r.amount}`)).toEqual(['capture:3000', 'refund:1000']);
    // Asking the API for the same capture again answers it, not a second one.
    const again = (await page.evaluate(
      async (id) => (await fetch(`/api/v1/sessions/${id}/psp-capture`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ amount: 3000 }) })).json(),
      first.id,
    )) as { reversal: { kind: string }; payment: { reversals: unknown[] } };
    expect(again.payment.reversals).toHaveLength(2);
  });

  it('finds another payment by its PSP reference and voids it', async () => {
    await page.getByLabel('Find a payment').fill(second.pspReference!);
    await page.getByRole('button', { name: 'Find' }).click();
    await page.locator(`#session-list button[data-session="${second.id}"]`).click();
    await expect.poll(() => page.locator('#detail-title').textContent()).toBe('Payment INV-C2');
    await page.locator('#void').click();
    await expect.poll(() => page.locator('#action-result').textContent()).toBe('Void of €12.00: done.');
    expect(await api(`/api/v1/sessions/${second.id}`)).toMatchObject({ capturable: 0, refundable: 0, reversals: [{ kind: 'void', state: 'succeeded' }] });
    await expect.poll(() => page.locator('#money-group').isHidden()).toBe(true);
  });

  it('offers to release the caller, and says so when nobody is on the line (the SIP side: release-caller-sipp.test.ts)', async () => {
    await page.getByRole('button', { name: 'Release caller' }).click();
    await expect.poll(() => page.locator('#action-result').textContent()).toBe('Release refused. The caller is not on the payment line yet. (HTTP 409)');
    // Only the API's own 409 was logged; nothing on the page failed.
    expect(pageErrors).toEqual([]);
  });
});
