import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import type { PaymentLinkState, SmsDeliveryState } from '../../../domain/payment-lifecycle.js';
import { migrate, MIGRATIONS } from '../../../store/migrations.js';
import { SqlitePaymentLinkStore } from '../../../store/sqlite-payment-link-store.js';
import { SqlitePaymentStore } from '../../../store/sqlite-payment-store.js';
import { InvalidLinkTransitionError, InvalidSmsDeliveryTransitionError, PaymentLinkNotFoundError, SmsMessageNotFoundError } from '../../../store/store-errors.js';

const T0 = Date.parse('2030-01-02T03:04:05.000Z');
// A made-up UK mobile number (valid for libphonenumber, not Luhn-valid: never taken for a card number).
const PHONE = '+447400123456';

let clock: number;
let store: SqlitePaymentStore;
let links: SqlitePaymentLinkStore;
const now = (): Date => new Date(clock);

beforeEach(() => {
  clock = T0;
  store = new SqlitePaymentStore({ file: ':memory:', now });
  links = new SqlitePaymentLinkStore(store.database, now);
});
afterEach(() => store.close());

function newLink(id = 'lnk_1', providerLinkId = 'cs_test_1') {
  const session = store.createSession({ mode: 'link', reference: 'INV-1', amountMinor: 4250, currency: 'EUR' });
  return links.saveLink({ id, sessionId: session.id, provider: 'stripe', providerLinkId, url: 'https://checkout.example/c/pay', phone: PHONE, expiresAt: '2030-01-02T04:04:05.000Z' });
}

describe('payment links', () => {
  it('keeps a link active, finds it by the PSP id, and settles it once with the payment reference', () => {
    const link = newLink();
    expect(link).toMatchObject({ state: 'active', pspReference: null, settledAt: null, createdAt: new Date(T0).toISOString() });
    expect(links.findLink('stripe', 'cs_test_1')?.id).toBe('lnk_1');
    expect(links.listLinks({ sessionId: link.sessionId, state: 'active' })).toHaveLength(1);
    clock += 60_000;
    const paid = links.settleLink('lnk_1', { state: 'paid', pspReference: 'pi_123' });
    expect(paid).toMatchObject({ state: 'paid', pspReference: 'pi_123', settledAt: new Date(T0 + 60_000).toISOString() });
    // The PSP delivers at least once: the same answer again changes nothing.
    clock += 60_000;
    expect(links.settleLink('lnk_1', { state: 'paid' }).settledAt).toBe(paid.settledAt);
  });

  const STATES: PaymentLinkState[] = ['active', 'paid', 'declined', 'expired', 'cancelled'];
  it.each(STATES.filter((s) => s !== 'active').flatMap((from) => STATES.filter((to) => to !== from).map((to) => [from, to] as const)))(
    'a %s link never becomes %s',
    (from, to) => {
      newLink();
      links.settleLink('lnk_1', { state: from });
      expect(() => links.settleLink('lnk_1', { state: to })).toThrow(InvalidLinkTransitionError);
    },
  );

  it('refuses an unknown link, a number not in E.164 and a second link with the same PSP id', () => {
    expect(() => links.settleLink('lnk_nope', { state: 'paid' })).toThrow(PaymentLinkNotFoundError);
    const session = store.createSession({ mode: 'link', reference: 'INV-2', amountMinor: 100, currency: 'EUR' });
    const base = { sessionId: session.id, provider: 'stripe', url: 'https://x', expiresAt: '2030-01-02T04:04:05.000Z' };
    expect(() => links.saveLink({ ...base, id: 'lnk_2', providerLinkId: 'cs_2', phone: '07400123456' })).toThrow(/CHECK/);
    newLink('lnk_3', 'cs_3');
    expect(() => links.saveLink({ ...base, id: 'lnk_4', providerLinkId: 'cs_3', phone: PHONE })).toThrow(/UNIQUE/);
  });
});

describe('SMS outbox', () => {
  const sent = (sessionId: string | null, body: string, providerMessageId: string, linkId: string | null = null) =>
    links.appendSms({ sessionId, linkId, provider: 'twilio', providerMessageId, recipient: PHONE, body });

  it('keeps every message sent, newest first, by session or link, under the provider\'s id', () => {
    const link = newLink();
    sent(link.sessionId, 'first', 'SM1', link.id);
    clock += 1000;
    sent(null, 'second', 'SM2');
    expect(links.listSms({}).map((m) => m.body)).toEqual(['second', 'first']);
    expect(links.listSms({ sessionId: link.sessionId }).map((m) => m.body)).toEqual(['first']);
    expect(links.listSms({ linkId: link.id }).map((m) => m.providerMessageId)).toEqual(['SM1']);
    expect(links.findSms('twilio', 'SM2')).toMatchObject({ body: 'second', delivery: 'submitted', deliveryError: null, deliveryAt: null, linkId: null });
    expect(links.findSms('vonage', 'SM2')).toBeUndefined();
    // One row per message of a provider.
    expect(() => sent(null, 'again', 'SM2')).toThrow(/UNIQUE/);
  });

  it('records delivery forward only, with the error code of a failure; the same report again changes nothing', () => {
    const message = sent(null, 'x', 'SM1');
    clock += 1000;
    expect(links.recordSmsDelivery(message.id, { delivery: 'sent' })).toMatchObject({ delivery: 'sent', deliveryAt: new Date(T0 + 1000).toISOString() });
    clock += 1000;
    const undelivered = links.recordSmsDelivery(message.id, { delivery: 'undelivered', errorCode: '30003' });
    expect(undelivered).toMatchObject({ delivery: 'undelivered', deliveryError: '30003', deliveryAt: new Date(T0 + 2000).toISOString() });
    clock += 1000;
    expect(links.recordSmsDelivery(message.id, { delivery: 'undelivered', errorCode: '30003' }).deliveryAt).toBe(undelivered.deliveryAt);
    expect(() => links.recordSmsDelivery(message.id, { delivery: 'delivered' })).toThrow(InvalidSmsDeliveryTransitionError);
    expect(() => links.recordSmsDelivery('sms_nope', { delivery: 'delivered' })).toThrow(SmsMessageNotFoundError);
  });

  const FINAL: SmsDeliveryState[] = ['delivered', 'undelivered', 'failed'];
  it.each(FINAL.flatMap((from) => (['submitted', 'sent', ...FINAL] as SmsDeliveryState[]).filter((to) => to !== from).map((to) => [from, to] as const)))(
    'a %s message never becomes %s',
    (from, to) => {
      const message = sent(null, 'x', 'SM1');
      links.recordSmsDelivery(message.id, { delivery: from });
      expect(() => links.recordSmsDelivery(message.id, { delivery: to })).toThrow(InvalidSmsDeliveryTransitionError);
    },
  );

  it('migration 11 keeps the sandbox messages kept before, each under its own id', () => {
    const db = new Database(':memory:');
    for (const [i, sql] of MIGRATIONS.slice(0, 10).entries()) {
      db.exec(sql);
      db.pragma(`user_version = ${i + 1}`);
    }
    db.prepare("INSERT INTO sms_outbox (id, session_id, recipient, body, sent_at) VALUES ('sms_old', NULL, ?, 'kept', '2030-01-01T00:00:00.000Z')").run(PHONE);
    migrate(db);
    expect(new SqlitePaymentLinkStore(db).findSms('sandbox', 'sms_old')).toMatchObject({ id: 'sms_old', body: 'kept', delivery: 'submitted', linkId: null });
    db.close();
  });
});

describe('sessions for links', () => {
  it('takes the link mode and the link-sent and expired statuses', () => {
    const session = store.createSession({ mode: 'link', reference: 'INV-1', amountMinor: 4250, currency: 'EUR' });
    expect(store.updateSession(session.id, { status: 'link-sent' }).status).toBe('link-sent');
    expect(store.updateSession(session.id, { status: 'expired' }).status).toBe('expired');
  });
});
