import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AdyenPaymentLinks } from '../../../psp/adyen-payment-links.js';
import { verifiedItems } from '../../../psp/adyen-webhooks.js';
import { PaymentLinkError, type PaymentLinkRequest } from '../../../psp/payment-link-port.js';
import { StripePaymentLinks, StripeWebhookError } from '../../../psp/stripe-payment-links.js';
import { FakeAdyen } from '../../support/fake-adyen.js';
import { FakeStripe } from '../../support/fake-stripe.js';

/** A loopback endpoint keeping each webhook's raw body and headers, answering 200. */
class WebhookInbox {
  readonly received: { body: Buffer; headers: Record<string, string | string[] | undefined> }[] = [];
  #server: Server | undefined;
  url = '';

  async start(): Promise<void> {
    this.#server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        this.received.push({ body: Buffer.concat(chunks), headers: req.headers });
        res.end('ok');
      });
    });
    await new Promise<void>((resolve) => this.#server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/hook`;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.#server?.close(() => resolve()));
  }
}

function request(overrides: Partial<PaymentLinkRequest> = {}): PaymentLinkRequest {
  return {
    linkId: `lnk_${Math.random().toString(16).slice(2)}`,
    sessionId: 'pay_0123456789abcdef01234567',
    amountMinor: 4250,
    currency: 'EUR',
    reference: 'INV-1001',
    language: 'en-GB',
    expiresAt: new Date(Date.now() + 60 * 60_000),
    ...overrides,
  };
}

describe('Stripe Checkout Sessions as payment links, against the strict fake Stripe', () => {
  const stripe = new FakeStripe();
  const inbox = new WebhookInbox();
  let links: StripePaymentLinks;

  beforeAll(async () => {
    await inbox.start();
    const apiBase = await stripe.start();
    stripe.checkout.webhookUrl = inbox.url;
    links = new StripePaymentLinks({ secretKey: stripe.secretKey, apiBase, webhookSecret: stripe.checkout.webhookSecret });
  });
  afterAll(async () => {
    await stripe.close();
    await inbox.close();
  });
  afterEach(() => {
    inbox.received.length = 0;
  });

  it('makes one mode=payment session with the amount in price_data, our ids in client_reference_id and metadata, form-encoded with the secret key', async () => {
    const req = request();
    const link = await links.create(req);
    expect(link.url).toMatch(/^https:\/\/checkout\.stripe\.com\/c\/pay\/cs_test_/);
    const session = stripe.checkout.sessions.get(link.providerLinkId)!;
    expect(session).toMatchObject({ mode: 'payment', amount_total: 4250, currency: 'eur', client_reference_id: req.sessionId, locale: 'en-GB' });
    expect(session.metadata).toMatchObject({ session_id: req.sessionId, link_id: req.linkId });
    const sent = stripe.server.received('POST', '/v1/checkout/sessions').at(-1)!;
    expect(sent.headers['content-type']).toMatch(/application\/x-www-form-urlencoded/);
    expect(sent.headers['idempotency-key']).toBe(req.linkId);
    // A retry with the same link id makes no second session.
    await links.create(req);
    expect(stripe.checkout.sessions.size).toBe(1);
  });

  it('the fake refuses what Stripe refuses: an expires_at under 30 minutes, an unknown parameter, a bad key', async () => {
    await expect(links.create(request({ expiresAt: new Date(Date.now() + 10 * 60_000) }))).rejects.toMatchObject({ name: 'PaymentLinkError', code: 'invalid-request:parameter_invalid', retryable: false });
    const res = await fetch(`${stripe.server.url}/v1/checkout/sessions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${stripe.secretKey}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'mode=payment&amount=4250',
    });
    expect(await res.json()).toMatchObject({ error: { code: 'parameter_unknown', param: 'amount' } });
    const bad = new StripePaymentLinks({ secretKey: 'sk_test_wrong', apiBase: stripe.server.url, webhookSecret: 'whsec_x' });
    await expect(bad.create(request())).rejects.toMatchObject({ code: 'psp-authentication' });
  });

  it('reads a paid session from its signed checkout.session.completed, and refuses a forged one', async () => {
    const link = await links.create(request());
    stripe.checkout.pay(link.providerLinkId);
    await stripe.checkout.settled();
    const hook = inbox.received.at(-1)!;
    const outcome = links.outcomeOf(hook.body, String(hook.headers['stripe-signature']));
    expect(outcome).toMatchObject({ kind: 'paid', provider: 'stripe', providerLinkId: link.providerLinkId, pspReference: expect.stringMatching(/^pi_/) });
    // The same body with another signature, or another body under this one, does not verify.
    expect(() => links.outcomeOf(hook.body, 't=1,v1=00')).toThrow(StripeWebhookError);
    expect(() => links.outcomeOf(Buffer.from(hook.body.toString().replace('paid', 'unpaid')), String(hook.headers['stripe-signature']))).toThrow(StripeWebhookError);
    await stripe.checkout.sendForged('checkout.session.completed', link.providerLinkId);
    const forged = inbox.received.at(-1)!;
    expect(() => links.outcomeOf(forged.body, String(forged.headers['stripe-signature']))).toThrow(StripeWebhookError);
  });

  it('expires an open session, and says paid for one already paid', async () => {
    const open = await links.create(request());
    expect(await links.expire(open.providerLinkId)).toBe('expired');
    expect(stripe.checkout.sessions.get(open.providerLinkId)?.status).toBe('expired');
    const paid = await links.create(request());
    stripe.checkout.pay(paid.providerLinkId);
    expect(await links.expire(paid.providerLinkId)).toBe('paid');
  });

  it('reads checkout.session.expired as an expired link', async () => {
    const link = await links.create(request());
    stripe.checkout.runOut(link.providerLinkId);
    await stripe.checkout.settled();
    const hook = inbox.received.at(-1)!;
    expect(links.outcomeOf(hook.body, String(hook.headers['stripe-signature']))).toEqual({ kind: 'expired', provider: 'stripe', providerLinkId: link.providerLinkId });
  });

  it('a Stripe 5xx is a retryable PaymentLinkError', async () => {
    stripe.server.failNext('POST', '/v1/checkout/sessions', 503);
    const err = await links.create(request()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PaymentLinkError);
    expect(err).toMatchObject({ retryable: true });
  });
});

describe('Adyen Pay by Link, against the strict fake Adyen', () => {
  const adyen = new FakeAdyen();
  const inbox = new WebhookInbox();
  let links: AdyenPaymentLinks;

  beforeAll(async () => {
    await inbox.start();
    await adyen.start();
    adyen.webhookUrl = inbox.url;
    links = new AdyenPaymentLinks({ apiKey: adyen.apiKey, merchantAccount: adyen.merchantAccount, apiBase: adyen.apiBase });
  });
  afterAll(async () => {
    await adyen.close();
    await inbox.close();
  });

  it('creates a link with amount, merchantAccount, reference and expiresAt as JSON with X-API-Key and Idempotency-Key', async () => {
    const req = request({ language: 'fr-FR' });
    const link = await links.create(req);
    expect(link.url).toMatch(/^https:\/\/test\.adyen\.link\/PL/);
    const sent = adyen.server.received('POST', '/v71/paymentLinks').at(-1)!;
    expect(sent.headers['content-type']).toBe('application/json');
    expect(sent.headers['idempotency-key']).toBe(req.linkId);
    expect(JSON.parse(sent.body)).toMatchObject({ merchantAccount: adyen.merchantAccount, amount: { value: 4250, currency: 'EUR' }, reference: req.linkId, shopperLocale: 'fr_FR' });
  });

  it('the fake refuses what Adyen refuses: an unknown field, a past expiresAt, a bad key', async () => {
    const res = await fetch(`${adyen.apiBase}/paymentLinks`, {
      method: 'POST',
      headers: { 'x-api-key': adyen.apiKey, 'content-type': 'application/json' },
      body: JSON.stringify({ merchantAccount: adyen.merchantAccount, amount: { value: 1, currency: 'EUR' }, reference: 'r', cardNumber: '1' }),
    });
    expect(res.status).toBe(400);
    await expect(links.create(request({ expiresAt: new Date(Date.now() - 1000) }))).rejects.toMatchObject({ code: 'adyen-100' });
    const bad = new AdyenPaymentLinks({ apiKey: 'nope', merchantAccount: adyen.merchantAccount, apiBase: adyen.apiBase });
    await expect(bad.create(request())).rejects.toMatchObject({ code: 'psp-authentication' });
  });

  it('expires a link by PATCH, and says paid for a completed one', async () => {
    const open = await links.create(request());
    expect(await links.expire(open.providerLinkId)).toBe('expired');
    const sent = adyen.server.received('PATCH', `/v71/paymentLinks/${open.providerLinkId}`).at(-1)!;
    expect(JSON.parse(sent.body)).toEqual({ status: 'expired' });
    const paid = await links.create(request());
    adyen.payLink(paid.providerLinkId);
    expect(await links.expire(paid.providerLinkId)).toBe('paid');
  });

  it("reads a link payment from its HMAC-signed AUTHORISATION webhook", async () => {
    const link = await links.create(request());
    adyen.payLink(link.providerLinkId);
    await adyen.settled();
    const body = JSON.parse(inbox.received.at(-1)!.body.toString()) as unknown;
    const [item] = verifiedItems(body, adyen.hmacKey);
    expect(links.outcomeOf(item!)).toMatchObject({ kind: 'paid', provider: 'adyen', providerLinkId: link.providerLinkId });
  });
});
