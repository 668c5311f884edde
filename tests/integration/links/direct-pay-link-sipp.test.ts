import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../../app/project-root.js';
import type { ProgressEvent } from '../../../ivr/flow/flow-types.js';
import { freePort, keyStepsInjectionFrom, killAllSipp, runSipp, SippPortSequence, type SippRun } from '../../../tools/sipp/sipp-process.js';
import { startSystem, type RunningSystem } from '../../../tools/system-process.js';
import { findCardDataInText } from '../../support/card-scan.js';
import { FakeStripe } from '../../support/fake-stripe.js';
import { testDataDir } from '../../support/test-data-dir.js';
import { ALL_TEST_CARDS } from '../../../tools/test-cards.js';

// A UK mobile as libphonenumber reads it (its metadata calls Ofcom's 07700 900xxx drama range invalid), not Luhn-valid.
const CALLER = '+447400123456';

interface Frame {
  readonly sessionId: string;
  readonly seq: number;
  readonly event: ProgressEvent;
}

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
  const frames: Frame[] = [];
  let system: RunningSystem;
  let socket: WebSocket;

  beforeAll(async () => {
    writeFileSync(join(work, 'orders.json'), JSON.stringify([
      { reference: '7001', amountMinor: 4250, currency: 'GBP', description: 'Test order 7001' },
      { reference: '7002', amountMinor: 1999, currency: 'GBP', description: 'Test order 7002' },
    ]));
    const httpPort = await freePort(31500);
    const rtpBase = 52000 + Number(process.env.VITEST_POOL_ID ?? '1') * 200;
    system = await startSystem({
      PSP: 'stripe',
      STRIPE_SECRET_KEY: stripe.secretKey,
      STRIPE_API_BASE: await stripe.start(),
      STRIPE_WEBHOOK_SECRET: stripe.checkout.webhookSecret,
      SMS_PROVIDER: 'sandbox',
      SMS_DEFAULT_COUNTRY: 'GB',
      PAYMENT_LINK_OFFER: 'on',
      LANGUAGE: 'en-GB',
      DATA_DIR: testDataDir('direct-pay-link'),
      HTTP_PORT: String(httpPort),
      SIP_PORT: String(await freePort(33500)),
      RTP_PORT_MIN: String(rtpBase),
      RTP_PORT_MAX: String(rtpBase + 198),
      ORDERS_FILE: join(work, 'orders.json'),
      RECORDING: 'off',
    });
    stripe.checkout.webhookUrl = `${system.httpUrl}/psp/stripe/webhooks`;
    socket = new WebSocket(`${system.httpUrl.replace('http', 'ws')}/api/v1/stream`, { headers: { authorization: `Bearer ${system.adminKey}` } });
    socket.on('message', (data) => {
      const message = JSON.parse(String(data)) as Frame | { type: string };
      if ('seq' in message) frames.push(message);
    });
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  });

  afterAll(async () => {
    socket?.close();
    killAllSipp();
    await system?.stop();
    await stripe.close();
    rmSync(work, { recursive: true, force: true });
  });

  const callerPorts = new SippPortSequence(36500);

  /** The caller keys the reference, 9 once the amount and the offer play, then 1 once their number's ending is read. */
  async function callAndChooseLink(reference: string): Promise<SippRun> {
    const port = await callerPorts.next();
    const keys = keyStepsInjectionFrom(join(work, `${reference}.csv`), CALLER, [`${reference}#`, 3000], ['9', 2500], ['1', 500]);
    return runSipp({
      args: [`127.0.0.1:${system.sipPort}`, '-sf', join(projectRoot(), 'tests/sipp/direct-pay-keys.xml'), '-s', 'pay', '-i', '127.0.0.1', '-p', String(port), '-mp', String(port + 2), '-m', '1', ...keys],
      timeoutMs: 60_000,
    });
  }

  /** The one session of `reference`, its one text message, and the Checkout Session the message links to. */
  async function linkTexted(reference: string): Promise<{ sessionId: string; checkoutId: string }> {
    const run = await callAndChooseLink(reference);
    expect(run.exitCode, `${run.errors}\n${run.stdout.slice(-1500)}`).toBe(0);
    const { payments } = await system.api<{ payments: { id: string; status: string }[] }>(`/api/v1/payments?reference=${reference}`);
    expect(payments).toHaveLength(1);
    const sessionId = payments[0]!.id;
    expect(payments[0]!.status).toBe('link-sent');
    const { messages } = await system.api<{ messages: { recipient: string; body: string }[] }>(`/api/v1/sms/outbox?sessionId=${sessionId}`);
    expect(messages).toHaveLength(1);
    expect(messages[0]!.recipient).toBe(CALLER);
    const url = /https:\/\/checkout\.stripe\.com\/c\/pay\/(cs_\S+)/.exec(messages[0]!.body);
    expect(url, messages[0]!.body).not.toBeNull();
    return { sessionId, checkoutId: url![1]! };
  }

  async function statusOf(sessionId: string, wanted: string): Promise<string> {
    for (const deadline = Date.now() + 10_000; ; ) {
      const { status } = await system.api<{ status: string }>(`/api/v1/sessions/${sessionId}`);
      if (status === wanted || Date.now() > deadline) return status;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  const streamed = (sessionId: string): string[] =>
    frames.filter((f) => f.sessionId === sessionId && (f.event.type.startsWith('link-') || f.event.type === 'approved')).map((f) => f.event.type);

  it('the caller presses 9 then 1: one text to their number, Stripe\'s signed webhook pays it, approved; the stream shows link-sent then approved', async () => {
    const { sessionId, checkoutId } = await linkTexted('7001');
    expect(stripe.checkout.sessions.get(checkoutId)).toMatchObject({ status: 'open', amount_total: 4250, currency: 'gbp' });
    stripe.checkout.pay(checkoutId);
    await stripe.checkout.settled();
    expect(await statusOf(sessionId, 'approved')).toBe('approved');
    expect(streamed(sessionId)).toEqual(['link-sent', 'approved']);
    // The call ended link-sent: no card was asked for, none reached the PSP.
    expect(stripe.paymentIntents.size).toBe(0);
  });

  it('the same, the link running out unpaid: expired; the stream shows link-sent then link-expired', async () => {
    const { sessionId, checkoutId } = await linkTexted('7002');
    stripe.checkout.runOut(checkoutId);
    await stripe.checkout.settled();
    expect(await statusOf(sessionId, 'expired')).toBe('expired');
    expect(streamed(sessionId)).toEqual(['link-sent', 'link-expired']);
  });

  it('leaves no card data and no full caller number in the logs', () => {
    expect(findCardDataInText(system.output.join('\n'), ALL_TEST_CARDS)).toEqual([]);
    expect(system.output.join('\n')).not.toContain(CALLER.slice(1));
  });
});
