import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PaymentLinkState } from '../../../domain/payment-lifecycle.js';
import { SqlitePaymentLinkStore } from '../../../store/sqlite-payment-link-store.js';
import { SqlitePaymentStore } from '../../../store/sqlite-payment-store.js';
import { InvalidLinkTransitionError, PaymentLinkNotFoundError } from '../../../store/store-errors.js';

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

describe('sandbox SMS outbox', () => {
  it('keeps messages newest first, by session', () => {
    const session = store.createSession({ mode: 'link', reference: 'INV-1', amountMinor: 4250, currency: 'EUR' });
    links.appendSms({ sessionId: session.id, recipient: PHONE, body: 'first' });
    clock += 1000;
    links.appendSms({ sessionId: null, recipient: PHONE, body: 'second' });
    expect(links.listSms({}).map((m) => m.body)).toEqual(['second', 'first']);
    expect(links.listSms({ sessionId: session.id }).map((m) => m.body)).toEqual(['first']);
  });
});

describe('sessions for links', () => {
  it('takes the link mode and the link-sent and expired statuses', () => {
    const session = store.createSession({ mode: 'link', reference: 'INV-1', amountMinor: 4250, currency: 'EUR' });
    expect(store.updateSession(session.id, { status: 'link-sent' }).status).toBe('link-sent');
    expect(store.updateSession(session.id, { status: 'expired' }).status).toBe('expired');
  });
});
