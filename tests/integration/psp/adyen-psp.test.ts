import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mountPspWebhooks } from '../../../agent-bridge/api/psp-webhook-routes.js';
import { AdyenPsp, adyenRefusal } from '../../../psp/adyen-psp.js';
import { AdyenWebhookHandler } from '../../../psp/adyen-webhooks.js';
import { findCardDataInFiles, findCardDataInText } from '../../support/card-scan.js';
import { FakeAdyen } from '../../support/fake-adyen.js';
import { CALL, card, PspHarness, SUPERVISOR } from './psp-harness.js';

// Public test card numbers, mapped by the fake to Adyen's refusal reasons.
const VISA = '4242424242424242';
const NO_ANSWER = '4000000000000341';
const RECEIVED = '4000000000000077';
const ACQUIRER_ERROR = '4000000000000119';
const DECLINES: [pan: string, reason: string][] = [
  ['4000000000000002', 'generic-decline'],
  ['4000000000009995', 'insufficient-funds'],
  ['4000000000000069', 'expired-card'],
  ['4000000000000127', 'incorrect-security-code'],
  ['4000000000009987', 'fraud-suspected'],
  ['4000000000009979', 'fraud-suspected'],
];
const ALL_CARDS = [VISA, NO_ANSWER, RECEIVED, ACQUIRER_ERROR, ...DECLINES.map(([pan]) => pan)];

/** The Adyen adapter against the local Checkout API (tests/support/fake-adyen.ts), its webhooks to the real route. */
describe('AdyenPsp against a local Adyen Checkout API', () => {
  const fake = new FakeAdyen();
  const h = new PspHarness();
  let hooks: Server;
  const adyen = (options: { capture?: 'auto' | 'manual'; apiKey?: string; notificationWaitMs?: number } = {}) =>
    new AdyenPsp({
      apiKey: options.apiKey ?? fake.apiKey,
      merchantAccount: fake.merchantAccount,
      apiBase: fake.apiBase,
      capture: options.capture ?? 'auto',
      notifications: h.records,
      notificationWaitMs: options.notificationWaitMs ?? 600_000,
    });

  beforeAll(async () => {
    await fake.start();
    h.use(adyen());
    const app = express();
    mountPspWebhooks(app, { adyen: new AdyenWebhookHandler({ hmacKey: fake.hmacKey, records: h.records, reversals: h.reversals() }), logger: pino({ level: 'silent' }) });
    hooks = createServer(app);
    await new Promise<void>((resolve) => hooks.listen(0, '127.0.0.1', resolve));
    fake.webhookUrl = `http://127.0.0.1:${(hooks.address() as AddressInfo).port}/psp/adyen/webhooks`;
  });
  afterAll(async () => {
    await fake.close();
    await new Promise<void>((resolve) => hooks.close(() => resolve()));
    await h.close();
  });

  it('authorises a MOTO payment: scheme card, shopperInteraction Moto, our key as reference and Idempotency-Key', async () => {
    const s = await h.session();
    const result = await h.authoriser().authorise(s, card(VISA), CALL);
    expect(result).toMatchObject({ kind: 'approved', pspReference: expect.stringMatching(/^[A-Z0-9]{16}$/), authCode: expect.stringMatching(/^\d{5}$/) });
    const sent = fake.server.received('POST', '/v71/payments').at(-1)!;
    const key = (await h.store.getSession(s.id))!.idempotencyKey!;
    expect(sent.headers['idempotency-key']).toBe(key);
    expect(sent.headers['x-api-key']).toBe(fake.apiKey);
    expect(JSON.parse(sent.body)).toEqual({
      merchantAccount: fake.merchantAccount,
      amount: { value: 4250, currency: 'EUR' },
      reference: key,
      merchantOrderReference: 'INV-1001',
      shopperInteraction: 'Moto',
      paymentMethod: { type: 'scheme', number: VISA, expiryMonth: '12', expiryYear: '2030', cvc: '123' },
    });
  });

  it.each(DECLINES)('maps the refusal of %s to %s', async (pan, reason) => {
    const s = await h.session();
    expect(await h.authoriser().authorise(s, card(pan), CALL)).toEqual({ kind: 'declined', reason });
    expect(await h.store.getSession(s.id)).toMatchObject({ status: 'declined', declineReason: reason, pspReference: expect.stringMatching(/^[A-Z0-9]{16}$/) });
  });

  it('maps refusal codes and webhook reason texts alike', async () => {
    expect(adyenRefusal('12')).toEqual({ kind: 'declined', reason: 'insufficient-funds' });
    expect(adyenRefusal(undefined, 'Not enough balance')).toEqual({ kind: 'declined', reason: 'insufficient-funds' });
    expect(adyenRefusal('10')).toEqual({ kind: 'declined', reason: 'card-not-supported' });
    expect(adyenRefusal('4')).toEqual({ kind: 'error', code: 'processing-error', retryable: false });
  });

  it('resultCode Error is an error, not a decline', async () => {
    expect(await h.authoriser().authorise(await h.session(), card(ACQUIRER_ERROR), CALL)).toEqual({ kind: 'error', code: 'processing-error' });
  });

  it('retries 429 and 5xx with the same idempotency key and authorises once', async () => {
    fake.server.failNext('POST', '/v71/payments', 429, 500, 503);
    const before = fake.server.received('POST', '/v71/payments').length;
    const s = await h.session();
    expect((await h.authoriser({ maxRetries: 3 }).authorise(s, card(VISA), CALL)).kind).toBe('approved');
    const sent = fake.server.received('POST', '/v71/payments').slice(before);
    expect(sent).toHaveLength(4);
    expect(new Set(sent.map((r) => r.headers['idempotency-key']))).toEqual(new Set([(await h.store.getSession(s.id))!.idempotencyKey]));
    const sessionKey = (await h.store.getSession(s.id))!.idempotencyKey;
    expect([...fake.payments.values()].filter((p) => p.reference === sessionKey)).toHaveLength(1);
  });

  it('an answer that never comes: in doubt, then the AUTHORISATION webhook settles it', async () => {
    const s = await h.session();
    expect(await h.authoriser({ timeoutMs: 400, maxRetries: 0 }).authorise(s, card(NO_ANSWER), CALL)).toEqual({ kind: 'in-doubt' });
    await fake.settled();
    await h.reconciler().reconcileOnce();
    const sessionKey = (await h.store.getSession(s.id))!.idempotencyKey;
    const charged = [...fake.payments.values()].find((p) => p.reference === sessionKey)!;
    expect(await h.store.getSession(s.id)).toMatchObject({ status: 'approved', pspReference: charged.pspReference, authCode: expect.stringMatching(/^\d{5}$/) });
  });

  it('resultCode Received is in doubt until the webhook says Authorised', async () => {
    const s = await h.session();
    expect(await h.authoriser({ maxRetries: 0 }).authorise(s, card(RECEIVED), CALL)).toEqual({ kind: 'in-doubt' });
    await fake.settled();
    await h.reconciler().reconcileOnce();
    expect((await h.store.getSession(s.id))!.status).toBe('approved');
  });

  it('no webhook ever: in doubt while Adyen may still send it, then cancelled by our reference and settled as not charged', async () => {
    fake.server.failNext('POST', '/v71/payments', 500);
    const s = await h.session();
    expect(await h.authoriser({ maxRetries: 0 }).authorise(s, card(VISA), CALL)).toEqual({ kind: 'in-doubt' });
    await h.reconciler().reconcileOnce();
    expect((await h.store.getSession(s.id))!.status).toBe('in_doubt');
    h.use(adyen({ notificationWaitMs: 0 }));
    await h.reconciler().reconcileOnce();
    h.use(adyen());
    expect((await h.store.getSession(s.id))!.status).toBe('error');
    expect(JSON.parse(fake.server.received('POST', '/v71/cancels').at(-1)!.body)).toMatchObject({ paymentReference: (await h.store.getSession(s.id))!.idempotencyKey });
  });

  it('tokenises with storePaymentMethod, shopperReference and UnscheduledCardOnFile; a zero-value authorisation stores only', async () => {
    const s = await h.session(4250, { tokenise: true, customerReference: 'cust-88' });
    await h.authoriser().authorise(s, card(VISA), CALL);
    expect(JSON.parse(fake.server.received('POST', '/v71/payments').at(-1)!.body)).toMatchObject({
      storePaymentMethod: true,
      shopperReference: 'cust-88',
      recurringProcessingModel: 'UnscheduledCardOnFile',
    });
    expect(await h.records.getToken(s.id)).toMatchObject({ psp: 'adyen', customer: 'cust-88', token: expect.stringMatching(/^[A-Z0-9]{16}$/), cardLast4: '4242' });
    const zero = await h.session(0);
    expect((await h.authoriser().authorise(zero, card(VISA), CALL)).kind).toBe('approved');
    expect(JSON.parse(fake.server.received('POST', '/v71/payments').at(-1)!.body)).toMatchObject({ amount: { value: 0 }, storePaymentMethod: true, shopperReference: zero.id });
    expect(await h.records.getToken(zero.id)).toBeDefined();
  });

  it('charges a stored card: storedPaymentMethodId with its shopperReference, ContAuth, UnscheduledCardOnFile, no card data, once per key', async () => {
    const first = await h.session(4250, { tokenise: true, customerReference: 'cust-mit' });
    await h.authoriser().authorise(first, card(VISA), CALL);
    const token = (await h.records.getToken(first.id))!;
    const s = await h.storedCardCharge(token, 1200);
    expect(await h.authoriser().chargeStoredCard(s, token, SUPERVISOR)).toMatchObject({ kind: 'approved', pspReference: expect.stringMatching(/^[A-Z0-9]{16}$/) });
    const sent = fake.server.received('POST', '/v71/payments').at(-1)!;
    expect(JSON.parse(sent.body)).toEqual({
      merchantAccount: fake.merchantAccount,
      amount: { value: 1200, currency: 'EUR' },
      reference: s.idempotencyKey,
      merchantOrderReference: 'INV-MIT',
      shopperInteraction: 'ContAuth',
      recurringProcessingModel: 'UnscheduledCardOnFile',
      shopperReference: 'cust-mit',
      paymentMethod: { type: 'scheme', storedPaymentMethodId: token.token },
    });
    expect(sent.headers['idempotency-key']).toBe(s.idempotencyKey);
    expect(findCardDataInText(sent.body, ALL_CARDS)).toEqual([]);
    expect(await h.store.getSession(s.id)).toMatchObject({ status: 'approved', cardLast4: '4242' });
    const sentSoFar = fake.server.received('POST', '/v71/payments').length;
    expect((await h.authoriser().chargeStoredCard((await h.store.getSession(s.id))!, token, SUPERVISOR)).kind).toBe('approved');
    expect(fake.server.received('POST', '/v71/payments')).toHaveLength(sentSoFar);
    // Another shopper's token: Adyen finds no contract, nothing is charged.
    const foreign = await h.storedCardCharge({ ...token, customer: 'cust-other' });
    expect(await h.authoriser().chargeStoredCard(foreign, { ...token, customer: 'cust-other' }, SUPERVISOR)).toEqual({ kind: 'error', code: 'adyen-800' });
  });

  it('refunds and voids are pending until the REFUND and CANCELLATION webhooks settle them', async () => {
    const s = await h.session(1000);
    await h.authoriser().authorise(s, card(VISA), CALL);
    const reversals = h.reversals();
    const refund = await reversals.reverse(s.id, { kind: 'refund', amountMinor: 300 }, SUPERVISOR);
    expect(refund).toMatchObject({ state: 'pending', pspReference: expect.stringMatching(/^[A-Z0-9]{16}$/) });
    expect(fake.server.received('POST', /^\/v71\/payments\/[A-Z0-9]{16}\/refunds$/).at(-1)!.path).toContain((await h.store.getSession(s.id))!.pspReference!);
    await fake.settled();
    expect(await h.records.getReversal(refund.idempotencyKey)).toMatchObject({ state: 'succeeded' });

    h.use(adyen({ capture: 'manual' }));
    const held = await h.session(2000);
    await h.authoriser().authorise(held, card(VISA), CALL);
    expect(JSON.parse(fake.server.received('POST', '/v71/payments').at(-1)!.body)).toMatchObject({ additionalData: { manualCapture: 'true' } });
    const voided = await h.reversals().reverse(held.id, { kind: 'void' }, SUPERVISOR);
    await fake.settled();
    expect(await h.records.getReversal(voided.idempotencyKey)).toMatchObject({ state: 'succeeded', kind: 'void' });
    h.use(adyen());
  });

  it('captures a manual authorisation in part at /payments/{id}/captures: pending until the CAPTURE webhook; refunds only what was captured', async () => {
    h.use(adyen({ capture: 'manual' }));
    const manual = h.reversals({ capture: 'manual' });
    const s = await h.session(4250);
    await h.authoriser().authorise(s, card(VISA), CALL);
    const payment = (await h.store.getSession(s.id))!.pspReference!;
    const captured = await manual.capture(s.id, { amountMinor: 3000 }, SUPERVISOR);
    expect(captured).toMatchObject({ kind: 'capture', state: 'pending', pspReference: expect.stringMatching(/^[A-Z0-9]{16}$/) });
    const sent = fake.server.received('POST', `/v71/payments/${payment}/captures`);
    expect(sent).toHaveLength(1);
    expect(JSON.parse(sent[0]!.body)).toEqual({ merchantAccount: fake.merchantAccount, reference: captured.idempotencyKey, amount: { value: 3000, currency: 'EUR' } });
    expect(sent[0]!.headers['idempotency-key']).toBe(captured.idempotencyKey);
    await fake.settled();
    expect(await h.records.getReversal(captured.idempotencyKey)).toMatchObject({ state: 'succeeded' });
    expect(fake.payments.get(payment)!.captured).toBe(3000);
    // Refunds come out of what was captured: more is refused by the checks before Adyen is asked.
    await expect(manual.reverse(s.id, { kind: 'refund', amountMinor: 3001 }, SUPERVISOR)).rejects.toMatchObject({ code: 'amount-too-large' });
    const refund = await manual.reverse(s.id, { kind: 'refund', amountMinor: 3000 }, SUPERVISOR);
    await fake.settled();
    expect(await h.records.getReversal(refund.idempotencyKey)).toMatchObject({ state: 'succeeded' });
    h.use(adyen());
  });

  it('a webhook with a bad signature is refused and keeps nothing', async () => {
    const res = await fetch(fake.webhookUrl!, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        live: 'false',
        notificationItems: [
          {
            NotificationRequestItem: {
              eventCode: 'AUTHORISATION',
              pspReference: 'ABCDEFGHJKLMNPQR',
              merchantAccountCode: fake.merchantAccount,
              merchantReference: 'idem_forged',
              amount: { value: 1, currency: 'EUR' },
              success: 'true',
              additionalData: { hmacSignature: 'AAAA' },
            },
          },
        ],
      }),
    });
    expect(res.status).toBe(401);
    expect(await h.records.findNotifications({ psp: 'adyen', merchantReference: 'idem_forged' })).toEqual([]);
  });

  it('the local API refuses what Adyen would: an unknown field, a missing one, a bad key', async () => {
    const post = (body: unknown, key = fake.apiKey) =>
      fetch(`${fake.apiBase}/payments`, { method: 'POST', headers: { 'x-api-key': key, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const unknown = await post({ merchantAccount: fake.merchantAccount, colour: 'blue' });
    expect(unknown.status).toBe(400);
    expect(await unknown.json()).toMatchObject({ errorCode: '702' });
    expect((await post({ merchantAccount: fake.merchantAccount })).status).toBe(422);
    expect((await post({}, 'wrong')).status).toBe(401);
  });

  it('checks its credentials (for /readyz)', async () => {
    expect(await adyen().checkCredentials()).toBe(true);
    expect(await adyen({ apiKey: 'wrong' }).checkCredentials()).toBe(false);
  });

  it('left no card number anywhere but the bodies of the /payments requests, and kept no expiry from the webhooks', async () => {
    const elsewhere = fake.server.requests.flatMap((r) => [r.path, r.query, JSON.stringify(r.headers), ...(r.path === '/v71/payments' ? [] : [r.body])]);
    expect(findCardDataInText(elsewhere.join('\n'), ALL_CARDS)).toEqual([]);
    const kept = JSON.stringify((await h.records.findNotifications({ psp: 'adyen' })));
    expect(kept).not.toMatch(/\/2030|expiry|cardSummary/);
    expect(findCardDataInText(kept, ALL_CARDS)).toEqual([]);
    expect(findCardDataInFiles(h.dir, ALL_CARDS)).toEqual([]);
  });
});
