import Stripe from 'stripe';
import type { DeclineReason } from '../domain/payment-types.js';
import type { CardData } from '../vault/card-data.js';
import { raceAbort, referenceCode } from './psp-errors.js';
import { createStripeClient } from './stripe-client.js';
import type {
  AuthorisationLookup,
  AuthorisationOutcome,
  AuthorisationRequest,
  AuthoriseOptions,
  LookupOptions,
  PaymentServiceProvider,
  ReversalOutcome,
  ReversalRequest,
  StoredCardChargeRequest,
  StoredCardToken,
} from './psp-port.js';

export interface StripePspOptions {
  /** `sk_…` or `rk_…`. Never logged. */
  readonly secretKey: string;
  /** Scheme, host and port of the API. Default `https://api.stripe.com`. */
  readonly apiBase?: string;
  /** `manual`: authorise only (`capture_method=manual`), captured or voided later. Default `auto`. */
  readonly capture?: 'auto' | 'manual';
  /** One HTTP request may take this long before the client gives up on it. Default 30 000 ms. */
  readonly requestTimeoutMs?: number;
  /**
   * Stripe's search "is not suitable for read-after-write flows": a payment
   * may take up to a minute to be found. Until an authorisation is this old, a
   * lookup that finds nothing answers a retryable error, not `not-found`. Default 120 000 ms.
   */
  readonly searchLagMs?: number;
  /** Default: the wall clock. */
  readonly now?: () => Date;
}

/**
 * The raw card on a PaymentIntent or SetupIntent. The library's typings leave
 * `payment_method_data.card` out, because sending raw card numbers needs
 * Stripe to enable it for the account (PCI DSS SAQ D); the API takes it as it
 * takes `card` on POST /v1/payment_methods. A MOTO integration has that access.
 */
interface RawCardData {
  readonly payment_method_data: {
    readonly type: 'card';
    readonly card: { readonly number: string; readonly exp_month: number; readonly exp_year: number; readonly cvc: string };
  };
}

/**
 * Stripe decline codes (docs.stripe.com/declines/codes) and card error codes
 * (docs.stripe.com/error-codes) → our reasons. Anything else is a generic decline.
 */
const DECLINE_REASONS: Readonly<Record<string, DeclineReason>> = {
  generic_decline: 'generic-decline',
  card_declined: 'generic-decline',
  insufficient_funds: 'insufficient-funds',
  withdrawal_count_limit_exceeded: 'insufficient-funds',
  card_velocity_exceeded: 'insufficient-funds',
  expired_card: 'expired-card',
  incorrect_cvc: 'incorrect-security-code',
  invalid_cvc: 'incorrect-security-code',
  card_not_supported: 'card-not-supported',
  currency_not_supported: 'card-not-supported',
  transaction_not_allowed: 'card-not-supported',
  fraudulent: 'fraud-suspected',
  lost_card: 'fraud-suspected',
  stolen_card: 'fraud-suspected',
  pickup_card: 'fraud-suspected',
  merchant_blacklist: 'fraud-suspected',
  security_violation: 'fraud-suspected',
  do_not_honor: 'do-not-honour',
  do_not_try_again: 'do-not-honour',
};

/** Card error codes that are no decline: the request failed at the issuer or network. */
const CARD_ERRORS_NOT_DECLINES: Readonly<Record<string, string>> = {
  processing_error: 'processing-error',
  incorrect_number: 'invalid-card-number',
  invalid_number: 'invalid-card-number',
  invalid_expiry_month: 'invalid-expiry',
  invalid_expiry_year: 'invalid-expiry',
};

/** Our reason for a Stripe decline code (or card error code when no decline code came). */
export function stripeDeclineReason(code: string | undefined): DeclineReason {
  return (code && DECLINE_REASONS[code]) || 'generic-decline';
}

/**
 * The Stripe adapter (API reference: docs.stripe.com/api), with the official
 * `stripe` client, automatic retries off (the authoriser retries, with the
 * same idempotency key) and telemetry off.
 *
 * - authorise: POST /v1/payment_intents, created and confirmed in one call
 *   with the card as `payment_method_data`, `payment_method_options.card.moto`
 *   (docs.stripe.com/payments/payment-intents/moto), our idempotency key as
 *   `Idempotency-Key` and in `metadata.idempotency_key`. Tokenising: a
 *   Customer first (POST /v1/customers, key `<key>-customer`) and
 *   `setup_future_usage=off_session`; with amount 0, a SetupIntent instead
 *   (POST /v1/setup_intents, `usage=off_session`).
 * - chargeStoredCard: POST /v1/payment_intents with the saved `payment_method`,
 *   its `customer`, `off_session=true` and `confirm=true` (merchant-initiated).
 * - lookup: GET /v1/payment_intents/search by `metadata['idempotency_key']`
 *   (docs.stripe.com/search), then the Customer search and its SetupIntents.
 * - reverse: POST /v1/refunds; a void is POST /v1/payment_intents/:id/cancel;
 *   a capture (PSP_CAPTURE=manual) POST /v1/payment_intents/:id/capture with `amount_to_capture`.
 * - checkCredentials: GET /v1/balance.
 */
export class StripePsp implements PaymentServiceProvider {
  readonly name = 'stripe';
  readonly #stripe: Stripe;
  readonly #capture: 'auto' | 'manual';
  readonly #searchLagMs: number;
  readonly #now: () => Date;

  constructor(options: StripePspOptions) {
    this.#stripe = createStripeClient(options);
    this.#capture = options.capture ?? 'auto';
    this.#searchLagMs = options.searchLagMs ?? 120_000;
    this.#now = options.now ?? (() => new Date());
  }

  async authorise(request: AuthorisationRequest, card: CardData, options: AuthoriseOptions = {}): Promise<AuthorisationOutcome> {
    const key = request.idempotencyKey;
    const metadata = { reference: request.reference, idempotency_key: key };
    return this.#answer(options.signal, async () => {
      const customer = request.tokenise
        ? await this.#stripe.customers.create(
            { description: `customer ${request.tokenise.customerReference}`, metadata: { customer_reference: request.tokenise.customerReference, idempotency_key: key } },
            { idempotencyKey: `${key}-customer` },
          )
        : undefined;
      const { pan, expiryMonth, expiryYear, securityCode } = card.reveal();
      // PCI DSS 4.0 req. 3.3.1: the card exists here only to be sent, in this request body.
      const raw: RawCardData = {
        payment_method_data: { type: 'card', card: { number: pan, exp_month: Number(expiryMonth), exp_year: Number(expiryYear), cvc: securityCode } },
      };
      if (request.amountMinor === 0 && customer) {
        const params: Stripe.SetupIntentCreateParams & RawCardData = {
          confirm: true,
          customer: customer.id,
          usage: 'off_session',
          allowed_payment_method_types: ['card'],
          payment_method_options: { card: { moto: true } },
          metadata,
          ...raw,
        };
        return setupOutcome(await this.#stripe.setupIntents.create(params, { idempotencyKey: key }));
      }
      const params: Stripe.PaymentIntentCreateParams & RawCardData = {
        amount: request.amountMinor,
        currency: request.currency.toLowerCase(),
        confirm: true,
        capture_method: this.#capture === 'manual' ? 'manual' : 'automatic',
        allowed_payment_method_types: ['card'],
        // MOTO is out of scope of SCA: fail rather than wait for an authentication nobody on the phone can do.
        error_on_requires_action: true,
        payment_method_options: { card: { moto: true } },
        metadata,
        expand: ['latest_charge'],
        ...(customer ? { customer: customer.id, setup_future_usage: 'off_session' as const } : {}),
        ...raw,
      };
      return paymentOutcome(await this.#stripe.paymentIntents.create(params, { idempotencyKey: key }));
    });
  }

  /**
   * A merchant-initiated PaymentIntent on the saved PaymentMethod:
   * `off_session=true` with `confirm=true` and the Customer it is attached to
   * (docs.stripe.com/payments/save-and-reuse#charge-saved-payment-method).
   * A card that asks for authentication is declined: nobody is there to give it.
   */
  async chargeStoredCard(request: StoredCardChargeRequest, options: AuthoriseOptions = {}): Promise<AuthorisationOutcome> {
    return this.#answer(options.signal, async () => {
      const params: Stripe.PaymentIntentCreateParams = {
        amount: request.amountMinor,
        currency: request.currency.toLowerCase(),
        customer: request.storedCard.customer,
        payment_method: request.storedCard.token,
        off_session: true,
        confirm: true,
        capture_method: this.#capture === 'manual' ? 'manual' : 'automatic',
        metadata: { reference: request.reference, idempotency_key: request.idempotencyKey },
        expand: ['latest_charge'],
      };
      return paymentOutcome(await this.#stripe.paymentIntents.create(params, { idempotencyKey: request.idempotencyKey }));
    });
  }

  async lookup(idempotencyKey: string, options: LookupOptions = {}): Promise<AuthorisationLookup> {
    const query = `metadata['idempotency_key']:'${idempotencyKey.replace(/'/g, "\\'")}'`;
    const found = await this.#answer<AuthorisationLookup>(options.signal, async () => {
      const intents = await this.#stripe.paymentIntents.search({ query, expand: ['data.latest_charge'] });
      const intent = intents.data[0];
      if (intent) return paymentOutcome(intent);
      const customers = await this.#stripe.customers.search({ query });
      const customer = customers.data[0];
      if (customer) {
        const setups = await this.#stripe.setupIntents.list({ customer: customer.id });
        const setup = setups.data.find((s) => s.metadata?.idempotency_key === idempotencyKey);
        if (setup) return setupOutcome(setup);
      }
      return { kind: 'not-found' };
    });
    if (found.kind !== 'not-found') return found;
    const age = options.requestedAt ? this.#now().getTime() - options.requestedAt.getTime() : Number.POSITIVE_INFINITY;
    return age < this.#searchLagMs ? { kind: 'error', code: 'not-yet-searchable', retryable: true } : found;
  }

  async reverse(request: ReversalRequest, options: AuthoriseOptions = {}): Promise<ReversalOutcome> {
    return this.#reversal(options.signal, async () => {
      if (request.kind === 'capture') {
        // docs.stripe.com/api/payment_intents/capture: the rest of the authorisation is released.
        const intent = await this.#stripe.paymentIntents.capture(
          request.pspReference,
          { amount_to_capture: request.amountMinor },
          { idempotencyKey: request.idempotencyKey },
        );
        return intent.status === 'succeeded' ? { kind: 'succeeded', pspReference: intent.id } : { kind: 'refused', code: `payment-${intent.status}` };
      }
      if (request.kind === 'void') {
        const intent = await this.#stripe.paymentIntents.cancel(
          request.pspReference,
          { cancellation_reason: 'requested_by_customer' },
          { idempotencyKey: request.idempotencyKey },
        );
        return intent.status === 'canceled' ? { kind: 'succeeded', pspReference: intent.id } : { kind: 'refused', code: `payment-${intent.status}` };
      }
      const refund = await this.#stripe.refunds.create(
        { payment_intent: request.pspReference, amount: request.amountMinor, metadata: { idempotency_key: request.idempotencyKey } },
        { idempotencyKey: request.idempotencyKey },
      );
      switch (refund.status) {
        case 'succeeded':
          return { kind: 'succeeded', pspReference: refund.id };
        case 'pending':
        case 'requires_action':
          return { kind: 'pending', pspReference: refund.id };
        default:
          return { kind: 'refused', code: refund.failure_reason ?? `refund-${refund.status ?? 'failed'}` };
      }
    });
  }

  async checkCredentials(options: AuthoriseOptions = {}): Promise<boolean> {
    try {
      await raceAbort(this.#stripe.balance.retrieve(), options.signal);
      return true;
    } catch {
      return false;
    }
  }

  /** Runs a call; a Stripe error becomes an outcome, a lost connection or an abort a rejection (no answer). */
  async #answer<T extends AuthorisationLookup>(signal: AbortSignal | undefined, call: () => Promise<T>): Promise<T | AuthorisationOutcome> {
    try {
      return await raceAbort(call(), signal);
    } catch (err) {
      return errorOutcome(err);
    }
  }

  async #reversal(signal: AbortSignal | undefined, call: () => Promise<ReversalOutcome>): Promise<ReversalOutcome> {
    try {
      return await raceAbort(call(), signal);
    } catch (err) {
      const outcome = errorOutcome(err);
      // A refund or void the PSP will not do (already refunded, not capturable...) is refused, not failed.
      if (err instanceof Stripe.errors.StripeInvalidRequestError) return { kind: 'refused', code: err.code ?? 'invalid-request' };
      return outcome.kind === 'declined' ? { kind: 'refused', code: outcome.reason } : (outcome as ReversalOutcome);
    }
  }
}

/**
 * What a Stripe error says. Card errors (HTTP 402) are declines; rate limits
 * (429), Stripe's own failures (5xx) and lock timeouts may pass on a retry
 * with the same key; the rest are final. No answer at all is thrown on.
 * Only codes are kept: a Stripe error's message and raw body stay here.
 */
function errorOutcome(err: unknown): AuthorisationOutcome {
  const E = Stripe.errors;
  if (!(err instanceof E.StripeError) || err instanceof E.StripeConnectionError) throw err;
  if (err instanceof E.StripeCardError) {
    const code = err.decline_code ?? err.code;
    const notDecline = code ? CARD_ERRORS_NOT_DECLINES[code] : undefined;
    if (notDecline) return { kind: 'error', code: notDecline, retryable: false };
    const pspReference = err.payment_intent?.id ?? err.setup_intent?.id;
    return { kind: 'declined', reason: stripeDeclineReason(code), ...(pspReference ? { pspReference } : {}) };
  }
  if (err instanceof E.StripeRateLimitError) return { kind: 'error', code: 'rate-limited', retryable: true };
  if (err instanceof E.StripeAPIError) return { kind: 'error', code: `http-${err.statusCode ?? 500}`, retryable: true };
  if (err.code === 'lock_timeout') return { kind: 'error', code: 'lock-timeout', retryable: true };
  if (err instanceof E.StripeIdempotencyError) return { kind: 'error', code: 'idempotency-key-reuse', retryable: false };
  if (err instanceof E.StripeAuthenticationError || err instanceof E.StripePermissionError) {
    return { kind: 'error', code: 'psp-authentication', retryable: false };
  }
  if ((err.statusCode ?? 0) >= 500) return { kind: 'error', code: `http-${err.statusCode}`, retryable: true };
  return { kind: 'error', code: `invalid-request${err.code ? `:${err.code}` : ''}`, retryable: false };
}

/** A PaymentIntent's state as an outcome (the create answer, or a search hit). */
function paymentOutcome(intent: Stripe.PaymentIntent): AuthorisationOutcome {
  switch (intent.status) {
    case 'succeeded':
    case 'requires_capture': {
      const charge = typeof intent.latest_charge === 'object' ? intent.latest_charge : null;
      const authCode = charge?.payment_method_details?.card?.authorization_code ?? referenceCode(intent.id);
      return { kind: 'approved', pspReference: intent.id, authCode, ...tokenOf(intent.payment_method, intent.customer) };
    }
    case 'requires_payment_method': {
      const error = intent.last_payment_error;
      if (!error) return { kind: 'error', code: 'not-confirmed', retryable: false };
      const code = error.decline_code ?? error.code;
      const notDecline = code ? CARD_ERRORS_NOT_DECLINES[code] : undefined;
      if (notDecline) return { kind: 'error', code: notDecline, retryable: false };
      return { kind: 'declined', reason: stripeDeclineReason(code), pspReference: intent.id };
    }
    // The card network has not answered yet: in doubt until a later lookup.
    case 'processing':
      return { kind: 'error', code: 'processing', retryable: true };
    // MOTO is out of scope of SCA: a request for authentication cannot be met by phone.
    case 'requires_action':
    case 'requires_confirmation':
      return { kind: 'error', code: 'authentication-required', retryable: false };
    case 'canceled':
      return { kind: 'error', code: 'canceled', retryable: false };
    default:
      return { kind: 'error', code: `status-${intent.status as string}`, retryable: false };
  }
}

function setupOutcome(setup: Stripe.SetupIntent): AuthorisationOutcome {
  switch (setup.status) {
    case 'succeeded':
      return { kind: 'approved', pspReference: setup.id, authCode: referenceCode(setup.id), ...tokenOf(setup.payment_method, setup.customer) };
    case 'requires_payment_method': {
      const code = setup.last_setup_error?.decline_code ?? setup.last_setup_error?.code;
      if (!code) return { kind: 'error', code: 'not-confirmed', retryable: false };
      const notDecline = CARD_ERRORS_NOT_DECLINES[code];
      if (notDecline) return { kind: 'error', code: notDecline, retryable: false };
      return { kind: 'declined', reason: stripeDeclineReason(code), pspReference: setup.id };
    }
    case 'processing':
      return { kind: 'error', code: 'processing', retryable: true };
    default:
      return { kind: 'error', code: setup.status === 'canceled' ? 'canceled' : 'authentication-required', retryable: false };
  }
}

function tokenOf(
  method: string | Stripe.PaymentMethod | null,
  customer: string | Stripe.Customer | Stripe.DeletedCustomer | null,
): { token?: StoredCardToken } {
  const token = typeof method === 'string' ? method : method?.id;
  const owner = typeof customer === 'string' ? customer : customer?.id;
  return token && owner ? { token: { token, customer: owner } } : {};
}
