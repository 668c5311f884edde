import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../../app/logger.js';
import type { ProgressEvent } from '../../../ivr/flow/flow-types.js';
import { NO_LINK_METRICS, type LinkMetrics } from '../../../ivr/links/link-metrics.js';
import { SmsDeliveryReports } from '../../../ivr/links/sms-delivery-reports.js';
import { SqliteAuditLog } from '../../../store/sqlite-audit-log.js';
import { SqlitePaymentLinkStore } from '../../../store/sqlite-payment-link-store.js';
import { SqlitePaymentStore } from '../../../store/sqlite-payment-store.js';

// A made-up UK mobile (valid for libphonenumber, not Luhn-valid).
const PHONE = '+447400123456';

let store: SqlitePaymentStore;
let links: SqlitePaymentLinkStore;
let audit: SqliteAuditLog;
let events: { sessionId: string; event: ProgressEvent }[];
let counted: string[];
let reports: SmsDeliveryReports;
let sessionId: string;

beforeEach(async () => {
  store = new SqlitePaymentStore({ file: ':memory:' });
  links = new SqlitePaymentLinkStore(store.database);
  audit = new SqliteAuditLog(store.database, { key: randomBytes(32) });
  events = [];
  counted = [];
  const metrics: LinkMetrics = {
    ...NO_LINK_METRICS,
    smsDelivery: (provider, state) => counted.push(`${provider}:${state}`),
    smsCallbackRefused: (provider, reason) => counted.push(`${provider}:refused:${reason}`),
  };
  reports = new SmsDeliveryReports({ links, audit, logger: createLogger({ level: 'silent' }), metrics, onProgress: (id, event) => events.push({ sessionId: id, event }) });
  sessionId = (await store.createSession({ mode: 'link', reference: 'INV-1', amountMinor: 4250, currency: 'EUR' })).id;
  await links.saveLink({ id: 'lnk_1', sessionId, provider: 'stripe', providerLinkId: 'cs_1', url: 'https://checkout.example/c/pay', phone: PHONE, expiresAt: '2030-01-02T04:04:05.000Z' });
  await links.appendSms({ sessionId, linkId: 'lnk_1', provider: 'twilio', providerMessageId: 'SM1', recipient: PHONE, body: 'Your secure payment link: https://checkout.example/c/pay' });
});
afterEach(() => store.close());

describe('SMS delivery reports', () => {
  it('keeps sent then undelivered with the error code; tells the agent of the final one only, by the last three digits', async () => {
    expect(await reports.record({ provider: 'twilio', messageId: 'SM1', state: 'sent' })).toBe('recorded');
    expect(events).toEqual([]);
    expect(await reports.record({ provider: 'twilio', messageId: 'SM1', state: 'undelivered', errorCode: '30003' })).toBe('recorded');
    expect((await links.findSms('twilio', 'SM1'))).toMatchObject({ delivery: 'undelivered', deliveryError: '30003' });
    expect(events).toEqual([{ sessionId, event: { type: 'sms-delivery', state: 'undelivered', errorCode: '30003', phoneEnding: '456', link: true } }]);
    const trail = (await audit.list({ sessionId })).filter((e) => e.action === 'sms-delivery');
    expect(trail.map((e) => e.detail)).toEqual([
      { messageId: expect.stringMatching(/^sms_/), linkId: 'lnk_1', state: 'sent', phoneEnding: '456' },
      { messageId: expect.stringMatching(/^sms_/), linkId: 'lnk_1', state: 'undelivered', errorCode: '30003', phoneEnding: '456' },
    ]);
    expect(trail[0]!.actor).toEqual({ kind: 'system', id: 'sms-twilio' });
    expect(JSON.stringify(await audit.list({}))).not.toContain(PHONE.slice(1, -3));
    expect(counted).toEqual(['twilio:sent', 'twilio:undelivered']);
  });

  it('takes the same report again, a late one going back, and a status that changes nothing as unchanged', async () => {
    await reports.record({ provider: 'twilio', messageId: 'SM1', state: 'delivered' });
    expect(await reports.record({ provider: 'twilio', messageId: 'SM1', state: 'delivered' })).toBe('unchanged');
    expect(await reports.record({ provider: 'twilio', messageId: 'SM1', state: 'sent' })).toBe('unchanged');
    expect(await reports.record({ provider: 'twilio', messageId: 'SM1', state: undefined })).toBe('unchanged');
    expect((await links.findSms('twilio', 'SM1'))?.delivery).toBe('delivered');
    expect(events.map((e) => e.event.type)).toEqual(['sms-delivery']);
    expect(counted).toEqual(['twilio:delivered']);
  });

  it("keeps no error code with a delivered message, and knows no other provider's or unknown message", async () => {
    expect(await reports.record({ provider: 'vonage', messageId: 'SM1', state: 'delivered' })).toBe('unknown-message');
    expect(await reports.record({ provider: 'twilio', messageId: 'SM2', state: 'delivered' })).toBe('unknown-message');
    await reports.record({ provider: 'twilio', messageId: 'SM1', state: 'delivered', errorCode: '0' });
    expect((await links.findSms('twilio', 'SM1'))?.deliveryError).toBeNull();
  });

  it('audits and counts a refused callback by its reason only', async () => {
    await reports.refused('vonage', 'bad-signature');
    expect((await audit.list({})).filter((e) => e.action === 'sms-callback-refused').map((e) => [e.sessionId, e.actor.id, e.detail])).toEqual([[null, 'sms-vonage', { reason: 'bad-signature' }]]);
    expect(counted).toEqual(['vonage:refused:bad-signature']);
  });
});
