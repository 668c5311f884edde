import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StripePsp, stripeDeclineReason } from '../../../psp/stripe-psp.js';
import { findCardDataInFiles, findCardDataInText } from '../../support/card-scan.js';
import { FakeStripe, parseForm } from '../../support/fake-stripe.js';
import { CALL, card, PspHarness, SUPERVISOR } from './psp-harness.js';

// Public test card numbers (docs.stripe.com/testing).
const VISA = '4242424242424242';
const NO_ANSWER = '4000000000000341';
const PROCESSING_ERROR = '4000000000000119';
const DECLINES: [pan: string, reason: string][] = [
  ['4000000000000002', 'generic-decline'],
  ['4000000000009995', 'insufficient-funds'],
  ['4000000000000069', 'expired-card'],
  ['4000000000000127', 'incorrect-security-code'],
  ['4000000000009987', 'fraud-suspected'],
  ['4000000000009979', 'fraud-suspected'],
];
const ALL_CARDS = [VISA, NO_ANSWER, PROCESSING_ERROR, ...DECLINES.map(([pan]) => pan)];

/** The Stripe adapter against the local Stripe API (tests/support/fake-stripe.ts). */
describe('StripePsp against a local Stripe API', () => {
  const fake = new FakeStripe();
  const h = new PspHarness();
  let base: string;
  const stripe = (options: { capture?: 'auto' | 'manual'; secretKey?: string } = {}) =>
    new StripePsp({ secretKey: options.secretKey ?? fake.secretKey, apiBase: base, searchLagMs: 0, capture: options.capture ?? 'auto' });

  beforeAll(async () => {
    base = await fake.start();
    h.use(stripe());
  });
  afterAll(async () => {
    await fake.close();
    await h.close();
  });

  it('approves a MOTO PaymentIntent created and confirmed in one call, the card as payment_method_data, the key as Idempotency-Key', async () => {
    const s = await h.session();
    const result = await h.authoriser().authorise(s, card(VISA), CALL);
    expect(result).toMatchObject({ kind: 'approved', pspReference: expect.stringMatching(/^pi_/), authCode: expect.stringMatching(/^\d{6}$/) });
    const [sent] = fake.server.received('POST', '/v1/payment_intents').slice(-1);
    const key = (await h.store.getSession(s.id))!.idempotencyKey!;
    expect(sent!.headers['idempotency-key']).toBe(key);
    expect(parseForm(sent!.body)).toEqual({
      amount: '4250',
      currency: 'eur',
      confirm: 'true',
      capture_method: 'automatic',
      allowed_payment_method_types: ['card'],
      error_on_requires_action: 'true',
      payment_method_options: { card: { moto: 'true' } },
      metadata: { reference: 'INV-1001', idempotency_key: key },
      expand: ['latest_charge'],
      payment_method_data: { type: 'card', card: { number: VISA, exp_month: '12', exp_year: '2030', cvc: '123' } },
    });
    expect(await h.store.getSession(s.id)).toMatchObject({ status: 'approved', pspReference: result.kind === 'approved' ? result.pspReference : '' });
  });

  it.each(DECLINES)('maps the 402 card error of %s to %s, with the PaymentIntent as reference', async (pan, reason) => {
    const s = await h.session();
    expect(await h.authoriser().authorise(s, card(pan), CALL)).toEqual({ kind: 'declined', reason });
    expect(await h.store.getSession(s.id)).toMatchObject({ status: 'declined', declineReason: reason, pspReference: expect.stringMatching(/^pi_/) });
  });

  it('maps decline codes without a test card too', async () => {
    expect(stripeDeclineReason('card_not_supported')).toBe('card-not-supported');
    expect(stripeDeclineReason('do_not_honor')).toBe('do-not-honour');
    expect(stripeDeclineReason('fraudulent')).toBe('fraud-suspected');
    expect(stripeDeclineReason('something_new')).toBe('generic-decline');
  });

  it('a processing error is an error, not a decline, and is not retried', async () => {
    const before = fake.server.requests.length;
    expect(await h.authoriser().authorise(await h.session(), card(PROCESSING_ERROR), CALL)).toEqual({ kind: 'error', code: 'processing-error' });
    expect(fake.server.requests.length - before).toBe(1);
  });

  it('retries 429 and 5xx with the same idempotency key and charges once', async () => {
    fake.server.failNext('POST', '/v1/payment_intents', 429, 500, 503);
    const s = await h.session();
    const before = fake.server.received('POST', '/v1/payment_intents').length;
    const result = await h.authoriser({ maxRetries: 3 }).authorise(s, card(VISA), CALL);
    expect(result.kind).toBe('approved');
    const sent = fake.server.received('POST', '/v1/payment_intents').slice(before);
    expect(sent).toHaveLength(4);
    expect(new Set(sent.map((r) => r.headers['idempotency-key']))).toEqual(new Set([(await h.store.getSession(s.id))!.idempotencyKey]));
    const sessionKey = (await h.store.getSession(s.id))!.idempotencyKey;
    expect([...fake.paymentIntents.values()].filter((pi) => (pi.metadata as Record<string, string>).idempotency_key === sessionKey)).toHaveLength(1);
  });

  it('a PSP still failing after the retries leaves the payment in doubt; Stripe never saw it, so reconciling settles it as not charged', async () => {
    fake.server.failNext('POST', '/v1/payment_intents', 500, 502, 503);
    const s = await h.session();
    expect(await h.authoriser({ maxRetries: 2 }).authorise(s, card(VISA), CALL)).toEqual({ kind: 'in-doubt' });
    await h.reconciler().reconcileOnce();
    expect((await h.store.getSession(s.id))!.status).toBe('error');
    expect(await h.store.getAuthorisation((await h.store.getSession(s.id))!.idempotencyKey!)).toMatchObject({ state: 'error', detail: 'not-found-at-psp' });
  });

  it('an answer that never comes leaves the payment in doubt, then the search by idempotency key reconciles it to the charge', async () => {
    const s = await h.session();
    expect(await h.authoriser({ timeoutMs: 400, maxRetries: 0 }).authorise(s, card(NO_ANSWER), CALL)).toEqual({ kind: 'in-doubt' });
    expect((await h.store.getSession(s.id))!.status).toBe('in_doubt');
    await h.reconciler().reconcileOnce();
    const sessionKey = (await h.store.getSession(s.id))!.idempotencyKey;
    const charged = [...fake.paymentIntents.values()].find((pi) => (pi.metadata as Record<string, string>).idempotency_key === sessionKey);
    expect(await h.store.getSession(s.id)).toMatchObject({ status: 'approved', pspReference: charged!.id });
    expect(fake.server.received('GET', '/v1/payment_intents/search').at(-1)!.query).toContain('idempotency_key');
  });

  it('a search that finds nothing is not final while Stripe may still be indexing', async () => {
    const young = new StripePsp({ secretKey: fake.secretKey, apiBase: base });
    expect(await young.lookup('idem_never_sent', { requestedAt: new Date() })).toEqual({ kind: 'error', code: 'not-yet-searchable', retryable: true });
    expect(await young.lookup('idem_never_sent', { requestedAt: new Date(Date.now() - 600_000) })).toEqual({ kind: 'not-found' });
  });

  it('tokenises: a Customer, setup_future_usage=off_session, and the PaymentMethod kept as the token', async () => {
    const s = await h.session(4250, { tokenise: true, customerReference: 'cust-77' });
    const result = await h.authoriser().authorise(s, card(VISA), CALL);
    expect(result.kind).toBe('approved');
    const customer = parseForm(fake.server.received('POST', '/v1/customers').at(-1)!.body);
    expect(customer).toMatchObject({ metadata: { customer_reference: 'cust-77' } });
    expect(parseForm(fake.server.received('POST', '/v1/payment_intents').at(-1)!.body)).toMatchObject({ setup_future_usage: 'off_session', customer: expect.stringMatching(/^cus_/) });
    expect(await h.records.getToken(s.id)).toMatchObject({ psp: 'stripe', token: expect.stringMatching(/^pm_/), customer: expect.stringMatching(/^cus_/), cardBrand: 'visa', cardLast4: '4242' });
  });

  it('charges a stored card: the saved PaymentMethod with its Customer, off_session and confirm, no card data, once per key; in doubt when Stripe fails', async () => {
    const first = await h.session(4250, { tokenise: true, customerReference: 'cust-mit' });
    await h.authoriser().authorise(first, card(VISA), CALL);
    const token = (await h.records.getToken(first.id))!;
    const s = await h.storedCardCharge(token, 1200);
    const result = await h.authoriser().chargeStoredCard(s, token, SUPERVISOR);
    expect(result).toMatchObject({ kind: 'approved', pspReference: expect.stringMatching(/^pi_/) });
    const sent = fake.server.received('POST', '/v1/payment_intents').at(-1)!;
    expect(parseForm(sent.body)).toEqual({
      amount: '1200',
      currency: 'eur',
      customer: token.customer,
      payment_method: token.token,
      off_session: 'true',
      confirm: 'true',
      capture_method: 'automatic',
      metadata: { reference: 'INV-MIT', idempotency_key: s.idempotencyKey },
      expand: ['latest_charge'],
    });
    expect(sent.headers['idempotency-key']).toBe(s.idempotencyKey);
    expect(findCardDataInText(sent.body, ALL_CARDS)).toEqual([]);
    expect(await h.store.getSession(s.id)).toMatchObject({ status: 'approved', mode: 'merchant-initiated', cardBrand: 'visa', cardLast4: '4242', confirmation: expect.any(String) });
    expect((await h.audit.list({ sessionId: s.id })).map((e) => `${e.action}:${e.actor.kind}`)).toEqual(['authorisation-requested:supervisor', 'authorisation-approved:system']);
    // Asked again: the recorded answer, nothing sent.
    const sentSoFar = fake.server.received('POST', '/v1/payment_intents').length;
    expect((await h.authoriser().chargeStoredCard((await h.store.getSession(s.id))!, token, SUPERVISOR)).kind).toBe('approved');
    expect(fake.server.received('POST', '/v1/payment_intents')).toHaveLength(sentSoFar);

    // Another Customer's PaymentMethod: Stripe refuses, nothing is charged.
    const foreign = await h.storedCardCharge({ ...token, customer: [...fake.customers.keys()].find((c) => c !== token.customer)! });
    expect(await h.authoriser().chargeStoredCard(foreign, { ...token, customer: foreign.customerReference! }, SUPERVISOR)).toMatchObject({ kind: 'error' });

    // Stripe failing past the retries: in doubt, reconciled by the key like any authorisation.
    fake.server.failNext('POST', '/v1/payment_intents', 500, 502, 503);
    const doubt = await h.storedCardCharge(token, 700);
    expect(await h.authoriser({ maxRetries: 2 }).chargeStoredCard(doubt, token, SUPERVISOR)).toEqual({ kind: 'in-doubt' });
    await h.reconciler().reconcileOnce();
    expect((await h.store.getSession(doubt.id))!.status).toBe('error');
  });

  it('a store-only session (amount 0) confirms a SetupIntent, charging nothing', async () => {
    const s = await h.session(0);
    const result = await h.authoriser().authorise(s, card(VISA), CALL);
    expect(result).toMatchObject({ kind: 'approved', pspReference: expect.stringMatching(/^seti_/) });
    expect(parseForm(fake.server.received('POST', '/v1/setup_intents').at(-1)!.body)).toMatchObject({
      usage: 'off_session',
      payment_method_options: { card: { moto: 'true' } },
      payment_method_data: { type: 'card' },
    });
    expect(await h.records.getToken(s.id)).toMatchObject({ token: expect.stringMatching(/^pm_/) });
  });

  it('refunds in parts up to the amount, then refuses; voids an uncaptured authorisation; audits each', async () => {
    const s = await h.session(1000);
    await h.authoriser().authorise(s, card(VISA), CALL);
    const reversals = h.reversals();
    expect(await reversals.reverse(s.id, { kind: 'refund', amountMinor: 400 }, SUPERVISOR)).toMatchObject({ state: 'succeeded', pspReference: expect.stringMatching(/^re_/) });
    expect(parseForm(fake.server.received('POST', '/v1/refunds').at(-1)!.body)).toMatchObject({ payment_intent: (await h.store.getSession(s.id))!.pspReference, amount: '400' });
    await expect(reversals.reverse(s.id, { kind: 'refund', amountMinor: 601 }, SUPERVISOR)).rejects.toMatchObject({ code: 'amount-too-large' });
    expect(await reversals.reverse(s.id, { kind: 'refund' }, SUPERVISOR)).toMatchObject({ state: 'succeeded', amountMinor: 600 });
    const actions = (await h.audit.list({ sessionId: s.id })).map((e) => `${e.action}:${e.actor.kind}`);
    expect(actions).toEqual(expect.arrayContaining(['refund-requested:supervisor', 'refund-succeeded:system']));

    h.use(stripe({ capture: 'manual' }));
    const held = await h.session(2000);
    await h.authoriser().authorise(held, card(VISA), CALL);
    expect(fake.paymentIntents.get((await h.store.getSession(held.id))!.pspReference!)!.status).toBe('requires_capture');
    expect(await h.reversals().reverse(held.id, { kind: 'void' }, SUPERVISOR)).toMatchObject({ state: 'succeeded' });
    expect(fake.paymentIntents.get((await h.store.getSession(held.id))!.pspReference!)!.status).toBe('canceled');
    h.use(stripe());
  });

  it('captures a manual authorisation in part with amount_to_capture, once; refunds only what was captured; refuses a void after it', async () => {
    h.use(stripe({ capture: 'manual' }));
    const manual = h.reversals({ capture: 'manual' });
    const s = await h.session(4250);
    await h.authoriser().authorise(s, card(VISA), CALL);
    const intent = (await h.store.getSession(s.id))!.pspReference!;
    expect(await manual.capturable((await h.store.getSession(s.id))!)).toBe(4250);
    await expect(manual.reverse(s.id, { kind: 'refund' }, SUPERVISOR)).rejects.toMatchObject({ code: 'not-captured' });
    await expect(manual.capture(s.id, { amountMinor: 5000 }, SUPERVISOR)).rejects.toMatchObject({ code: 'amount-too-large' });

    const captured = await manual.capture(s.id, { amountMinor: 3000 }, SUPERVISOR);
    expect(captured).toMatchObject({ kind: 'capture', state: 'succeeded', amountMinor: 3000, pspReference: intent });
    const sent = fake.server.received('POST', `/v1/payment_intents/${intent}/capture`);
    expect(sent).toHaveLength(1);
    expect(parseForm(sent[0]!.body)).toEqual({ amount_to_capture: '3000' });
    expect(sent[0]!.headers['idempotency-key']).toBe(captured.idempotencyKey);
    expect(fake.paymentIntents.get(intent)).toMatchObject({ status: 'succeeded', amount_received: 3000, amount_capturable: 0 });
    // The same capture asked again: the one made, nothing sent; another amount is refused.
    expect((await manual.capture(s.id, { amountMinor: 3000 }, SUPERVISOR)).idempotencyKey).toBe(captured.idempotencyKey);
    expect(fake.server.received('POST', `/v1/payment_intents/${intent}/capture`)).toHaveLength(1);
    await expect(manual.capture(s.id, {}, SUPERVISOR)).rejects.toMatchObject({ code: 'already-captured' });
    await expect(manual.reverse(s.id, { kind: 'void' }, SUPERVISOR)).rejects.toMatchObject({ code: 'already-captured' });
    expect(await manual.refundable((await h.store.getSession(s.id))!)).toBe(3000);
    expect(await manual.reverse(s.id, { kind: 'refund', amountMinor: 1000 }, SUPERVISOR)).toMatchObject({ state: 'succeeded' });
    await expect(manual.reverse(s.id, { kind: 'refund', amountMinor: 2001 }, SUPERVISOR)).rejects.toMatchObject({ code: 'amount-too-large' });
    expect((await h.audit.list({ sessionId: s.id })).map((e) => `${e.action}:${e.actor.kind}`)).toEqual(
      expect.arrayContaining(['capture-requested:supervisor', 'capture-succeeded:system', 'refund-requested:supervisor']),
    );
    // With automatic capture there is nothing to capture.
    h.use(stripe());
    const auto = await h.session(100);
    await h.authoriser().authorise(auto, card(VISA), CALL);
    await expect(h.reversals().capture(auto.id, {}, SUPERVISOR)).rejects.toMatchObject({ code: 'capture-not-manual' });
    // Stripe itself refuses a capture of a captured PaymentIntent: recorded as refused.
    expect(await h.reversals({ capture: 'manual' }).capture(auto.id, {}, SUPERVISOR)).toMatchObject({ state: 'refused', detail: 'payment_intent_unexpected_state' });
  });

  it('a void of a captured payment is refused by Stripe and recorded so', async () => {
    const s = await h.session(1500);
    await h.authoriser().authorise(s, card(VISA), CALL);
    expect(await h.reversals().reverse(s.id, { kind: 'void' }, SUPERVISOR)).toMatchObject({ state: 'refused', detail: 'payment_intent_unexpected_state' });
  });

  it('the local API refuses what Stripe would: an unknown parameter, a missing one, a bad key', async () => {
    const post = (body: string, key = fake.secretKey) =>
      fetch(`${base}/v1/payment_intents`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/x-www-form-urlencoded' }, body });
    const unknown = await post('amount=100&currency=eur&confirm=true&colour=blue');
    expect(unknown.status).toBe(400);
    expect(await unknown.json()).toMatchObject({ error: { code: 'parameter_unknown', param: 'colour' } });
    const missing = await post('currency=eur&confirm=true');
    expect(await missing.json()).toMatchObject({ error: { code: 'parameter_missing', param: 'amount' } });
    expect((await post('amount=1', 'sk_test_wrong')).status).toBe(401);
  });

  it('checks its credentials (for /readyz)', async () => {
    expect(await stripe().checkCredentials()).toBe(true);
    expect(await stripe({ secretKey: 'sk_test_wrong' }).checkCredentials()).toBe(false);
  });

  it('left no card number anywhere but the bodies of the authorisation requests', async () => {
    const carrying = (path: string) => path === '/v1/payment_intents' || path === '/v1/setup_intents';
    const elsewhere = fake.server.requests.flatMap((r) => [r.path, r.query, JSON.stringify(r.headers), ...(r.method === 'POST' && carrying(r.path) ? [] : [r.body])]);
    expect(findCardDataInText(elsewhere.join('\n'), ALL_CARDS)).toEqual([]);
    const stored = [...(await h.audit.list({})).map((e) => JSON.stringify(e)), ...(await h.store.listAuthorisations({})).map((a) => JSON.stringify(a))];
    expect(findCardDataInText(stored.join('\n'), ALL_CARDS)).toEqual([]);
    expect(findCardDataInFiles(h.dir, ALL_CARDS)).toEqual([]);
  });
});
