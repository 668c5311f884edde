import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../../agent-bridge/identity/password-hash.js';
import { buildApplication, type Application } from '../../../app/application.js';
import { loadConfig } from '../../../app/config.js';
import { createLogger } from '../../../app/logger.js';
import type { DtmfKey } from '../../../domain/dtmf-key.js';
import type { ProgressEvent } from '../../../ivr/flow/flow-types.js';
import { PaymentCall } from '../../../ivr/call/payment-call.js';
import { TEST_CARDS } from '../../../tools/test-cards.js';
import { FakeStripe } from '../../support/fake-stripe.js';
import { FakeTwilio } from '../../support/fake-twilio.js';
import { ScriptedCaller, until } from '../../support/scripted-caller.js';
import { testDataDir } from '../../support/test-data-dir.js';

// Made-up numbers valid for libphonenumber and not Luhn-valid (no scan takes them for a card).
const MOBILE = '+447400123456';

/** The application with one agent logged in, and the progress events of every session. */
async function start(env: Record<string, string>, name: string) {
  const dataDir = testDataDir(name);
  const config = loadConfig({ DATA_DIR: dataDir, HTTP_PORT: '0', LOG_LEVEL: 'silent', SIP_PORT: '0', SANDBOX_LATENCY_MS: '0', RECORDING: 'off', ...env });
  const app = await buildApplication({ config, logger: createLogger({ level: 'silent' }), dataDir });
  const password = 'correct horse battery staple';
  await app.identities.createUser({ username: 'ann', displayName: 'Ann', role: 'agent', sipUri: 'sip:ann@127.0.0.1:5070', passwordHash: await hashPassword(password) });
  const login = await fetch(`${app.httpUrl}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'ann', password }) });
  const { token } = (await login.json()) as { token: string };
  const events = new Map<string, ProgressEvent[]>();
  app.progress.subscribe((frame) => {
    const list = events.get(frame.sessionId) ?? [];
    list.push(frame.event);
    events.set(frame.sessionId, list);
  });
  const api = (path: string, init: { method?: string; body?: unknown } = {}) =>
    fetch(`${app.httpUrl}${path}`, {
      method: init.method ?? 'GET',
      headers: { authorization: `Bearer ${token}`, ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
    });
  const newSession = async (mode: 'link' | 'agent-assisted' = 'link') => {
    const res = await api('/api/v1/sessions', { method: 'POST', body: { amount: 4250, currency: 'EUR', reference: 'INV-LINK', language: 'en-GB', mode } });
    expect(res.status).toBe(201);
    return ((await res.json()) as { id: string }).id;
  };
  const actions = async (id: string) => (await app.audit.list({ sessionId: id })).map((e) => e.action);
  return { app, api, events, newSession, actions };
}

describe('payment links with the sandbox PSP page, texted by the strict fake Twilio', () => {
  const twilio = new FakeTwilio();
  let t: Awaited<ReturnType<typeof start>>;

  beforeAll(async () => {
    const base = await twilio.start();
    t = await start({ SMS_PROVIDER: 'twilio', TWILIO_ACCOUNT_SID: twilio.accountSid, TWILIO_AUTH_TOKEN: twilio.authToken, TWILIO_FROM: twilio.from, TWILIO_API_BASE: base, SMS_TIMEOUT_MS: '500', SMS_DEFAULT_COUNTRY: 'GB' }, 'links-sandbox');
  });
  afterAll(async () => {
    await t?.app.stop();
    await twilio.close();
  });

  it('texts the link, the test page pays it, the session is approved with link-sent then approved on the stream', async () => {
    const id = await t.newSession();
    const res = await t.api(`/api/v1/sessions/${id}/payment-link`, { method: 'POST', body: { phone: '07400 123456' } });
    expect(res.status).toBe(201);
    const link = (await res.json()) as { url: string; status: string; phoneEnding: string };
    expect(link).toMatchObject({ status: 'link-sent', phoneEnding: '456', url: expect.stringContaining('/sandbox/pay/sbxlnk_') });
    expect(twilio.messages.filter((m) => m.to === MOBILE)).toHaveLength(1);
    expect(twilio.messages.at(-1)?.body).toBe(`Your secure payment link: ${link.url}`);

    const page = await fetch(link.url);
    expect(await page.text()).toContain('TEST PAGE');
    const paid = await fetch(link.url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'card=4242' });
    expect(paid.status).toBe(200);
    expect(await t.app.store.getSession(id)).toMatchObject({ status: 'approved', confirmation: expect.any(String) });
    expect(t.events.get(id)?.map((e) => e.type)).toEqual(['link-sent', 'approved', 'ended']);
    expect(await t.actions(id)).toEqual(expect.arrayContaining(['payment-link-sent', 'payment-link-paid']));
    // The page is gone once paid.
    expect((await fetch(link.url)).status).toBe(410);
  });

  it('a bad number gets 400, is audited, and sends and charges nothing', async () => {
    const id = await t.newSession();
    const before = twilio.messages.length;
    const res = await t.api(`/api/v1/sessions/${id}/payment-link`, { method: 'POST', body: { phone: '12345' } });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: 'invalid-phone', field: 'phone' });
    expect(twilio.messages.length).toBe(before);
    expect(await t.app.links.listLinks({ sessionId: id })).toEqual([]);
    expect((await t.app.store.getSession(id))?.status).toBe('pending');
    expect((await t.app.audit.list({ sessionId: id })).find((e) => e.action === 'payment-link-failed')?.detail).toEqual({ code: 'invalid-phone' });
  });

  it('the SMS provider down (5xx) or silent (timeout): 502, audited, the link closed so nothing can be charged', async () => {
    for (const fault of ['5xx', 'timeout'] as const) {
      const id = await t.newSession();
      if (fault === '5xx') twilio.server.failNext('POST', '/2010-04-01', 503);
      else twilio.holdNext();
      const res = await t.api(`/api/v1/sessions/${id}/payment-link`, { method: 'POST', body: { phone: MOBILE } });
      expect(res.status).toBe(502);
      expect(await res.json()).toMatchObject({ error: 'sms-failed', code: fault === '5xx' ? 'http-503' : 'timeout' });
      expect((await t.app.links.listLinks({ sessionId: id })).map((l) => l.state)).toEqual(['cancelled']);
      expect((await t.app.store.getSession(id))?.status).toBe('pending');
      expect((await t.app.audit.list({ sessionId: id })).find((e) => e.action === 'payment-link-failed')?.detail).toEqual({ code: fault === '5xx' ? 'sms:http-503' : 'sms:timeout' });
      // The closed link's page takes no payment.
      const url = (await t.app.links.listLinks({ sessionId: id }))[0]!.url;
      expect((await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'card=4242' })).status).toBe(410);
    }
  });
});

describe('payment links on Stripe Checkout (strict fake Stripe, signed webhooks), texted by the sandbox outbox', () => {
  const stripe = new FakeStripe();
  let t: Awaited<ReturnType<typeof start>>;

  beforeAll(async () => {
    const base = await stripe.start();
    t = await start({ PSP: 'stripe', STRIPE_SECRET_KEY: stripe.secretKey, STRIPE_API_BASE: base, STRIPE_WEBHOOK_SECRET: stripe.checkout.webhookSecret }, 'links-stripe');
    stripe.checkout.webhookUrl = `${t.app.httpUrl}/psp/stripe/webhooks`;
  });
  afterAll(async () => {
    await t?.app.stop();
    await stripe.close();
  });

  async function sendLink(id: string): Promise<string> {
    const res = await t.api(`/api/v1/sessions/${id}/payment-link`, { method: 'POST', body: { phone: MOBILE } });
    expect(res.status).toBe(201);
    const outbox = (await (await t.api(`/api/v1/sms/outbox?sessionId=${id}`)).json()) as { messages: { recipient: string; body: string }[] };
    expect(outbox.messages).toHaveLength(1);
    expect(outbox.messages[0]!.recipient).toBe(MOBILE);
    return (await t.app.links.listLinks({ sessionId: id })).at(-1)!.providerLinkId;
  }

  it('the checkout.session.completed webhook approves the session', async () => {
    const id = await t.newSession();
    const cs = await sendLink(id);
    stripe.checkout.pay(cs);
    await stripe.checkout.settled();
    expect(await t.app.store.getSession(id)).toMatchObject({ status: 'approved', pspReference: expect.stringMatching(/^pi_/) });
    expect(t.events.get(id)?.map((e) => e.type)).toEqual(['link-sent', 'approved', 'ended']);
  });

  it('checkout.session.expired expires the session', async () => {
    const id = await t.newSession();
    stripe.checkout.runOut(await sendLink(id));
    await stripe.checkout.settled();
    expect((await t.app.store.getSession(id))?.status).toBe('expired');
    expect(t.events.get(id)?.map((e) => e.type)).toEqual(['link-sent', 'link-expired']);
  });

  it('a forged webhook is refused (400), audited, and approves nothing', async () => {
    const id = await t.newSession();
    const status = await stripe.checkout.sendForged('checkout.session.completed', await sendLink(id));
    expect(status).toBe(400);
    expect((await t.app.store.getSession(id))?.status).toBe('link-sent');
    expect((await t.app.audit.list({})).filter((e) => e.action === 'psp-webhook-refused').at(-1)?.detail).toEqual({ reason: 'bad-signature' });
  });

  it('the console sends a link, the caller pays by keypad instead: the link is expired at Stripe first, one charge only', async () => {
    const id = await newAgentSession();
    const cs = await sendLink(id);
    const media = new ScriptedCaller();
    const { app } = t;
    const payment = new PaymentCall(
      { store: app.store, audit: app.audit, vault: app.vault, authoriser: app.authoriser, orders: app.orders, logger: createLogger({ level: 'silent' }), links: app.paymentLinks! },
      { callId: 'call-keypad', media, flow: { mode: 'agent-assisted', interDigitTimeoutMs: 2000 }, session: (await app.store.getSession(id))! },
    );
    payment.start();
    const key = (keys: string) => [...keys].forEach((k) => payment.digit(k as DtmfKey));
    for (const [field, keys] of [['card-number', TEST_CARDS.visa], ['expiry', '1230'], ['security-code', '123']] as const) {
      await until(() => payment.flow.field === field, 5000, field);
      key(keys);
    }
    expect(await payment.done).toBe('approved');
    expect(stripe.checkout.sessions.get(cs)?.status).toBe('expired');
    expect((await t.app.links.listLinks({ sessionId: id })).map((l) => l.state)).toEqual(['expired']);
    expect(stripe.paymentIntents.size).toBe(1);
    expect((await t.app.store.getSession(id))?.status).toBe('approved');
    expect(t.events.get(id)?.map((e) => e.type)).toEqual(['link-sent', 'link-expired']);
    // The page can no longer be paid.
    expect(() => stripe.checkout.pay(cs)).toThrow(/not open/);
  });

  async function newAgentSession(): Promise<string> {
    return t.newSession('agent-assisted');
  }
});
