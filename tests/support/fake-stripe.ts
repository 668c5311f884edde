import { createHash, randomInt } from 'node:crypto';
import { z } from 'zod';
import { FakePspServer, firstIssue, randomId, type FakeAnswer, type ReceivedRequest } from './fake-psp-server.js';
import { FakeStripeCheckout } from './fake-stripe-checkout.js';

/**
 * A local Stripe API for tests: the endpoints the Stripe adapter uses, with
 * the request and response shapes of Stripe's API reference, and every
 * request body validated strictly (an unknown or missing parameter is a 400
 * `parameter_unknown` / `parameter_missing`, as Stripe answers):
 *
 * - POST /v1/customers — docs.stripe.com/api/customers/create
 * - GET  /v1/customers/search — docs.stripe.com/api/customers/search
 * - POST /v1/payment_intents — docs.stripe.com/api/payment_intents/create: MOTO with the
 *   raw card (`payment_method_data`, `payment_method_options.card.moto`), or a
 *   merchant-initiated charge on a saved PaymentMethod (`payment_method` with its
 *   `customer`, `off_session`, which Stripe takes only with `confirm=true`)
 * - GET  /v1/payment_intents/search — docs.stripe.com/api/payment_intents/search
 * - POST /v1/payment_intents/:id/cancel — docs.stripe.com/api/payment_intents/cancel
 * - POST /v1/payment_intents/:id/capture — docs.stripe.com/api/payment_intents/capture
 *   (`amount_to_capture` at most `amount_capturable`; the rest is released)
 * - POST /v1/setup_intents — docs.stripe.com/api/setup_intents/create
 * - GET  /v1/setup_intents — docs.stripe.com/api/setup_intents/list
 * - POST /v1/refunds — docs.stripe.com/api/refunds/create
 * - GET  /v1/balance — docs.stripe.com/api/balance/balance_retrieve
 * - Checkout Sessions (payment links): fake-stripe-checkout.ts
 *
 * Errors: docs.stripe.com/api/errors (402 card_error with decline_code,
 * 400 invalid_request_error, 401 for a bad key). Idempotency:
 * docs.stripe.com/api/idempotent_requests — the first answer of a key is
 * replayed (`Idempotent-Replayed: true`), the same key with other
 * parameters is a 400 idempotency_error; injected faults happen before
 * execution and are not saved, like Stripe's own 429s.
 *
 * Test cards (docs.stripe.com/testing), as the sandbox PSP maps them:
 * 4000000000000002 generic_decline, 4000000000009995 insufficient_funds,
 * 4000000000000069 expired_card, 4000000000000127 incorrect_cvc,
 * 4000000000009987 lost_card, 4000000000009979 stolen_card,
 * 4000000000000119 processing_error; 4000000000000341 is charged but its
 * answer never comes (the sandbox's no-answer card). Any other number approves.
 */
export class FakeStripe {
  readonly server: FakePspServer;
  readonly customers = new Map<string, Record<string, unknown>>();
  readonly paymentIntents = new Map<string, Record<string, unknown>>();
  readonly setupIntents = new Map<string, Record<string, unknown>>();
  readonly refunds = new Map<string, Record<string, unknown>>();
  /** PaymentMethods saved to a Customer (setup_future_usage, SetupIntents): what charging one again needs, never the number. */
  readonly paymentMethods = new Map<string, SavedCard>();
  readonly #idempotent = new Map<string, { fingerprint: string; answer: Exclude<FakeAnswer, 'hold'> }>();
  /** Checkout Sessions (payment links) and their signed webhooks. */
  readonly checkout = new FakeStripeCheckout();

  constructor(readonly secretKey = 'sk_test_fake_local_0123456789') {
    this.server = new FakePspServer((request) => this.#handle(request));
  }

  start(): Promise<string> {
    return this.server.start();
  }

  async close(): Promise<void> {
    await this.checkout.settled();
    await this.server.close();
  }

  #handle(request: ReceivedRequest): FakeAnswer {
    if (request.headers.authorization !== `Bearer ${this.secretKey}`) {
      return error(401, 'invalid_request_error', { message: 'Invalid API Key provided' });
    }
    const route = `${request.method} ${request.path.replace(/\/(pi|seti)_[A-Za-z0-9]+\//, '/:id/')}`;
    const key = request.headers['idempotency-key'];
    if (request.method === 'POST' && key) {
      const fingerprint = createHash('sha256').update(`${route}\n${request.body}`).digest('hex');
      const saved = this.#idempotent.get(key);
      if (saved) {
        if (saved.fingerprint !== fingerprint) {
          return error(400, 'idempotency_error', {
            message: 'Keys for idempotent requests can only be used with the same parameters they were first used with.',
          });
        }
        return { ...saved.answer, headers: { ...saved.answer.headers, 'idempotent-replayed': 'true' } };
      }
      const answer = this.#route(route, request);
      // Stripe saves the result once the endpoint has started executing, 402s included; not a validation 400.
      const concrete = answer === 'hold' ? this.#lastHeldAnswer : answer;
      if (concrete && concrete.status !== 400 && concrete.status !== 401) this.#idempotent.set(key, { fingerprint, answer: concrete });
      return answer;
    }
    return this.#route(route, request);
  }

  /** What a held request would have answered: replayed to a retry with the same key. */
  #lastHeldAnswer: Exclude<FakeAnswer, 'hold'> | undefined;

  #route(route: string, request: ReceivedRequest): FakeAnswer {
    const form = request.method === 'GET' ? parseForm(request.query) : parseForm(request.body);
    const checkout = this.checkout.route(request, form);
    if (checkout) return checkout;
    switch (route) {
      case 'GET /v1/balance':
        return validated(z.object({}).strict(), form, () => ({
          status: 200,
          body: { object: 'balance', livemode: false, available: [{ amount: 0, currency: 'eur', source_types: { card: 0 } }], pending: [] },
        }));
      case 'POST /v1/customers':
        return validated(customerCreate, form, (p) => {
          const customer = { id: `cus_${randomId(14)}`, object: 'customer', created: now(), livemode: false, description: p.description ?? null, metadata: p.metadata ?? {} };
          this.customers.set(customer.id, customer);
          return { status: 200, body: customer };
        });
      case 'GET /v1/customers/search':
        return validated(searchQuery, form, (p) => searchResult('/v1/customers/search', [...this.customers.values()], p.query));
      case 'POST /v1/payment_intents':
        return 'payment_method' in form
          ? validated(offSessionPaymentIntentCreate, form, (p) => this.#chargeSavedCard(p))
          : validated(paymentIntentCreate, form, (p) => this.#createPaymentIntent(p));
      case 'GET /v1/payment_intents/search':
        return validated(searchQuery, form, (p) =>
          searchResult('/v1/payment_intents/search', [...this.paymentIntents.values()].map((i) => expandCharge(i, p.expand, this.#charges)), p.query),
        );
      case 'POST /v1/payment_intents/:id/capture':
        return validated(captureParams, form, (p) => this.#capture(request.path.split('/')[3]!, p));
      case 'POST /v1/payment_intents/:id/cancel':
        return validated(cancelParams, form, () => this.#cancel(request.path.split('/')[3]!));
      case 'POST /v1/setup_intents':
        return validated(setupIntentCreate, form, (p) => this.#createSetupIntent(p));
      case 'GET /v1/setup_intents':
        return validated(z.object({ customer: z.string().regex(/^cus_/) }).strict(), form, (p) => ({
          status: 200,
          body: { object: 'list', url: '/v1/setup_intents', has_more: false, data: [...this.setupIntents.values()].filter((s) => s.customer === p.customer) },
        }));
      case 'POST /v1/refunds':
        return validated(refundCreate, form, (p) => this.#refund(p));
      default:
        return error(404, 'invalid_request_error', { message: `Unrecognized request URL (${request.method}: ${request.path}).` });
    }
  }

  #createPaymentIntent(p: z.output<typeof paymentIntentCreate>): FakeAnswer {
    if (p.customer && !this.customers.has(p.customer)) return error(400, 'invalid_request_error', { code: 'resource_missing', param: 'customer', message: `No such customer: '${p.customer}'` });
    const raw = p.payment_method_data.card;
    const card = cardView(raw);
    const behaviour = cardBehaviour(raw.number);
    const paymentMethod = `pm_${randomId(24)}`;
    const answer = this.#paymentIntent(p, { paymentMethod, card, behaviour, moto: true });
    // Saved to the Customer for later off-session payments (docs.stripe.com/payments/save-during-payment).
    if (p.customer && p.setup_future_usage && behaviour.kind !== 'decline') this.paymentMethods.set(paymentMethod, { customer: p.customer, card, behaviour });
    return answer;
  }

  #chargeSavedCard(p: z.output<typeof offSessionPaymentIntentCreate>): FakeAnswer {
    if (!this.customers.has(p.customer)) return error(400, 'invalid_request_error', { code: 'resource_missing', param: 'customer', message: `No such customer: '${p.customer}'` });
    const saved = this.paymentMethods.get(p.payment_method);
    if (!saved) return error(400, 'invalid_request_error', { code: 'resource_missing', param: 'payment_method', message: `No such PaymentMethod: '${p.payment_method}'` });
    if (saved.customer !== p.customer) {
      return error(400, 'invalid_request_error', { param: 'payment_method', message: `The provided PaymentMethod does not belong to the Customer '${p.customer}'.` });
    }
    return this.#paymentIntent(p, { paymentMethod: p.payment_method, card: saved.card, behaviour: saved.behaviour, moto: false });
  }

  #paymentIntent(
    p: {
      amount: string;
      currency: string;
      capture_method?: string | undefined;
      customer?: string | undefined;
      setup_future_usage?: string | undefined;
      metadata?: Record<string, string> | undefined;
      expand?: readonly string[] | undefined;
    },
    source: { paymentMethod: string; card: CardView; behaviour: CardBehaviour; moto: boolean },
  ): FakeAnswer {
    const { paymentMethod, card, behaviour } = source;
    const id = `pi_${randomId(24)}`;
    const amount = Number(p.amount);
    const intent: Record<string, unknown> = {
      id,
      object: 'payment_intent',
      amount,
      amount_capturable: 0,
      amount_received: 0,
      capture_method: p.capture_method ?? 'automatic_async',
      client_secret: `${id}_secret_${randomId(24)}`,
      confirmation_method: 'automatic',
      created: now(),
      currency: p.currency,
      customer: p.customer ?? null,
      description: null,
      last_payment_error: null,
      latest_charge: null,
      livemode: false,
      metadata: p.metadata ?? {},
      payment_method: paymentMethod,
      payment_method_options: { card: { ...(source.moto ? { moto: true } : {}), request_three_d_secure: 'automatic' } },
      payment_method_types: ['card'],
      setup_future_usage: p.setup_future_usage ?? null,
      status: 'requires_payment_method',
    };
    const charge = chargeOf(id, amount, p.currency, card, behaviour);
    if (behaviour.kind === 'decline') {
      const lastError = { type: 'card_error', code: behaviour.code, decline_code: behaviour.decline, charge: charge.id, message: declineMessage(behaviour.decline) };
      intent.last_payment_error = { ...lastError, payment_method: { id: paymentMethod, object: 'payment_method', type: 'card' } };
      intent.latest_charge = charge.id;
      intent.payment_method = null;
      this.paymentIntents.set(id, intent);
      return error(402, 'card_error', { ...lastError, payment_intent: intent });
    }
    const manual = p.capture_method === 'manual';
    Object.assign(intent, {
      status: manual ? 'requires_capture' : 'succeeded',
      amount_capturable: manual ? amount : 0,
      amount_received: manual ? 0 : amount,
      latest_charge: charge.id,
    });
    this.paymentIntents.set(id, intent);
    this.#charges.set(charge.id, charge);
    const answer = { status: 200, body: expandCharge(intent, p.expand, this.#charges) };
    if (behaviour.kind === 'no-answer') {
      this.#lastHeldAnswer = answer;
      return 'hold';
    }
    return answer;
  }

  readonly #charges = new Map<string, Record<string, unknown>>();

  #createSetupIntent(p: z.output<typeof setupIntentCreate>): FakeAnswer {
    if (!this.customers.has(p.customer)) return error(400, 'invalid_request_error', { code: 'resource_missing', param: 'customer', message: `No such customer: '${p.customer}'` });
    const behaviour = cardBehaviour(p.payment_method_data.card.number);
    const id = `seti_${randomId(24)}`;
    const setup: Record<string, unknown> = {
      id,
      object: 'setup_intent',
      client_secret: `${id}_secret_${randomId(24)}`,
      created: now(),
      customer: p.customer,
      last_setup_error: null,
      livemode: false,
      metadata: p.metadata ?? {},
      payment_method: `pm_${randomId(24)}`,
      payment_method_options: { card: { moto: true, request_three_d_secure: 'automatic' } },
      payment_method_types: ['card'],
      status: 'succeeded',
      usage: p.usage ?? 'off_session',
    };
    if (behaviour.kind === 'decline') {
      const lastError = { type: 'card_error', code: behaviour.code, decline_code: behaviour.decline, message: declineMessage(behaviour.decline) };
      Object.assign(setup, { status: 'requires_payment_method', last_setup_error: lastError, payment_method: null });
      this.setupIntents.set(id, setup);
      return error(402, 'card_error', { ...lastError, setup_intent: setup });
    }
    this.setupIntents.set(id, setup);
    this.paymentMethods.set(setup.payment_method as string, { customer: p.customer, card: cardView(p.payment_method_data.card), behaviour });
    return { status: 200, body: setup };
  }

  #cancel(id: string): FakeAnswer {
    const intent = this.paymentIntents.get(id);
    if (!intent) return error(404, 'invalid_request_error', { code: 'resource_missing', param: 'intent', message: `No such payment_intent: '${id}'` });
    const cancellable = ['requires_payment_method', 'requires_capture', 'requires_confirmation', 'requires_action', 'processing'];
    if (!cancellable.includes(intent.status as string)) {
      return error(400, 'invalid_request_error', {
        code: 'payment_intent_unexpected_state',
        message: `You cannot cancel this PaymentIntent because it has a status of ${intent.status as string}.`,
      });
    }
    Object.assign(intent, { status: 'canceled', cancellation_reason: 'requested_by_customer', canceled_at: now(), amount_capturable: 0 });
    return { status: 200, body: intent };
  }

  #capture(id: string, p: z.output<typeof captureParams>): FakeAnswer {
    const intent = this.paymentIntents.get(id);
    if (!intent) return error(404, 'invalid_request_error', { code: 'resource_missing', param: 'intent', message: `No such payment_intent: '${id}'` });
    if (intent.status !== 'requires_capture') {
      return error(400, 'invalid_request_error', {
        code: 'payment_intent_unexpected_state',
        message: `This PaymentIntent could not be captured because it has a status of ${intent.status as string}. Only a PaymentIntent with one of the following statuses may be captured: requires_capture.`,
      });
    }
    const capturable = intent.amount_capturable as number;
    const amount = p.amount_to_capture === undefined ? capturable : Number(p.amount_to_capture);
    if (amount > capturable) {
      return error(400, 'invalid_request_error', { code: 'amount_too_large', param: 'amount_to_capture', message: `The amount to capture (${amount}) is greater than the amount capturable (${capturable}).` });
    }
    Object.assign(intent, { status: 'succeeded', amount_received: amount, amount_capturable: 0 });
    return { status: 200, body: intent };
  }

  #refund(p: z.output<typeof refundCreate>): FakeAnswer {
    const intent = this.paymentIntents.get(p.payment_intent);
    if (!intent) return error(404, 'invalid_request_error', { code: 'resource_missing', param: 'payment_intent', message: `No such payment_intent: '${p.payment_intent}'` });
    if (intent.status !== 'succeeded') {
      return error(400, 'invalid_request_error', { code: 'charge_not_refundable', message: 'This PaymentIntent does not have a successful charge to refund.' });
    }
    const refunded = [...this.refunds.values()].filter((r) => r.payment_intent === p.payment_intent).reduce((sum, r) => sum + (r.amount as number), 0);
    const left = (intent.amount_received as number) - refunded;
    if (left === 0) return error(400, 'invalid_request_error', { code: 'charge_already_refunded', message: 'Charge has already been refunded.' });
    const amount = p.amount === undefined ? left : Number(p.amount);
    if (amount > left) return error(400, 'invalid_request_error', { code: 'amount_too_large', param: 'amount', message: `Refund amount is greater than unrefunded amount on charge (${left}).` });
    const refund = {
      id: `re_${randomId(24)}`,
      object: 'refund',
      amount,
      charge: intent.latest_charge,
      created: now(),
      currency: intent.currency,
      metadata: p.metadata ?? {},
      payment_intent: p.payment_intent,
      reason: p.reason ?? null,
      status: 'succeeded',
    };
    this.refunds.set(refund.id, refund);
    return { status: 200, body: refund };
  }
}

// --- request shapes (form-encoded, so every value is a string) ---

const digits = z.string().regex(/^\d+$/, 'an integer');
const bool = z.enum(['true', 'false']);
const metadata = z.record(z.string().max(40), z.string().max(500)).optional();
const rawCard = z
  .object({
    type: z.literal('card'),
    card: z
      .object({
        number: z.string().regex(/^\d{12,19}$/),
        exp_month: z.string().regex(/^(1[0-2]|[1-9])$/),
        exp_year: z.string().regex(/^\d{4}$/),
        cvc: z.string().regex(/^\d{3,4}$/),
      })
      .strict(),
  })
  .strict();
const motoOptions = z.object({ card: z.object({ moto: bool }).strict() }).strict();

const customerCreate = z.object({ description: z.string().optional(), metadata }).strict();

const paymentIntentCreate = z
  .object({
    amount: digits,
    currency: z.string().regex(/^[a-z]{3}$/, 'a lowercase ISO currency code'),
    confirm: bool.optional(),
    capture_method: z.enum(['automatic', 'automatic_async', 'manual']).optional(),
    allowed_payment_method_types: z.array(z.literal('card')).optional(),
    error_on_requires_action: bool.optional(),
    payment_method_data: rawCard,
    payment_method_options: motoOptions,
    customer: z.string().regex(/^cus_/).optional(),
    setup_future_usage: z.enum(['off_session', 'on_session']).optional(),
    description: z.string().optional(),
    metadata,
    expand: z.array(z.literal('latest_charge')).optional(),
  })
  .strict()
  .refine((p) => p.confirm === 'true', { path: ['confirm'], message: 'this fake confirms in the create call only' })
  .refine((p) => p.payment_method_options.card.moto === 'true', { path: ['payment_method_options', 'card', 'moto'], message: 'MOTO only' })
  .refine((p) => p.setup_future_usage === undefined || p.customer !== undefined, {
    path: ['customer'],
    message: 'setup_future_usage needs a customer to attach the payment method to',
  });

/** A merchant-initiated charge on a saved card: no card data, no MOTO flag, the Customer the PaymentMethod is attached to. */
const offSessionPaymentIntentCreate = z
  .object({
    amount: digits,
    currency: z.string().regex(/^[a-z]{3}$/, 'a lowercase ISO currency code'),
    confirm: bool,
    capture_method: z.enum(['automatic', 'automatic_async', 'manual']).optional(),
    payment_method: z.string().regex(/^pm_/),
    customer: z.string().regex(/^cus_/),
    off_session: z.enum(['true', 'false', 'one_off', 'recurring']),
    allowed_payment_method_types: z.array(z.literal('card')).optional(),
    description: z.string().optional(),
    metadata,
    expand: z.array(z.literal('latest_charge')).optional(),
  })
  .strict()
  .refine((p) => p.confirm === 'true', { path: ['off_session'], message: 'off_session can only be used with confirm=true' })
  .refine((p) => p.off_session !== 'false', { path: ['off_session'], message: 'this fake charges saved cards off-session only' });

const setupIntentCreate = z
  .object({
    confirm: bool,
    customer: z.string().regex(/^cus_/),
    usage: z.enum(['off_session', 'on_session']).optional(),
    allowed_payment_method_types: z.array(z.literal('card')).optional(),
    payment_method_data: rawCard,
    payment_method_options: motoOptions,
    metadata,
  })
  .strict();

const searchQuery = z
  .object({
    query: z.string().regex(/^metadata\['[a-z_]+'\]:'[^']*'$/, "this fake searches metadata['key']:'value' only"),
    expand: z.array(z.literal('data.latest_charge')).optional(),
    limit: digits.optional(),
  })
  .strict();

const captureParams = z.object({ amount_to_capture: digits.optional(), metadata }).strict();

const cancelParams = z.object({ cancellation_reason: z.enum(['duplicate', 'fraudulent', 'requested_by_customer', 'abandoned']).optional() }).strict();

const refundCreate = z
  .object({
    payment_intent: z.string().regex(/^pi_/),
    amount: digits.optional(),
    reason: z.enum(['duplicate', 'fraudulent', 'requested_by_customer']).optional(),
    metadata,
  })
  .strict();

// --- behaviour ---

/** A card as Stripe shows it back (brand, last four, expiry): never the number. */
interface CardView {
  readonly brand: string;
  readonly last4: string;
  readonly exp_month: string;
  readonly exp_year: string;
}

interface SavedCard {
  readonly customer: string;
  readonly card: CardView;
  readonly behaviour: CardBehaviour;
}

function cardView(card: { number: string; exp_month: string; exp_year: string }): CardView {
  const brand = card.number.startsWith('5') ? 'mastercard' : card.number.startsWith('3') ? 'amex' : 'visa';
  return { brand, last4: card.number.slice(-4), exp_month: card.exp_month, exp_year: card.exp_year };
}

type CardBehaviour = { kind: 'approve' } | { kind: 'no-answer' } | { kind: 'decline'; code: string; decline: string };

/** docs.stripe.com/testing#declined-payments, and the sandbox's no-answer card. */
const TEST_CARDS: ReadonlyMap<string, CardBehaviour> = new Map<string, CardBehaviour>([
  ['4000000000000002', { kind: 'decline', code: 'card_declined', decline: 'generic_decline' }],
  ['4000000000009995', { kind: 'decline', code: 'card_declined', decline: 'insufficient_funds' }],
  ['4000000000000069', { kind: 'decline', code: 'expired_card', decline: 'expired_card' }],
  ['4000000000000127', { kind: 'decline', code: 'incorrect_cvc', decline: 'incorrect_cvc' }],
  ['4000000000009987', { kind: 'decline', code: 'card_declined', decline: 'lost_card' }],
  ['4000000000009979', { kind: 'decline', code: 'card_declined', decline: 'stolen_card' }],
  ['4000000000000119', { kind: 'decline', code: 'processing_error', decline: 'processing_error' }],
  ['4000000000000341', { kind: 'no-answer' }],
]);

function cardBehaviour(number: string): CardBehaviour {
  return TEST_CARDS.get(number) ?? { kind: 'approve' };
}

function declineMessage(code: string): string {
  return code === 'insufficient_funds' ? 'Your card has insufficient funds.' : code === 'expired_card' ? 'Your card has expired.' : 'Your card was declined.';
}

function chargeOf(paymentIntent: string, amount: number, currency: string, card: CardView, behaviour: CardBehaviour) {
  const approved = behaviour.kind !== 'decline';
  return {
    id: `ch_${randomId(24)}`,
    object: 'charge',
    amount,
    captured: approved,
    currency,
    outcome: approved
      ? { network_status: 'approved_by_network', reason: null, type: 'authorized', seller_message: 'Payment complete.' }
      : { network_status: 'declined_by_network', reason: behaviour.decline, type: 'issuer_declined', seller_message: 'The bank did not return any further details with this decline.' },
    paid: approved,
    payment_intent: paymentIntent,
    payment_method_details: {
      type: 'card',
      card: {
        // The card's own fields as Stripe shows them: brand and last four, never the number.
        brand: card.brand,
        last4: card.last4,
        exp_month: Number(card.exp_month),
        exp_year: Number(card.exp_year),
        authorization_code: approved ? String(randomInt(100_000, 1_000_000)) : null,
        moto: true,
      },
    },
    status: approved ? 'succeeded' : 'failed',
  };
}

function expandCharge(intent: Record<string, unknown>, expand: readonly string[] | undefined, charges: Map<string, Record<string, unknown>>) {
  if (!expand?.some((e) => e === 'latest_charge' || e === 'data.latest_charge') || typeof intent.latest_charge !== 'string') return intent;
  return { ...intent, latest_charge: charges.get(intent.latest_charge) ?? intent.latest_charge };
}

function searchResult(url: string, objects: Record<string, unknown>[], query: string): FakeAnswer {
  const [, field, value] = /^metadata\['([a-z_]+)'\]:'([^']*)'$/.exec(query)!;
  const data = objects.filter((o) => (o.metadata as Record<string, string>)[field!] === value);
  return { status: 200, body: { object: 'search_result', url, has_more: false, next_page: null, data } };
}

function now(): number {
  return Math.floor(Date.now() / 1000);
}

export function error(status: number, type: string, fields: Record<string, unknown>): FakeAnswer {
  return { status, body: { error: { type, ...fields } }, headers: { 'request-id': `req_${randomId(14)}` } };
}

/** Validates a form against a strict schema; a bad one gets Stripe's 400 naming the parameter in bracket form. */
export function validated<S extends z.ZodType>(schema: S, form: unknown, then: (params: z.output<S>) => FakeAnswer): FakeAnswer {
  const parsed = schema.safeParse(form);
  if (parsed.success) return then(parsed.data);
  const issue = firstIssue(parsed.error);
  const param = [...issue.path, ...issue.keys.slice(0, 1)].map((p, i) => (i === 0 ? p : `[${p}]`)).join('');
  if (issue.code === 'unrecognized_keys') return error(400, 'invalid_request_error', { code: 'parameter_unknown', param, message: `Received unknown parameter: ${param}` });
  if (issue.code === 'invalid_type' && /received undefined/.test(issue.message)) {
    return error(400, 'invalid_request_error', { code: 'parameter_missing', param, message: `Missing required param: ${param}.` });
  }
  return error(400, 'invalid_request_error', { code: 'parameter_invalid', param, message: `Invalid ${param}: ${issue.message}` });
}

/** `a[b][c]=1&d[0]=x` → `{a: {b: {c: '1'}}, d: ['x']}`: Stripe's form encoding (docs.stripe.com/api, "form-encoded"). */
export function parseForm(encoded: string): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const [name, value] of new URLSearchParams(encoded)) {
    const parts = name.replace(/\]/g, '').split('[');
    let node: Record<string, unknown> | unknown[] = root;
    parts.forEach((part, i) => {
      const last = i === parts.length - 1;
      const nextIsIndex = !last && /^\d*$/.test(parts[i + 1]!);
      const key = Array.isArray(node) ? (part === '' ? node.length : Number(part)) : part;
      const container = node as Record<string | number, unknown>;
      if (last) container[key] = value;
      else node = (container[key] ??= nextIsIndex ? [] : {}) as Record<string, unknown> | unknown[];
    });
  }
  return root;
}
