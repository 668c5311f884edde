import Stripe from 'stripe';
import { raceAbort } from './psp-errors.js';
import { createStripeClient, type StripeClientOptions } from './stripe-client.js';
import {
  PaymentLinkError,
  type CreatedPaymentLink,
  type PaymentLinkCallOptions,
  type PaymentLinkOutcome,
  type PaymentLinkProvider,
  type PaymentLinkRequest,
} from './payment-link-port.js';
import { stripeDeclineReason } from './stripe-psp.js';

export interface StripePaymentLinksOptions extends StripeClientOptions {
  /** The endpoint's signing secret (`whsec_…`) that signs the Checkout webhooks. Never logged. */
  readonly webhookSecret: string;
  /** How old a signed event may be (Stripe's default tolerance). Default 300 s. */
  readonly webhookToleranceSeconds?: number;
}

/** A Stripe webhook whose Stripe-Signature does not verify, or that is not JSON. */
export class StripeWebhookError extends Error {
  override readonly name = 'StripeWebhookError';
  constructor(readonly reason: 'bad-signature' | 'malformed') {
    super(`Stripe webhook refused: ${reason}`);
  }
}

/** Checkout Session locales (docs.stripe.com/api/checkout/sessions/create#create_checkout_session-locale) for our languages. */
const LOCALES: Readonly<Record<string, Stripe.Checkout.SessionCreateParams.Locale>> = { 'fr-FR': 'fr', 'en-GB': 'en-GB' };

/**
 * Payment links on Stripe Checkout (docs.stripe.com/api/checkout/sessions),
 * with the official client:
 *
 * - create: POST /v1/checkout/sessions, `mode=payment`, one line item with
 *   `price_data` in the session's currency and amount, `client_reference_id`
 *   and `metadata` carrying our session and link ids, `expires_at` (Stripe
 *   takes 30 minutes to 24 hours from now), our link id as `Idempotency-Key`.
 * - expire: POST /v1/checkout/sessions/:id/expire; Stripe refuses one no
 *   longer open, and the session then says whether it was paid (`complete`).
 * - outcomes: the `checkout.session.completed` (paid), `…async_payment_failed`
 *   and `…expired` webhooks, their Stripe-Signature verified by the client's
 *   `webhooks.constructEvent` (docs.stripe.com/webhooks#verify-events).
 */
export class StripePaymentLinks implements PaymentLinkProvider {
  readonly name = 'stripe';
  readonly #stripe: Stripe;
  readonly #webhookSecret: string;
  readonly #toleranceSeconds: number;

  constructor(options: StripePaymentLinksOptions) {
    this.#stripe = createStripeClient(options);
    this.#webhookSecret = options.webhookSecret;
    this.#toleranceSeconds = options.webhookToleranceSeconds ?? 300;
  }

  async create(request: PaymentLinkRequest, options: PaymentLinkCallOptions = {}): Promise<CreatedPaymentLink> {
    const metadata = { session_id: request.sessionId, link_id: request.linkId, reference: request.reference };
    const locale = LOCALES[request.language];
    const params: Stripe.Checkout.SessionCreateParams = {
      mode: 'payment',
      line_items: [
        {
          quantity: 1,
          price_data: {
            currency: request.currency.toLowerCase(),
            unit_amount: request.amountMinor,
            product_data: { name: request.description || request.reference },
          },
        },
      ],
      client_reference_id: request.sessionId,
      metadata,
      payment_intent_data: { metadata },
      expires_at: Math.floor(request.expiresAt.getTime() / 1000),
      ...(locale ? { locale } : {}),
    };
    const session = await this.#call(options.signal, () => this.#stripe.checkout.sessions.create(params, { idempotencyKey: request.linkId }));
    if (!session.url) throw new PaymentLinkError('no-url', false);
    return { providerLinkId: session.id, url: session.url, expiresAt: new Date(session.expires_at * 1000) };
  }

  async expire(providerLinkId: string, options: PaymentLinkCallOptions = {}): Promise<'expired' | 'paid'> {
    try {
      const session = await this.#call(options.signal, () => this.#stripe.checkout.sessions.expire(providerLinkId));
      return session.status === 'complete' ? 'paid' : 'expired';
    } catch (err) {
      if (!(err instanceof PaymentLinkError) || err.retryable) throw err;
      // "Only Checkout Sessions with a status of open can be expired": read what it became.
      const session = await this.#call(options.signal, () => this.#stripe.checkout.sessions.retrieve(providerLinkId));
      if (session.status === 'complete') return 'paid';
      if (session.status === 'expired') return 'expired';
      throw err;
    }
  }

  /**
   * The outcome a Checkout webhook reports, its signature verified first;
   * undefined for an event that says nothing of a link (another type, or a
   * completed session not yet paid).
   * @throws StripeWebhookError
   */
  outcomeOf(rawBody: Buffer, signature: string | undefined): PaymentLinkOutcome | undefined {
    let event: Stripe.Event;
    try {
      event = this.#stripe.webhooks.constructEvent(rawBody, signature ?? '', this.#webhookSecret, this.#toleranceSeconds);
    } catch (err) {
      throw new StripeWebhookError(err instanceof Stripe.errors.StripeSignatureVerificationError ? 'bad-signature' : 'malformed');
    }
    const base = { provider: this.name } as const;
    switch (event.type) {
      case 'checkout.session.completed':
      case 'checkout.session.async_payment_succeeded': {
        const session = event.data.object;
        if (session.payment_status !== 'paid') return undefined;
        const intent = typeof session.payment_intent === 'string' ? session.payment_intent : session.payment_intent?.id;
        return { ...base, kind: 'paid', providerLinkId: session.id, pspReference: intent ?? session.id };
      }
      case 'checkout.session.async_payment_failed':
        return { ...base, kind: 'declined', providerLinkId: event.data.object.id, reason: stripeDeclineReason(undefined) };
      case 'checkout.session.expired':
        return { ...base, kind: 'expired', providerLinkId: event.data.object.id };
      default:
        return undefined;
    }
  }

  /** Runs a call: a Stripe error becomes a PaymentLinkError (retryable for 429, 5xx and no answer). Only codes are kept. */
  async #call<T>(signal: AbortSignal | undefined, call: () => Promise<T>): Promise<T> {
    try {
      return await raceAbort(call(), signal);
    } catch (err) {
      const E = Stripe.errors;
      if (!(err instanceof E.StripeError)) throw new PaymentLinkError('no-answer', true);
      if (err instanceof E.StripeConnectionError) throw new PaymentLinkError('no-answer', true);
      if (err instanceof E.StripeRateLimitError) throw new PaymentLinkError('rate-limited', true);
      if (err instanceof E.StripeAuthenticationError || err instanceof E.StripePermissionError) throw new PaymentLinkError('psp-authentication', false);
      if ((err.statusCode ?? 0) >= 500) throw new PaymentLinkError(`http-${err.statusCode}`, true);
      throw new PaymentLinkError(`invalid-request${err.code ? `:${err.code}` : ''}`, false);
    }
  }
}
