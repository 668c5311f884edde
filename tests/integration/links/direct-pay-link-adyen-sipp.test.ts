import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killAllSipp } from '../../../tools/sipp/sipp-process.js';
import { startSystem, type RunningSystem } from '../../../tools/system-process.js';
import { ALL_TEST_CARDS } from '../../../tools/test-cards.js';
import { findCardDataInText } from '../../support/card-scan.js';
import { DirectPayLinkCalls, LINK_CALLER } from '../../support/direct-pay-link-caller.js';
import { FakeAdyen } from '../../support/fake-adyen.js';

/**
 * Issue 18's direct pay path on Adyen Pay by Link, as direct-pay-link-sipp.test.ts
 * does it on Stripe: a real SIPp caller from a UK mobile on the pay number
 * presses 9 after the amount, then 1; one link is made on the strict fake
 * Adyen (POST /paymentLinks) and texted through the sandbox outbox; the
 * shopper pays its page and Adyen's HMAC-signed AUTHORISATION webhook (naming
 * the paymentLinkId) settles the session approved. The keypad charges
 * nothing: no POST /payments ever reaches Adyen.
 */
describe('direct pay: press 9 for a payment link on Adyen Pay by Link (SIPp caller, fake Adyen, signed AUTHORISATION webhook)', { timeout: 90_000 }, () => {
  const work = mkdtempSync(join(tmpdir(), 'direct-pay-link-adyen-'));
  const adyen = new FakeAdyen();
  const calls = new DirectPayLinkCalls(work);
  let system: RunningSystem;

  beforeAll(async () => {
    const settings = await calls.settings('direct-pay-link-adyen', [{ reference: '7101', amountMinor: 4250, currency: 'GBP', description: 'Test order 7101' }]);
    await adyen.start();
    system = await startSystem({
      ...settings,
      PSP: 'adyen',
      ADYEN_API_KEY: adyen.apiKey,
      ADYEN_MERCHANT_ACCOUNT: adyen.merchantAccount,
      ADYEN_HMAC_KEY: adyen.hmacKey,
      ADYEN_API_BASE: adyen.apiBase,
    });
    adyen.webhookUrl = `${system.httpUrl}/psp/adyen/webhooks`;
    await calls.follow(system);
  });

  afterAll(async () => {
    calls.close();
    killAllSipp();
    await system?.stop();
    await adyen.close();
    rmSync(work, { recursive: true, force: true });
  });

  it("the caller presses 9 then 1: one link at Adyen, one text to their number, Adyen's signed AUTHORISATION approves it; no card charged by the keypad", async () => {
    const { sessionId, providerLinkId } = await calls.linkTexted('7101', /https:\/\/test\.adyen\.link\/(PL[0-9A-F]+)/);
    expect([...adyen.paymentLinks.keys()]).toEqual([providerLinkId]);
    expect(adyen.paymentLinks.get(providerLinkId)).toMatchObject({ status: 'active', amount: { value: 4250, currency: 'GBP' }, merchantAccount: adyen.merchantAccount });

    adyen.payLink(providerLinkId);
    await adyen.settled();
    expect(adyen.webhooks.map((w) => w.status)).toEqual([202]);
    expect(await calls.statusOf(sessionId, 'approved')).toBe('approved');
    const session = await system.api<{ status: string; pspReference: string }>(`/api/v1/sessions/${sessionId}`);
    expect(session.pspReference).toBe([...adyen.payments.keys()][0]);
    expect(calls.streamed(sessionId)).toEqual(['link-sent', 'approved']);
    const { links } = await system.api<{ links: { state: string; provider: string }[] }>(`/api/v1/sessions/${sessionId}/payment-links`);
    expect(links).toEqual([expect.objectContaining({ state: 'paid', provider: 'adyen' })]);
    // The call ended link-sent: no card was asked for, none reached Adyen; the one payment is the link's.
    expect(adyen.server.received('POST', '/v71/payments')).toEqual([]);
    expect(adyen.payments.size).toBe(1);
  });

  it('leaves no card data and no full caller number in the logs', () => {
    expect(findCardDataInText(system.output.join('\n'), ALL_TEST_CARDS)).toEqual([]);
    expect(system.output.join('\n')).not.toContain(LINK_CALLER.slice(1));
  });
});
