import { createHmac } from 'node:crypto';
import { z } from 'zod';
import { randomId, type FakeAnswer, type ReceivedRequest } from './fake-psp-server.js';
import { error, validated } from './fake-stripe.js';

/**
 * Stripe Checkout Sessions for the fake Stripe (payment links), with the
 * shapes of Stripe's API reference and every parameter checked strictly
 * (form-encoded, Bearer secret key: fake-stripe.ts checks both first):
 *
 * - POST /v1/checkout/sessions — docs.stripe.com/api/checkout/sessions/create:
 *   `mode=payment` needs `line_items`; each `price_data` has a lower-case
 *   `currency`, an integer `unit_amount` and `product_data.name`; `expires_at`
 *   is 30 minutes to 24 hours from now, as Stripe requires
 * - GET  /v1/checkout/sessions/:id — docs.stripe.com/api/checkout/sessions/retrieve
 * - POST /v1/checkout/sessions/:id/expire — docs.stripe.com/api/checkout/sessions/expire
 *   (only an `open` session; another is a 400)
 *
 * What the customer does on the page is the test's: `pay(id)` completes the
 * session and `runOut(id)` expires it at its time; each sends the
 * `checkout.session.completed` / `checkout.session.expired` event to
 * `webhookUrl`, signed with `webhookSecret` as docs.stripe.com/webhooks
 * describes (Stripe-Signature `t=…,v1=` HMAC-SHA256 of `t.payload`),
 * independently of the system's verifier.
 */
export class FakeStripeCheckout {
  readonly sessions = new Map<string, Record<string, unknown>>();
  /** Events sent, and the status our endpoint answered. */
  readonly webhooks: { type: string; status: number }[] = [];
  webhookUrl: string | undefined;
  webhookSecret = 'whsec_fake_local_0123456789abcdef';
  /** The clock `expires_at` is checked against (seconds). */
  now: () => number = () => Math.floor(Date.now() / 1000);
  readonly #pending = new Set<Promise<void>>();

  /** The answer for a Checkout route, or undefined when the request is for another resource. */
  route(request: ReceivedRequest, form: Record<string, unknown>): FakeAnswer | undefined {
    if (!request.path.startsWith('/v1/checkout/sessions')) return undefined;
    if (request.method === 'POST' && request.path === '/v1/checkout/sessions') return validated(sessionCreate, form, (p) => this.#create(p));
    const expire = /^\/v1\/checkout\/sessions\/(cs_[A-Za-z0-9_]+)\/expire$/.exec(request.path);
    if (request.method === 'POST' && expire) return validated(expireParams, form, () => this.#expire(expire[1]!));
    const get = /^\/v1\/checkout\/sessions\/(cs_[A-Za-z0-9_]+)$/.exec(request.path);
    if (request.method === 'GET' && get) {
      const session = this.sessions.get(get[1]!);
      return session ? { status: 200, body: session } : missing(get[1]!);
    }
    return error(404, 'invalid_request_error', { message: `Unrecognized request URL (${request.method}: ${request.path}).` });
  }

  /** The customer pays on the page: the session completes and the signed `checkout.session.completed` goes out. */
  pay(id: string): void {
    const session = this.sessions.get(id);
    if (session?.status !== 'open') throw new Error(`fake Stripe: checkout session ${id} is not open`);
    Object.assign(session, { status: 'complete', payment_status: 'paid', payment_intent: `pi_${randomId(24)}` });
    this.#send('checkout.session.completed', session);
  }

  /** The session reaches its `expires_at` unpaid: Stripe expires it and sends `checkout.session.expired`. */
  runOut(id: string): void {
    const session = this.sessions.get(id);
    if (session?.status !== 'open') throw new Error(`fake Stripe: checkout session ${id} is not open`);
    session.status = 'expired';
    this.#send('checkout.session.expired', session);
  }

  /** Sends `body` signed with another secret (a forged webhook); resolves with our endpoint's status. */
  async sendForged(type: string, id: string): Promise<number> {
    const session = { ...this.sessions.get(id), status: 'complete', payment_status: 'paid', payment_intent: `pi_${randomId(24)}` };
    return this.#deliver(this.#event(type, session), 'whsec_not_the_endpoints_secret_00000');
  }

  async settled(): Promise<void> {
    await Promise.all([...this.#pending]);
  }

  #create(p: z.output<typeof sessionCreate>): FakeAnswer {
    const now = this.now();
    const expiresAt = p.expires_at !== undefined ? Number(p.expires_at) : now + 24 * 3600;
    if (expiresAt < now + 30 * 60 || expiresAt > now + 24 * 3600) {
      return error(400, 'invalid_request_error', { code: 'parameter_invalid', param: 'expires_at', message: 'The `expires_at` timestamp must be between 30 minutes and 24 hours from Checkout Session creation.' });
    }
    if (p.mode === 'payment' && !p.line_items) {
      return error(400, 'invalid_request_error', { code: 'parameter_missing', param: 'line_items', message: 'You must specify `line_items` in `payment` mode.' });
    }
    const items = p.line_items ?? [];
    const currencies = new Set(items.map((i) => i.price_data.currency));
    if (currencies.size > 1) return error(400, 'invalid_request_error', { code: 'parameter_invalid', param: 'line_items', message: 'All line items must have the same currency.' });
    const id = `cs_test_${randomId(58)}`;
    const session: Record<string, unknown> = {
      id,
      object: 'checkout.session',
      mode: p.mode,
      status: 'open',
      payment_status: 'unpaid',
      url: `https://checkout.stripe.com/c/pay/${id}`,
      amount_total: items.reduce((sum, i) => sum + Number(i.price_data.unit_amount) * Number(i.quantity), 0),
      currency: [...currencies][0] ?? null,
      client_reference_id: p.client_reference_id ?? null,
      metadata: p.metadata ?? {},
      locale: p.locale ?? null,
      expires_at: expiresAt,
      created: now,
      payment_intent: null,
      livemode: false,
    };
    this.sessions.set(id, session);
    return { status: 200, body: session };
  }

  #expire(id: string): FakeAnswer {
    const session = this.sessions.get(id);
    if (!session) return missing(id);
    if (session.status !== 'open') {
      return error(400, 'invalid_request_error', { message: `Only Checkout Sessions with a status in ["open"] can be expired. This Checkout Session has a status of "${String(session.status)}".` });
    }
    session.status = 'expired';
    return { status: 200, body: session };
  }

  #event(type: string, object: Record<string, unknown>): string {
    return JSON.stringify({ id: `evt_${randomId(24)}`, object: 'event', api_version: '2025-01-27.acacia', created: this.now(), type, livemode: false, pending_webhooks: 1, request: { id: null, idempotency_key: null }, data: { object } });
  }

  #send(type: string, session: Record<string, unknown>): void {
    const delivery = this.#deliver(this.#event(type, { ...session }), this.webhookSecret)
      .then((status) => void this.webhooks.push({ type, status }))
      .finally(() => this.#pending.delete(delivery));
    this.#pending.add(delivery);
  }

  async #deliver(payload: string, secret: string): Promise<number> {
    const url = this.webhookUrl;
    if (!url) return 0;
    const t = this.now();
    const v1 = createHmac('sha256', secret).update(`${t}.${payload}`, 'utf8').digest('hex');
    try {
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'stripe-signature': `t=${t},v1=${v1}` }, body: payload });
      await res.text();
      return res.status;
    } catch {
      return 0;
    }
  }
}

const digits = z.string().regex(/^\d+$/, 'an integer');
const metadata = z.record(z.string().max(40), z.string().max(500)).optional();

const lineItem = z
  .object({
    quantity: digits.refine((q) => Number(q) >= 1, 'at least 1'),
    price_data: z
      .object({
        currency: z.string().regex(/^[a-z]{3}$/, 'a lower-case ISO currency code'),
        unit_amount: digits,
        product_data: z.object({ name: z.string().min(1), description: z.string().optional() }).strict(),
      })
      .strict(),
  })
  .strict();

const sessionCreate = z
  .object({
    mode: z.enum(['payment', 'setup', 'subscription']),
    line_items: z.array(lineItem).min(1).optional(),
    client_reference_id: z.string().max(200).optional(),
    metadata,
    payment_intent_data: z.object({ metadata, description: z.string().optional() }).strict().optional(),
    expires_at: digits.optional(),
    locale: z.enum(['auto', 'en', 'en-GB', 'fr', 'fr-CA', 'de', 'es', 'it', 'nl']).optional(),
    success_url: z.url().optional(),
    cancel_url: z.url().optional(),
    customer_email: z.string().optional(),
  })
  .strict();

const expireParams = z.object({ expand: z.array(z.string()).optional() }).strict();

function missing(id: string): FakeAnswer {
  return error(404, 'invalid_request_error', { code: 'resource_missing', param: 'session', message: `No such checkout.session: '${id}'` });
}
