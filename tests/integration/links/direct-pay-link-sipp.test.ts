import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killAllSipp } from '../../../tools/sipp/sipp-process.js';
import { startSystem, type RunningSystem } from '../../../tools/system-process.js';
import { findCardDataInText } from '../../support/card-scan.js';
import { DirectPayLinkCalls, LINK_CALLER as CALLER } from '../../support/direct-pay-link-caller.js';
import { FakeStripe } from '../../support/fake-stripe.js';
import { ALL_TEST_CARDS } from '../../../tools/test-cards.js';

/**
 * Issue 18's direct pay path: a real SIPp caller from a UK mobile on the pay
 * number presses 9 after the amount, then 1 to confirm the number's ending;
 * the link (a Checkout Session on the strict fake Stripe) goes out through the
 * sandbox SMS outbox, and Stripe's signed webhook settles it: paid, or run out.
 * The agent's WebSocket stream shows link-sent, then the outcome.
 */
describe('direct pay: press 9 for a payment link by text message (SIPp caller, fake Stripe Checkout, sandbox outbox)', { timeout: 90_000 }, () => {
  const work = mkdtempSync(join(tmpdir(), 'direct-pay-link-'));
  const stripe = new FakeStripe();
  const calls = new DirectPayLinkCalls(work);
  let system: RunningSystem;

  beforeAll(async () => {
    const settings = await calls.settings('direct-pay-link', [
      { reference: '7001', amountMinor: 4250, currency: 'GBP', description: 'Test order 7001' },
      { reference: '7002', amountMinor: 1999, currency: 'GBP', description: 'Test order 7002' },
    ]);
    system = await startSystem({
      ...settings,
      PSP: 'stripe',
      STRIPE_SECRET_KEY: stripe.secretKey,
      STRIPE_API_BASE: await stripe.start(),
      STRIPE_WEBHOOK_SECRET: stripe.checkout.webhookSecret,
    });
    stripe.checkout.webhookUrl = `${system.httpUrl}/psp/stripe/webhooks`;
    await calls.follow(system);
  });

  afterAll(async () => {
    calls.close();
    killAllSipp();
    await system?.stop();
    await stripe.close();
    rmSync(work, { recursive: true, force: true });
  });

  /** The one session of `reference`, its one text message, and the Checkout Session the message links to. */
  async function linkTexted(reference: string): Promise<{ sessionId: string; checkoutId: string }> {
    const { sessionId, providerLinkId } = await calls.linkTexted(reference, /https:\/\/checkout\.stripe\.com\/c\/pay\/(cs_\S+)/);
    return { sessionId, checkoutId: providerLinkId };
  }

  it('the caller presses 9 then 1: one text to their number, Stripe\'s signed webhook pays it, approved; the stream shows link-sent then approved', async () => {
    const { sessionId, checkoutId } = await linkTexted('7001');
    expect(stripe.checkout.sessions.get(checkoutId)).toMatchObject({ status: 'open', amount_total: 4250, currency: 'gbp' });
    stripe.checkout.pay(checkoutId);
    await stripe.checkout.settled();
    expect(await calls.statusOf(sessionId, 'approved')).toBe('approved');
    expect(calls.streamed(sessionId)).toEqual(['link-sent', 'approved']);
    // The call ended link-sent: no card was asked for, none reached the PSP.
    expect(stripe.paymentIntents.size).toBe(0);
  });

  it('the same, the link running out unpaid: expired; the stream shows link-sent then link-expired', async () => {
    const { sessionId, checkoutId } = await linkTexted('7002');
    stripe.checkout.runOut(checkoutId);
    await stripe.checkout.settled();
    expect(await calls.statusOf(sessionId, 'expired')).toBe('expired');
    expect(calls.streamed(sessionId)).toEqual(['link-sent', 'link-expired']);
  });

  it('leaves no card data and no full caller number in the logs', () => {
    expect(findCardDataInText(system.output.join('\n'), ALL_TEST_CARDS)).toEqual([]);
    expect(system.output.join('\n')).not.toContain(CALLER.slice(1));
  });
});
