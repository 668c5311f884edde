import { createHash, createHmac, randomInt } from 'node:crypto';
import { z } from 'zod';
import { FakePspServer, firstIssue, randomId, type FakeAnswer, type ReceivedRequest } from './fake-psp-server.js';

/**
 * A local Adyen Checkout API (v71) for tests: the endpoints the Adyen adapter
 * uses, with the request and response shapes of Adyen's API explorer, every
 * request body validated strictly (an unknown field is a 400 "unknown
 * fields", a missing one a 422 validation error), and standard webhooks sent
 * with HMAC signatures, as Adyen sends them:
 *
 * - POST /v71/payments — docs.adyen.com/api-explorer/Checkout/71/post/payments: MOTO with
 *   the raw card, or a merchant-initiated payment on a stored card
 *   (`paymentMethod.storedPaymentMethodId` with its `shopperReference`,
 *   `shopperInteraction=ContAuth`, `recurringProcessingModel`; a token another
 *   shopper's or unknown is 422 "Contract not found")
 * - POST /v71/paymentMethods — docs.adyen.com/api-explorer/Checkout/71/post/paymentMethods
 * - POST /v71/payments/{paymentPspReference}/refunds — …/71/post/payments/(paymentPspReference)/refunds
 * - POST /v71/payments/{paymentPspReference}/cancels — …/71/post/payments/(paymentPspReference)/cancels
 * - POST /v71/payments/{paymentPspReference}/captures — …/71/post/payments/(paymentPspReference)/captures
 *   (a payment authorised with `manualCapture`, once, at most its amount; the CAPTURE webhook answers)
 * - POST /v71/cancels (by our reference: a technical cancel) — …/71/post/cancels
 * - POST /v71/paymentLinks, GET and PATCH /v71/paymentLinks/{linkId} — …/71/post/paymentLinks,
 *   …/71/patch/paymentLinks/(linkId) (Pay by Link: `{"status": "expired"}` on an active link only;
 *   `payLink(id)` is the shopper paying the page: an AUTHORISATION webhook with `paymentLinkId`)
 * - webhooks: docs.adyen.com/api-explorer/Webhooks/1/post/AUTHORISATION (and REFUND, CANCELLATION),
 *   signed as docs.adyen.com/development-resources/webhooks/verify-hmac-signatures says.
 *
 * Errors: docs.adyen.com/development-resources/response-handling. Idempotency
 * (docs.adyen.com/development-resources/api-idempotency): the first answer of
 * a key is replayed; the same key with another body is a 422. Injected faults
 * come before anything is done.
 *
 * The sandbox's test cards map to Adyen's refusal reasons
 * (docs.adyen.com/development-resources/refusal-reasons): 4000000000000002
 * Refused (2), 4000000000009995 Not enough balance (12), 4000000000000069
 * Expired Card (6), 4000000000000127 CVC Declined (24), 4000000000009987
 * Blocked Card (5), 4000000000009979 FRAUD (20); 4000000000000119 resultCode
 * Error, Acquirer Error (4); 4000000000000341 is authorised but its answer
 * never comes (the AUTHORISATION webhook does); 4000000000000077 answers
 * Received, and the webhook says Authorised. Any other number is authorised.
 */
export class FakeAdyen {
  readonly server: FakePspServer;
  readonly payments = new Map<string, AdyenPayment>();
  /** Cards stored by `storePaymentMethod`, by storedPaymentMethodId: their shopper and what charging them does, never the number. */
  readonly storedCards = new Map<string, StoredCard>();
  /** Pay by Link links (POST /paymentLinks), by id. */
  readonly paymentLinks = new Map<string, { id: string; url: string; status: string; reference: string; amount: { value: number; currency: string }; expiresAt: string } & Record<string, unknown>>();
  /** Webhook bodies sent, and the status our endpoint answered. */
  readonly webhooks: { body: unknown; status: number }[] = [];
  /** Where the standard webhooks go; none are sent while unset. */
  webhookUrl: string | undefined;
  readonly #idempotent = new Map<string, { fingerprint: string; answer: Exclude<FakeAnswer, 'hold'> }>();
  readonly #pendingWebhooks = new Set<Promise<void>>();

  constructor(
    readonly apiKey = 'AQE-fake-local-api-key',
    readonly merchantAccount = 'TestMerchantMOTO',
    /** Hex HMAC key, as the Customer Area shows it. */
    readonly hmacKey = '44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056',
  ) {
    this.server = new FakePspServer((request) => this.#handle(request));
  }

  /** The Checkout API base to configure (ADYEN_API_BASE). */
  get apiBase(): string {
    return `${this.server.url}/v71`;
  }

  start(): Promise<string> {
    return this.server.start();
  }

  /** Waits for the webhooks under way. */
  async settled(): Promise<void> {
    await Promise.all([...this.#pendingWebhooks]);
  }

  async close(): Promise<void> {
    await this.settled();
    await this.server.close();
  }

  #handle(request: ReceivedRequest): FakeAnswer {
    if (request.headers['x-api-key'] !== this.apiKey) {
      return { status: 401, body: { status: 401, errorCode: '000', message: 'HTTP Status Response - Unauthorized', errorType: 'security' } };
    }
    const linkPath = /^\/v71\/paymentLinks\/([A-Z0-9]+)$/.exec(request.path);
    if (linkPath && request.method === 'GET') return this.#getLink(linkPath[1]!);
    if (linkPath && request.method === 'PATCH') return this.#patchLink(linkPath[1]!, request.body);
    if (request.method !== 'POST' || !request.path.startsWith('/v71/')) return adyenError(404, '000', 'Not found', 'validation');
    let body: unknown;
    try {
      body = JSON.parse(request.body);
    } catch {
      return adyenError(400, '702', 'Unexpected input: not JSON', 'validation');
    }
    const path = request.path.slice('/v71'.length);
    const key = request.headers['idempotency-key'];
    if (key) {
      const fingerprint = createHash('sha256').update(`${path}\n${request.body}`).digest('hex');
      const saved = this.#idempotent.get(key);
      if (saved) {
        return saved.fingerprint === fingerprint ? saved.answer : adyenError(422, '704', 'request already processed or in progress', 'validation');
      }
      const answer = this.#route(path, body);
      const concrete = answer === 'hold' ? this.#heldAnswer : answer;
      if (concrete && concrete.status < 500) this.#idempotent.set(key, { fingerprint, answer: concrete });
      return answer;
    }
    return this.#route(path, body);
  }

  #heldAnswer: Exclude<FakeAnswer, 'hold'> | undefined;

  #route(path: string, body: unknown): FakeAnswer {
    const modification = /^\/payments\/([A-Z0-9]{16})\/(refunds|cancels|captures)$/.exec(path);
    if (path === '/payments') return validated(paymentRequest, body, (p) => this.#pay(p));
    if (path === '/paymentMethods') {
      return validated(paymentMethodsRequest, body, (p) =>
        p.merchantAccount === this.merchantAccount
          ? { status: 200, body: { paymentMethods: [{ name: 'Cards', type: 'scheme', brands: ['visa', 'mc', 'amex'] }] } }
          : adyenError(403, '901', 'Invalid Merchant Account', 'security'),
      );
    }
    if (path === '/cancels') return validated(technicalCancelRequest, body, (p) => this.#technicalCancel(p));
    if (path === '/paymentLinks') return validated(paymentLinkRequest, body, (p) => this.#createLink(p));
    if (modification?.[2] === 'refunds') return validated(refundRequest, body, (p) => this.#refund(modification[1]!, p));
    if (modification?.[2] === 'cancels') return validated(cancelRequest, body, (p) => this.#cancel(modification[1]!, p));
    if (modification?.[2] === 'captures') return validated(captureRequest, body, (p) => this.#capture(modification[1]!, p));
    return adyenError(404, '000', `Unknown endpoint ${path}`, 'validation');
  }

  #pay(p: z.output<typeof paymentRequest>): FakeAnswer {
    if (p.merchantAccount !== this.merchantAccount) return adyenError(403, '901', 'Invalid Merchant Account', 'security');
    if (p.amount.value === 0 && !p.storePaymentMethod) return adyenError(422, '137', 'Invalid amount specified', 'validation');
    const method = p.paymentMethod;
    let card: { last4: string; expiryMonth: string; expiryYear: string };
    let behaviour: CardBehaviour;
    if ('storedPaymentMethodId' in method) {
      const stored = this.storedCards.get(method.storedPaymentMethodId);
      if (!stored || stored.shopperReference !== p.shopperReference) return adyenError(422, '800', 'Contract not found', 'validation');
      ({ card, behaviour } = stored);
    } else {
      card = { last4: method.number.slice(-4), expiryMonth: method.expiryMonth, expiryYear: method.expiryYear };
      behaviour = TEST_CARDS.get(method.number) ?? { result: 'Authorised' as const };
    }
    const pspReference = adyenPspReference();
    const authorised = behaviour.result === 'Authorised' || behaviour.result === 'Received' || behaviour.result === 'hold';
    const authCode = String(randomInt(10_000, 100_000));
    const stored = authorised && p.storePaymentMethod ? { token: adyenPspReference(), customer: p.shopperReference! } : undefined;
    if (stored) this.storedCards.set(stored.token, { shopperReference: stored.customer, card, behaviour });
    this.payments.set(pspReference, {
      pspReference,
      reference: p.reference,
      amount: p.amount,
      status: authorised ? 'authorised' : 'refused',
      refunds: [],
      cancelled: false,
      manualCapture: p.additionalData?.manualCapture === 'true',
    });
    const additionalData = {
      authCode,
      ...(stored ? { 'tokenization.storedPaymentMethodId': stored.token, 'tokenization.shopperReference': stored.customer, 'tokenization.store.operationType': 'created' } : {}),
    };
    // A successful AUTHORISATION's reason is "authCode:last4:expiry", as Adyen sends it.
    const reason = authorised ? `${authCode}:${card.last4}:${card.expiryMonth}/${card.expiryYear}` : behaviour.result === 'Refused' ? behaviour.text : 'Acquirer Error';
    this.#sendWebhook({
      eventCode: 'AUTHORISATION',
      pspReference,
      merchantReference: p.reference,
      amount: p.amount,
      success: authorised,
      reason,
      additionalData: { ...(authorised ? additionalData : {}), expiryDate: `${Number(card.expiryMonth)}/${card.expiryYear}`, cardSummary: card.last4 },
    });
    const base = { pspReference, merchantReference: p.reference, amount: p.amount };
    switch (behaviour.result) {
      case 'Refused':
        return { status: 200, body: { ...base, resultCode: 'Refused', refusalReason: behaviour.text, refusalReasonCode: behaviour.code } };
      case 'Error':
        return { status: 200, body: { ...base, resultCode: 'Error', refusalReason: 'Acquirer Error', refusalReasonCode: '4' } };
      case 'Received':
        return { status: 200, body: { ...base, resultCode: 'Received' } };
      case 'hold':
        this.#heldAnswer = { status: 200, body: { ...base, resultCode: 'Authorised', additionalData } };
        return 'hold';
      default:
        return { status: 200, body: { ...base, resultCode: 'Authorised', additionalData } };
    }
  }

  #refund(paymentPspReference: string, p: z.output<typeof refundRequest>): FakeAnswer {
    const payment = this.payments.get(paymentPspReference);
    if (!payment || p.merchantAccount !== this.merchantAccount) return adyenError(422, '167', 'Original pspReference required for this operation', 'validation');
    const pspReference = adyenPspReference();
    const refunded = payment.refunds.reduce((sum, r) => sum + r, 0);
    // A payment authorised for manual capture gives back only what was captured.
    const captured = payment.manualCapture ? (payment.captured ?? 0) : payment.amount.value;
    const success = payment.status === 'authorised' && !payment.cancelled && refunded + p.amount.value <= captured;
    if (success) payment.refunds.push(p.amount.value);
    this.#sendWebhook({
      eventCode: 'REFUND',
      pspReference,
      originalReference: paymentPspReference,
      merchantReference: p.reference,
      amount: p.amount,
      success,
      reason: success ? '' : 'Insufficient balance on payment',
    });
    return { status: 201, body: { merchantAccount: p.merchantAccount, paymentPspReference, pspReference, reference: p.reference, status: 'received', amount: p.amount } };
  }

  #capture(paymentPspReference: string, p: z.output<typeof captureRequest>): FakeAnswer {
    const payment = this.payments.get(paymentPspReference);
    if (!payment || p.merchantAccount !== this.merchantAccount) return adyenError(422, '167', 'Original pspReference required for this operation', 'validation');
    const pspReference = adyenPspReference();
    const success =
      payment.status === 'authorised' && payment.manualCapture && payment.captured === undefined && !payment.cancelled && p.amount.value <= payment.amount.value && p.amount.currency === payment.amount.currency;
    if (success) payment.captured = p.amount.value;
    this.#sendWebhook({
      eventCode: 'CAPTURE',
      pspReference,
      originalReference: paymentPspReference,
      merchantReference: p.reference,
      amount: p.amount,
      success,
      reason: success ? '' : 'Modification in different currency than authorisation or already captured',
    });
    return { status: 201, body: { merchantAccount: p.merchantAccount, paymentPspReference, pspReference, reference: p.reference, status: 'received', amount: p.amount } };
  }

  #cancel(paymentPspReference: string, p: z.output<typeof cancelRequest>): FakeAnswer {
    const payment = this.payments.get(paymentPspReference);
    if (!payment || p.merchantAccount !== this.merchantAccount) return adyenError(422, '167', 'Original pspReference required for this operation', 'validation');
    const pspReference = adyenPspReference();
    const success = payment.status === 'authorised' && payment.refunds.length === 0 && !payment.cancelled && payment.captured === undefined;
    if (success) payment.cancelled = true;
    this.#sendWebhook({
      eventCode: 'CANCELLATION',
      pspReference,
      originalReference: paymentPspReference,
      merchantReference: p.reference,
      amount: payment.amount,
      success,
      reason: success ? '' : 'Payment already refunded',
    });
    return { status: 201, body: { merchantAccount: p.merchantAccount, paymentPspReference, pspReference, reference: p.reference, status: 'received' } };
  }

  #technicalCancel(p: z.output<typeof technicalCancelRequest>): FakeAnswer {
    if (p.merchantAccount !== this.merchantAccount) return adyenError(403, '901', 'Invalid Merchant Account', 'security');
    const payment = [...this.payments.values()].find((x) => x.reference === p.paymentReference);
    if (payment) payment.cancelled = true;
    return { status: 201, body: { merchantAccount: p.merchantAccount, paymentReference: p.paymentReference, pspReference: adyenPspReference(), reference: p.reference, status: 'received' } };
  }

  #createLink(p: z.output<typeof paymentLinkRequest>): FakeAnswer {
    if (p.merchantAccount !== this.merchantAccount) return adyenError(403, '901', 'Invalid Merchant Account', 'security');
    if (p.amount.value <= 0) return adyenError(422, '137', 'Invalid amount specified', 'validation');
    const expiresAt = p.expiresAt ?? new Date(Date.now() + 24 * 3600_000).toISOString();
    // Pay by Link: a link lives at most 70 days (docs.adyen.com/unified-commerce/pay-by-link/create-payment-links).
    if (Date.parse(expiresAt) <= Date.now() || Date.parse(expiresAt) > Date.now() + 70 * 24 * 3600_000) {
      return adyenError(422, '100', "Field 'expiresAt' is not valid: must be in the future and at most 70 days away", 'validation');
    }
    const id = `PL${randomId(16, 'ABCDEF0123456789')}`;
    const link = { id, url: `https://test.adyen.link/${id}`, status: 'active', reusable: false, expiresAt, amount: p.amount, merchantAccount: p.merchantAccount, reference: p.reference, ...(p.merchantOrderReference ? { merchantOrderReference: p.merchantOrderReference } : {}), ...(p.shopperLocale ? { shopperLocale: p.shopperLocale } : {}) };
    this.paymentLinks.set(id, link);
    return { status: 201, body: link };
  }

  #getLink(id: string): FakeAnswer {
    const link = this.paymentLinks.get(id);
    return link ? { status: 200, body: link } : adyenError(404, '000', 'Payment link not found', 'validation');
  }

  /** PATCH /paymentLinks/{linkId}: only `{"status": "expired"}`, only on an active link. */
  #patchLink(id: string, raw: string): FakeAnswer {
    let body: unknown;
    try {
      body = JSON.parse(raw);
    } catch {
      return adyenError(400, '702', 'Unexpected input: not JSON', 'validation');
    }
    return validated(z.object({ status: z.literal('expired') }).strict(), body, () => {
      const link = this.paymentLinks.get(id);
      if (!link) return adyenError(404, '000', 'Payment link not found', 'validation');
      if (link.status !== 'active') return adyenError(422, '100', `Payment link status is ${link.status}: it cannot be expired`, 'validation');
      link.status = 'expired';
      return { status: 200, body: link };
    });
  }

  /** The shopper pays the link's page: the link completes and the AUTHORISATION webhook names it (additionalData.paymentLinkId). */
  payLink(id: string): void {
    const link = this.paymentLinks.get(id);
    if (link?.status !== 'active') throw new Error(`fake Adyen: payment link ${id} is not active`);
    link.status = 'completed';
    const pspReference = adyenPspReference();
    this.payments.set(pspReference, { pspReference, reference: link.reference, amount: link.amount, status: 'authorised', refunds: [], cancelled: false, manualCapture: false });
    const authCode = String(randomInt(10_000, 100_000));
    this.#sendWebhook({ eventCode: 'AUTHORISATION', pspReference, merchantReference: link.reference, amount: link.amount, success: true, reason: `${authCode}:4242:03/2030`, additionalData: { authCode, paymentLinkId: id } });
  }

  #sendWebhook(item: { eventCode: string; pspReference: string; originalReference?: string; merchantReference: string; amount: { value: number; currency: string }; success: boolean; reason: string; additionalData?: Record<string, string> }): void {
    const url = this.webhookUrl;
    if (!url) return;
    const success = String(item.success);
    // Signed independently of the system's verifier, from Adyen's description of the scheme.
    const signed = [item.pspReference, item.originalReference ?? '', this.merchantAccount, item.merchantReference, item.amount.value, item.amount.currency, item.eventCode, success].join(':');
    const hmacSignature = createHmac('sha256', Buffer.from(this.hmacKey, 'hex')).update(signed).digest('base64');
    const body = {
      live: 'false',
      notificationItems: [
        {
          NotificationRequestItem: {
            ...item,
            success,
            merchantAccountCode: this.merchantAccount,
            eventDate: new Date().toISOString(),
            paymentMethod: 'visa',
            operations: item.eventCode === 'AUTHORISATION' ? ['CANCEL', 'CAPTURE', 'REFUND'] : undefined,
            additionalData: { ...item.additionalData, hmacSignature },
          },
        },
      ],
    };
    const delivery = new Promise<void>((resolve) => setTimeout(resolve, 50))
      .then(() => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }))
      .then(async (res) => {
        await res.text();
        this.webhooks.push({ body, status: res.status });
      })
      .catch(() => {
        this.webhooks.push({ body, status: 0 });
      })
      .finally(() => this.#pendingWebhooks.delete(delivery));
    this.#pendingWebhooks.add(delivery);
  }
}

interface AdyenPayment {
  readonly pspReference: string;
  readonly reference: string;
  readonly amount: { value: number; currency: string };
  readonly status: 'authorised' | 'refused';
  readonly refunds: number[];
  cancelled: boolean;
  readonly manualCapture: boolean;
  /** The amount captured (manual capture), once. */
  captured?: number;
}

interface StoredCard {
  readonly shopperReference: string;
  readonly card: { readonly last4: string; readonly expiryMonth: string; readonly expiryYear: string };
  readonly behaviour: CardBehaviour;
}

type CardBehaviour =
  | { result: 'Authorised' | 'Error' | 'Received' | 'hold' }
  | { result: 'Refused'; code: string; text: string };

const TEST_CARDS: ReadonlyMap<string, CardBehaviour> = new Map<string, CardBehaviour>([
  ['4000000000000002', { result: 'Refused', code: '2', text: 'Refused' }],
  ['4000000000009995', { result: 'Refused', code: '12', text: 'Not enough balance' }],
  ['4000000000000069', { result: 'Refused', code: '6', text: 'Expired Card' }],
  ['4000000000000127', { result: 'Refused', code: '24', text: 'CVC Declined' }],
  ['4000000000009987', { result: 'Refused', code: '5', text: 'Blocked Card' }],
  ['4000000000009979', { result: 'Refused', code: '20', text: 'FRAUD' }],
  ['4000000000000119', { result: 'Error' }],
  ['4000000000000341', { result: 'hold' }],
  ['4000000000000077', { result: 'Received' }],
]);

// --- request shapes ---

const amount = z.object({ value: z.number().int().min(0), currency: z.string().regex(/^[A-Z]{3}$/) }).strict();

const paymentRequest = z
  .object({
    merchantAccount: z.string().min(1),
    amount,
    reference: z.string().min(1).max(80),
    merchantOrderReference: z.string().max(1000).optional(),
    shopperInteraction: z.enum(['Ecommerce', 'ContAuth', 'Moto', 'POS']),
    paymentMethod: z.union([
      z
        .object({
          type: z.literal('scheme'),
          number: z.string().regex(/^\d{12,19}$/),
          expiryMonth: z.string().regex(/^(0[1-9]|1[0-2])$/, 'two digits'),
          expiryYear: z.string().regex(/^\d{4}$/),
          cvc: z.string().regex(/^\d{3,4}$/),
          holderName: z.string().optional(),
        })
        .strict(),
      z.object({ type: z.literal('scheme'), storedPaymentMethodId: z.string().min(1).max(64) }).strict(),
    ]),
    additionalData: z.object({ manualCapture: z.enum(['true', 'false']) }).strict().optional(),
    storePaymentMethod: z.boolean().optional(),
    shopperReference: z.string().min(3).max(256).optional(),
    recurringProcessingModel: z.enum(['CardOnFile', 'Subscription', 'UnscheduledCardOnFile']).optional(),
  })
  .strict()
  .refine((p) => !p.storePaymentMethod || (p.shopperReference && p.recurringProcessingModel), {
    path: ['shopperReference'],
    message: 'storePaymentMethod needs shopperReference and recurringProcessingModel',
  })
  .refine((p) => p.shopperInteraction === ('storedPaymentMethodId' in p.paymentMethod ? 'ContAuth' : 'Moto'), {
    path: ['shopperInteraction'],
    message: 'Moto with a keyed card, ContAuth with a stored one (this fake takes nothing else)',
  })
  .refine((p) => !('storedPaymentMethodId' in p.paymentMethod) || (p.shopperReference && p.recurringProcessingModel && !p.storePaymentMethod), {
    path: ['shopperReference'],
    message: 'a stored card is charged with its shopperReference and recurringProcessingModel',
  });

const paymentMethodsRequest = z
  .object({ merchantAccount: z.string().min(1), amount: amount.optional(), countryCode: z.string().optional(), shopperInteraction: z.string().optional() })
  .strict();
const refundRequest = z.object({ merchantAccount: z.string().min(1), amount, reference: z.string().max(80).optional().default('') }).strict();
const captureRequest = z.object({ merchantAccount: z.string().min(1), amount, reference: z.string().max(80).optional().default('') }).strict();
const cancelRequest = z.object({ merchantAccount: z.string().min(1), reference: z.string().max(80).optional().default('') }).strict();
/** POST /paymentLinks (docs.adyen.com/api-explorer/Checkout/71/post/paymentLinks). */
const paymentLinkRequest = z
  .object({
    merchantAccount: z.string().min(1),
    amount,
    reference: z.string().min(1).max(80),
    expiresAt: z.iso.datetime({ offset: true }).optional(),
    merchantOrderReference: z.string().max(1000).optional(),
    shopperLocale: z.string().regex(/^[a-z]{2}[-_][A-Z]{2}$/, 'a locale such as en_GB').optional(),
    description: z.string().max(280).optional(),
    shopperReference: z.string().min(3).max(256).optional(),
    returnUrl: z.url().optional(),
    reusable: z.boolean().optional(),
    countryCode: z.string().length(2).optional(),
  })
  .strict();
const technicalCancelRequest = z.object({ merchantAccount: z.string().min(1), paymentReference: z.string().min(1), reference: z.string().max(80).optional() }).strict();

function adyenError(status: number, errorCode: string, message: string, errorType: string): FakeAnswer {
  return { status, body: { status, errorCode, message, errorType, pspReference: adyenPspReference() } };
}

function validated<S extends z.ZodType>(schema: S, body: unknown, then: (params: z.output<S>) => FakeAnswer): FakeAnswer {
  const parsed = schema.safeParse(body);
  if (parsed.success) return then(parsed.data);
  const issue = firstIssue(parsed.error);
  if (issue.code === 'unrecognized_keys') {
    const where = [...issue.path, issue.keys[0]].join('.');
    return adyenError(400, '702', `Structure of request contains the following unknown fields: [${where}]`, 'validation');
  }
  return adyenError(422, '100', `Field '${issue.path.join('.')}' is not valid: ${issue.message}`, 'validation');
}

/** 16 letters and digits, as Adyen's current pspReferences (mostly letters, so never taken for a card number). */
function adyenPspReference(): string {
  return randomId(16, 'ABCDEFGHJKLMNPQRSTUVWXYZ0123456789');
}
