import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PaymentLinkState, SmsDeliveryState } from '../../../domain/payment-lifecycle.js';
import { InvalidLinkTransitionError, InvalidSmsDeliveryTransitionError, PaymentLinkNotFoundError, SmsMessageNotFoundError } from '../../../store/store-errors.js';
import { CHECK, UNIQUE, type OpenStore, type StoreUnderTest } from './store-under-test.js';

const T0 = Date.parse('2030-01-02T03:04:05.000Z');
// A made-up UK mobile number (valid for libphonenumber, not Luhn-valid: never taken for a card number).
const PHONE = '+447400123456';

/**
 * What every payment link store adapter must do (store/payment-link-store.ts):
 * links and their one settlement, the SMS outbox and its delivery reports, and the session
 * statuses links add.
 */
export function describePaymentLinkContract(open: OpenStore): void {
  let clock: number;
  let h: StoreUnderTest;

  beforeEach(async () => {
    clock = T0;
    h = await open(() => new Date(clock));
  });
  afterEach(async () => {
    await h.close();
  });

  const linkSession = (reference = 'INV-1') => h.store.createSession({ mode: 'link', reference, amountMinor: 4250, currency: 'EUR' });

  async function newLink(id = 'lnk_1', providerLinkId = 'cs_test_1') {
    const session = await linkSession();
    return h.links.saveLink({ id, sessionId: session.id, provider: 'stripe', providerLinkId, url: 'https://checkout.example/c/pay', phone: PHONE, expiresAt: '2030-01-02T04:04:05.000Z' });
  }

  describe('payment links', () => {
    it('keeps a link active, finds it by the PSP id, and settles it once with the payment reference', async () => {
      const link = await newLink();
      expect(link).toMatchObject({ state: 'active', pspReference: null, settledAt: null, createdAt: new Date(T0).toISOString() });
      expect((await h.links.findLink('stripe', 'cs_test_1'))?.id).toBe('lnk_1');
      expect(await h.links.listLinks({ sessionId: link.sessionId, state: 'active' })).toHaveLength(1);
      clock += 60_000;
      const paid = await h.links.settleLink('lnk_1', { state: 'paid', pspReference: 'pi_123' });
      expect(paid).toMatchObject({ state: 'paid', pspReference: 'pi_123', settledAt: new Date(T0 + 60_000).toISOString() });
      expect(await h.links.getLink('lnk_1')).toEqual(paid);
      // The PSP delivers at least once: the same answer again changes nothing.
      clock += 60_000;
      expect((await h.links.settleLink('lnk_1', { state: 'paid' })).settledAt).toBe(paid.settledAt);
    });

    it('lists links oldest first, by session and by state', async () => {
      const first = await newLink('lnk_1', 'cs_1');
      clock += 1000;
      const second = await newLink('lnk_2', 'cs_2');
      await h.links.settleLink(second.id, { state: 'expired' });
      expect((await h.links.listLinks({})).map((l) => l.id)).toEqual(['lnk_1', 'lnk_2']);
      expect((await h.links.listLinks({ state: 'active' })).map((l) => l.id)).toEqual(['lnk_1']);
      expect((await h.links.listLinks({ sessionId: first.sessionId })).map((l) => l.id)).toEqual(['lnk_1']);
      expect(await h.links.listLinks({ sessionId: first.sessionId, state: 'expired' })).toEqual([]);
    });

    const STATES: PaymentLinkState[] = ['active', 'paid', 'declined', 'expired', 'cancelled'];
    it.each(STATES.filter((s) => s !== 'active').flatMap((from) => STATES.filter((to) => to !== from).map((to) => [from, to] as const)))(
      'a %s link never becomes %s',
      async (from, to) => {
        await newLink();
        await h.links.settleLink('lnk_1', { state: from });
        await expect(h.links.settleLink('lnk_1', { state: to })).rejects.toBeInstanceOf(InvalidLinkTransitionError);
        expect((await h.links.getLink('lnk_1'))?.state).toBe(from);
      },
    );

    it('refuses an unknown link, a number not in E.164 and a second link with the same PSP id', async () => {
      await expect(h.links.settleLink('lnk_nope', { state: 'paid' })).rejects.toBeInstanceOf(PaymentLinkNotFoundError);
      const session = await h.store.createSession({ mode: 'link', reference: 'INV-2', amountMinor: 100, currency: 'EUR' });
      const base = { sessionId: session.id, provider: 'stripe', url: 'https://x', expiresAt: '2030-01-02T04:04:05.000Z' };
      await expect(h.links.saveLink({ ...base, id: 'lnk_2', providerLinkId: 'cs_2', phone: '07400123456' })).rejects.toThrow(CHECK);
      await newLink('lnk_3', 'cs_3');
      await expect(h.links.saveLink({ ...base, id: 'lnk_4', providerLinkId: 'cs_3', phone: PHONE })).rejects.toThrow(UNIQUE);
    });

    it('is seen by another process on the same database', async () => {
      const link = await newLink();
      const other = await h.reopen();
      try {
        expect(await other.links.findLink('stripe', 'cs_test_1')).toEqual(link);
      } finally {
        await other.close();
      }
    });
  });

  describe('SMS outbox', () => {
    const sent = (sessionId: string | null, body: string, providerMessageId: string, linkId: string | null = null) =>
      h.links.appendSms({ sessionId, linkId, provider: 'twilio', providerMessageId, recipient: PHONE, body });

    it("keeps every message sent, newest first, by session or link, under the provider's id, up to the limit", async () => {
      const link = await newLink();
      const kept = await sent(link.sessionId, 'first', 'SM1', link.id);
      expect(kept).toEqual({
        id: expect.stringMatching(/^sms_/),
        sessionId: link.sessionId,
        linkId: link.id,
        provider: 'twilio',
        providerMessageId: 'SM1',
        recipient: PHONE,
        body: 'first',
        sentAt: new Date(T0).toISOString(),
        delivery: 'submitted',
        deliveryError: null,
        deliveryAt: null,
      });
      clock += 1000;
      await sent(null, 'second', 'SM2');
      expect((await h.links.listSms({})).map((m) => m.body)).toEqual(['second', 'first']);
      expect(await h.links.listSms({ sessionId: link.sessionId })).toEqual([kept]);
      expect((await h.links.listSms({ linkId: link.id })).map((m) => m.providerMessageId)).toEqual(['SM1']);
      expect((await h.links.listSms({ limit: 1 })).map((m) => m.body)).toEqual(['second']);
      expect(await h.links.findSms('twilio', 'SM2')).toMatchObject({ body: 'second', delivery: 'submitted', linkId: null });
      expect(await h.links.findSms('vonage', 'SM2')).toBeUndefined();
      // One row per message of a provider.
      await expect(sent(null, 'again', 'SM2')).rejects.toThrow(UNIQUE);
    });

    it('records delivery forward only, with the error code of a failure; the same report again changes nothing', async () => {
      const message = await sent(null, 'x', 'SM1');
      clock += 1000;
      expect(await h.links.recordSmsDelivery(message.id, { delivery: 'sent' })).toMatchObject({ delivery: 'sent', deliveryAt: new Date(T0 + 1000).toISOString() });
      clock += 1000;
      const undelivered = await h.links.recordSmsDelivery(message.id, { delivery: 'undelivered', errorCode: '30003' });
      expect(undelivered).toMatchObject({ delivery: 'undelivered', deliveryError: '30003', deliveryAt: new Date(T0 + 2000).toISOString() });
      clock += 1000;
      expect((await h.links.recordSmsDelivery(message.id, { delivery: 'undelivered', errorCode: '30003' })).deliveryAt).toBe(undelivered.deliveryAt);
      await expect(h.links.recordSmsDelivery(message.id, { delivery: 'delivered' })).rejects.toThrow(InvalidSmsDeliveryTransitionError);
      await expect(h.links.recordSmsDelivery('sms_nope', { delivery: 'delivered' })).rejects.toThrow(SmsMessageNotFoundError);
    });

    const FINAL: SmsDeliveryState[] = ['delivered', 'undelivered', 'failed'];
    it.each(FINAL.flatMap((from) => (['submitted', 'sent', ...FINAL] as SmsDeliveryState[]).filter((to) => to !== from).map((to) => [from, to] as const)))(
      'a %s message never becomes %s',
      async (from, to) => {
        const message = await sent(null, 'x', 'SM1');
        await h.links.recordSmsDelivery(message.id, { delivery: from });
        await expect(h.links.recordSmsDelivery(message.id, { delivery: to })).rejects.toThrow(InvalidSmsDeliveryTransitionError);
      },
    );
  });

  describe('sessions for links', () => {
    it('takes the link mode and the link-sent and expired statuses', async () => {
      const session = await linkSession();
      expect(session.mode).toBe('link');
      expect((await h.store.updateSession(session.id, { status: 'link-sent' })).status).toBe('link-sent');
      expect((await h.store.updateSession(session.id, { status: 'expired' })).status).toBe('expired');
    });
  });
}
