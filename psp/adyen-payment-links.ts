import { AdyenClient, type AdyenErrorBody } from './adyen-client.js';
import { adyenRefusal } from './adyen-psp.js';
import type { AdyenNotificationItem } from './adyen-webhooks.js';
import { PspTimeoutError } from './psp-errors.js';
import {
  PaymentLinkError,
  type CreatedPaymentLink,
  type PaymentLinkCallOptions,
  type PaymentLinkOutcome,
  type PaymentLinkProvider,
  type PaymentLinkRequest,
} from './payment-link-port.js';

export interface AdyenPaymentLinksOptions {
  /** X-API-Key. Never logged. */
  readonly apiKey: string;
  readonly merchantAccount: string;
  /** Checkout API base with its version. Default https://checkout-test.adyen.com/v71. */
  readonly apiBase?: string;
  readonly requestTimeoutMs?: number;
}

/** The payment link resource fields read (docs.adyen.com/api-explorer/Checkout/71/post/paymentLinks#responses-201). */
interface PaymentLinkResponse {
  readonly id?: string;
  readonly url?: string;
  readonly expiresAt?: string;
  readonly status?: 'active' | 'completed' | 'expired' | 'paid' | 'paymentPending';
}

/**
 * Payment links on Adyen Pay by Link (Checkout API v71):
 *
 * - create: POST /paymentLinks with `amount`, `merchantAccount`, our link id
 *   as `reference` and `Idempotency-Key`, the order as `merchantOrderReference`,
 *   `expiresAt` (ISO 8601) and `shopperLocale`.
 * - expire: PATCH /paymentLinks/{linkId} `{"status": "expired"}`; a link that
 *   cannot be expired is read back (GET): `completed` means paid.
 * - outcomes: the AUTHORISATION webhook of a link payment (its
 *   `merchantReference` is our link id, `additionalData.paymentLinkId` the
 *   link), HMAC-verified by AdyenWebhookHandler as every Adyen webhook.
 *   Adyen sends nothing when a link runs out: the link service's sweep expires them.
 */
export class AdyenPaymentLinks implements PaymentLinkProvider {
  readonly name = 'adyen';
  readonly #client: AdyenClient;
  readonly #merchantAccount: string;

  constructor(options: AdyenPaymentLinksOptions) {
    this.#client = new AdyenClient({
      apiKey: options.apiKey,
      apiBase: options.apiBase ?? 'https://checkout-test.adyen.com/v71',
      ...(options.requestTimeoutMs ? { requestTimeoutMs: options.requestTimeoutMs } : {}),
    });
    this.#merchantAccount = options.merchantAccount;
  }

  async create(request: PaymentLinkRequest, options: PaymentLinkCallOptions = {}): Promise<CreatedPaymentLink> {
    const body = {
      merchantAccount: this.#merchantAccount,
      amount: { value: request.amountMinor, currency: request.currency },
      reference: request.linkId,
      merchantOrderReference: request.reference,
      expiresAt: request.expiresAt.toISOString(),
      shopperLocale: request.language.replace('-', '_'),
      ...(request.description ? { description: request.description } : {}),
    };
    const res = await this.#send<PaymentLinkResponse>('POST', '/paymentLinks', body, { idempotencyKey: request.linkId, ...options });
    if ((res.status !== 201 && res.status !== 200) || !res.body?.id || !res.body.url) throw linkError(res.status, res.body);
    return { providerLinkId: res.body.id, url: res.body.url, expiresAt: new Date(res.body.expiresAt ?? request.expiresAt) };
  }

  async expire(providerLinkId: string, options: PaymentLinkCallOptions = {}): Promise<'expired' | 'paid'> {
    const path = `/paymentLinks/${encodeURIComponent(providerLinkId)}`;
    const res = await this.#send<PaymentLinkResponse>('PATCH', path, { status: 'expired' }, options);
    if (res.status === 200 && res.body?.status === 'expired') return 'expired';
    const now = await this.#send<PaymentLinkResponse>('GET', path, undefined, options);
    if (now.status === 200 && (now.body?.status === 'completed' || now.body?.status === 'paid')) return 'paid';
    if (now.status === 200 && now.body?.status === 'expired') return 'expired';
    throw linkError(res.status, res.body);
  }

  /** What an AUTHORISATION item says of a link, when it is a link payment's (additionalData.paymentLinkId). */
  outcomeOf(item: AdyenNotificationItem): PaymentLinkOutcome | undefined {
    const linkId = item.additionalData?.paymentLinkId;
    if (item.eventCode !== 'AUTHORISATION' || !linkId) return undefined;
    if (item.success === 'true') return { kind: 'paid', provider: this.name, providerLinkId: linkId, pspReference: item.pspReference };
    const refusal = adyenRefusal(undefined, item.reason);
    return {
      kind: 'declined',
      provider: this.name,
      providerLinkId: linkId,
      reason: refusal.kind === 'declined' ? refusal.reason : 'generic-decline',
      pspReference: item.pspReference,
    };
  }

  async #send<T>(method: 'GET' | 'POST' | 'PATCH', path: string, body: unknown, options: { idempotencyKey?: string; signal?: AbortSignal }) {
    try {
      return await this.#client.send<T & Pick<AdyenErrorBody, 'errorCode'>>(method, path, body, options);
    } catch (err) {
      if (err instanceof PspTimeoutError) throw new PaymentLinkError('no-answer', true);
      throw err;
    }
  }
}

/** 429 and 5xx may pass later; 401/403 are our credentials; the rest (400, 422) are final. Only codes are kept. */
function linkError(status: number, body: Pick<AdyenErrorBody, 'errorCode'> | undefined): PaymentLinkError {
  if (status === 429 || status >= 500) return new PaymentLinkError(status === 429 ? 'rate-limited' : `http-${status}`, true);
  if (status === 401 || status === 403) return new PaymentLinkError('psp-authentication', false);
  return new PaymentLinkError(body?.errorCode ? `adyen-${body.errorCode}` : `http-${status}`, false);
}
