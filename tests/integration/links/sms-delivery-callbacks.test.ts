import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../../agent-bridge/identity/password-hash.js';
import { buildApplication, type Application } from '../../../app/application.js';
import { loadConfig } from '../../../app/config.js';
import { createLogger } from '../../../app/logger.js';
import type { ProgressEvent } from '../../../ivr/flow/flow-types.js';
import { freePort } from '../../../tools/sipp/sipp-process.js';
import { FakeTwilio } from '../../support/fake-twilio.js';
import { FakeVonage } from '../../support/fake-vonage.js';
import { parsePrometheusText, sampleValue } from '../../support/prometheus-text.js';
import { testDataDir } from '../../support/test-data-dir.js';

// A made-up UK mobile, valid for libphonenumber and not Luhn-valid (no scan takes it for a card).
const MOBILE = '+447400123456';

interface LinkJson {
  readonly state: string;
  readonly phoneEnding: string;
  readonly sms: { provider: string; delivery: string; errorCode: string | null; at: string | null } | null;
}

/**
 * The whole system in-process on a known port (the providers are told the
 * callback URL before it starts), with an agent signed in, the progress
 * events of every session, and a link texted to MOBILE on a new session.
 */
async function start(name: string, env: (httpUrl: string) => Record<string, string>) {
  const port = await freePort(34000);
  const dataDir = testDataDir(name);
  const config = loadConfig({ DATA_DIR: dataDir, HTTP_PORT: String(port), LOG_LEVEL: 'silent', SIP_PORT: '0', SANDBOX_LATENCY_MS: '0', RECORDING: 'off', SMS_DEFAULT_COUNTRY: 'GB', ...env(`http://127.0.0.1:${port}`) });
  const app = await buildApplication({ config, logger: createLogger({ level: 'silent' }), dataDir });
  const password = 'correct horse battery staple';
  app.identities.createUser({ username: 'ann', displayName: 'Ann', role: 'agent', passwordHash: await hashPassword(password) });
  const login = await fetch(`${app.httpUrl}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'ann', password }) });
  const { token } = (await login.json()) as { token: string };
  const events = new Map<string, ProgressEvent[]>();
  app.progress.subscribe((frame) => events.set(frame.sessionId, [...(events.get(frame.sessionId) ?? []), frame.event]));
  const api = async <T>(path: string, body?: unknown): Promise<T> => {
    const res = await fetch(`${app.httpUrl}${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    expect(res.ok, `${path}: ${res.status}`).toBe(true);
    return (await res.json()) as T;
  };
  const textLink = async (): Promise<string> => {
    const { id } = await api<{ id: string }>('/api/v1/sessions', { amount: 4250, currency: 'GBP', reference: 'INV-SMS', language: 'en-GB', mode: 'link' });
    await api(`/api/v1/sessions/${id}/payment-link`, { phone: MOBILE });
    return id;
  };
  const link = async (sessionId: string): Promise<LinkJson> => (await api<{ links: LinkJson[] }>(`/api/v1/sessions/${sessionId}/payment-links`)).links.at(-1)!;
  const metric = async (name: string, labels: Record<string, string>): Promise<number | undefined> =>
    sampleValue(parsePrometheusText((await app.metrics.render()).body), `payment_ivr_${name}`, labels);
  const smsEvents = (sessionId: string) => (events.get(sessionId) ?? []).filter((e) => e.type === 'sms-delivery');
  return { app, textLink, link, metric, smsEvents };
}

async function refusals(app: Application): Promise<unknown[]> {
  return (await app.audit.list({})).filter((e) => e.action === 'sms-callback-refused').map((e) => [e.actor.id, e.detail]);
}

describe('Twilio status callbacks, posted signed by the strict fake Twilio', () => {
  const twilio = new FakeTwilio();
  let t: Awaited<ReturnType<typeof start>>;

  beforeAll(async () => {
    const base = await twilio.start();
    t = await start('sms-delivery-twilio', (url) => ({
      SMS_PROVIDER: 'twilio',
      TWILIO_ACCOUNT_SID: twilio.accountSid,
      TWILIO_AUTH_TOKEN: twilio.authToken,
      TWILIO_FROM: twilio.from,
      TWILIO_API_BASE: base,
      TWILIO_STATUS_CALLBACK_URL: `${url}/sms/twilio/status`,
    }));
  });
  afterAll(async () => {
    await t?.app.stop();
    await twilio.close();
  });

  it('sent then delivered: kept on the outbox row, shown on the link and to the agent, counted', async () => {
    const id = await t.textLink();
    const sid = twilio.messages.at(-1)!.sid;
    expect(await t.app.links.findSms('twilio', sid)).toMatchObject({ sessionId: id, recipient: MOBILE, delivery: 'submitted' });
    expect(await twilio.report(sid, 'queued')).toBe(204);
    expect(await twilio.report(sid, 'sent')).toBe(204);
    expect(await twilio.report(sid, 'delivered')).toBe(204);
    expect(await t.app.links.findSms('twilio', sid)).toMatchObject({ delivery: 'delivered', deliveryError: null });
    expect(await t.link(id)).toMatchObject({ state: 'active', phoneEnding: '456', sms: { provider: 'twilio', delivery: 'delivered', errorCode: null } });
    expect(t.smsEvents(id)).toEqual([{ type: 'sms-delivery', state: 'delivered', phoneEnding: '456', link: true }]);
    expect(await t.metric('sms_delivery_reports_total', { provider: 'twilio', state: 'delivered' })).toBe(1);
    // A late `sent` (Twilio does not promise the order) changes nothing.
    expect(await twilio.report(sid, 'sent')).toBe(204);
    expect((await t.app.links.findSms('twilio', sid))?.delivery).toBe('delivered');
  });

  it("undelivered (30003, the handset unreachable): kept with Twilio's code, the agent told, the payment still open", async () => {
    const id = await t.textLink();
    const sid = twilio.messages.at(-1)!.sid;
    expect(await twilio.report(sid, 'undelivered', { errorCode: '30003' })).toBe(204);
    expect((await t.link(id)).sms).toMatchObject({ delivery: 'undelivered', errorCode: '30003' });
    expect(t.smsEvents(id)).toEqual([{ type: 'sms-delivery', state: 'undelivered', errorCode: '30003', phoneEnding: '456', link: true }]);
    expect((await t.app.store.getSession(id))?.status).toBe('link-sent');
    expect((await t.app.audit.list({ sessionId: id })).find((e) => e.action === 'sms-delivery')?.detail).toMatchObject({ state: 'undelivered', errorCode: '30003', phoneEnding: '456' });
  });

  it('a callback signed with another auth token is refused (403), audited and counted, and changes nothing', async () => {
    const id = await t.textLink();
    const sid = twilio.messages.at(-1)!.sid;
    expect(await twilio.report(sid, 'delivered', { authToken: 'not-the-accounts-auth-token-000' })).toBe(403);
    expect((await t.app.links.findSms('twilio', sid))?.delivery).toBe('submitted');
    expect(t.smsEvents(id)).toEqual([]);
    expect(await refusals(t.app)).toEqual([['sms-twilio', { reason: 'bad-signature' }]]);
    expect(await t.metric('sms_callbacks_refused_total', { provider: 'twilio', reason: 'bad-signature' })).toBe(1);
  });

  it('keeps the full number out of the audit trail', () => {
    expect(JSON.stringify(t.app.audit.list({}))).not.toContain(MOBILE.slice(1, -3));
  });
});

describe('Vonage delivery receipts, sent signed by the strict fake Vonage', () => {
  const vonage = new FakeVonage();
  let t: Awaited<ReturnType<typeof start>>;

  beforeAll(async () => {
    const base = await vonage.start();
    t = await start('sms-delivery-vonage', (url) => ({
      SMS_PROVIDER: 'vonage',
      VONAGE_API_KEY: vonage.apiKey,
      VONAGE_API_SECRET: vonage.apiSecret,
      VONAGE_FROM: vonage.from,
      VONAGE_API_BASE: base,
      VONAGE_STATUS_CALLBACK_URL: `${url}/sms/vonage/delivery-receipts`,
      VONAGE_SIGNATURE_SECRET: vonage.signatureSecret,
      VONAGE_SIGNATURE_METHOD: vonage.signatureMethod,
    }));
  });
  afterAll(async () => {
    await t?.app.stop();
    await vonage.close();
  });

  it.each(['POST', 'GET', 'POST-JSON'] as const)('%s: accepted then delivered, kept and shown to the agent', async (method) => {
    vonage.receiptMethod = method;
    const id = await t.textLink();
    const messageId = vonage.messages.at(-1)!.messageId;
    expect(vonage.messages.at(-1)?.callback).toMatch(/\/sms\/vonage\/delivery-receipts$/);
    expect(await vonage.report(messageId, 'accepted')).toBe(204);
    expect((await t.app.links.findSms('vonage', messageId))?.delivery).toBe('sent');
    expect(await vonage.report(messageId, 'delivered')).toBe(204);
    expect((await t.link(id)).sms).toMatchObject({ provider: 'vonage', delivery: 'delivered', errorCode: null });
    expect(t.smsEvents(id)).toEqual([{ type: 'sms-delivery', state: 'delivered', phoneEnding: '456', link: true }]);
  });

  it("expired (the carrier gave up): undelivered with Vonage's err-code", async () => {
    vonage.receiptMethod = 'POST';
    const id = await t.textLink();
    const messageId = vonage.messages.at(-1)!.messageId;
    expect(await vonage.report(messageId, 'expired', { errCode: '5' })).toBe(204);
    expect((await t.link(id)).sms).toMatchObject({ delivery: 'undelivered', errorCode: '5' });
    expect(t.smsEvents(id)).toEqual([{ type: 'sms-delivery', state: 'undelivered', errorCode: '5', phoneEnding: '456', link: true }]);
    expect(await t.metric('sms_delivery_reports_total', { provider: 'vonage', state: 'undelivered' })).toBe(1);
  });

  it('a receipt signed with another secret, or replayed an hour later, is refused (403), audited and changes nothing', async () => {
    vonage.receiptMethod = 'POST';
    const id = await t.textLink();
    const messageId = vonage.messages.at(-1)!.messageId;
    expect(await vonage.report(messageId, 'delivered', { secret: 'not-the-signature-secret-00000' })).toBe(403);
    expect(await vonage.report(messageId, 'delivered', { signedAt: Date.now() - 3_600_000 })).toBe(403);
    expect((await t.app.links.findSms('vonage', messageId))?.delivery).toBe('submitted');
    expect(t.smsEvents(id)).toEqual([]);
    expect(await refusals(t.app)).toEqual([
      ['sms-vonage', { reason: 'bad-signature' }],
      ['sms-vonage', { reason: 'stale' }],
    ]);
    expect(await t.metric('sms_callbacks_refused_total', { provider: 'vonage', reason: 'stale' })).toBe(1);
  });
});
