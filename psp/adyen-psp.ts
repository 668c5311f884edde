import type { DeclineReason } from '../domain/payment-types.js';
import type { PspRecordStore } from '../store/psp-record-store.js';
import type { CardData } from '../vault/card-data.js';
import { AdyenClient, type AdyenErrorBody, type AdyenResponse } from './adyen-client.js';
import { referenceCode } from './psp-errors.js';
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

export interface AdyenPspOptions {
  /** X-API-Key. Never logged. */
  readonly apiKey: string;
  readonly merchantAccount: string;
  /** Checkout API base with its version. Default https://checkout-test.adyen.com/v71. */
  readonly apiBase?: string;
  /** `manual`: authorise only (`additionalData.manualCapture`), captured or cancelled later. Default `auto`. */
  readonly capture?: 'auto' | 'manual';
  /** Where the webhook route keeps Adyen's notifications: `lookup` reads AUTHORISATION ones from here. */
  readonly notifications: Pick<PspRecordStore, 'findNotifications'>;
  /**
   * Adyen has no API to ask what became of a payment: its answer is the
   * AUTHORISATION webhook. Until an authorisation is this old, a lookup
   * without one answers a retryable error; then the payment is cancelled by
   * our reference (a technical cancel) and reported `not-found`. Default 600 000 ms.
   */
  readonly notificationWaitMs?: number;
  readonly requestTimeoutMs?: number;
  /** Default: the wall clock. */
  readonly now?: () => Date;
}

/** /payments response fields the adapter reads (docs.adyen.com/api-explorer/Checkout/71/post/payments#responses-200). */
interface PaymentResponse {
  readonly pspReference?: string;
  readonly resultCode?: string;
  readonly refusalReason?: string;
  readonly refusalReasonCode?: string;
  readonly additionalData?: Readonly<Record<string, string>>;
}

/** Modification responses: /payments/{id}/refunds, /cancels and /cancels (status `received`). */
interface ModificationResponse {
  readonly pspReference?: string;
  readonly status?: string;
}

/**
 * refusalReasonCode → our reason (docs.adyen.com/development-resources/refusal-reasons).
 * Codes not listed are a generic decline; 4 (Acquirer Error) and 8 (Invalid
 * Card Number) are errors, not declines.
 */
const REFUSAL_REASONS: Readonly<Record<string, DeclineReason>> = {
  '2': 'generic-decline',
  '3': 'do-not-honour',
  '5': 'fraud-suspected',
  '6': 'expired-card',
  '10': 'card-not-supported',
  '12': 'insufficient-funds',
  '14': 'fraud-suspected',
  '20': 'fraud-suspected',
  '22': 'fraud-suspected',
  '23': 'card-not-supported',
  '24': 'incorrect-security-code',
  '25': 'card-not-supported',
  '27': 'do-not-honour',
  '28': 'insufficient-funds',
  '29': 'insufficient-funds',
  '31': 'fraud-suspected',
};

/** The same, by the refusalReason text a webhook's `reason` carries. */
const REFUSAL_TEXTS: Readonly<Record<string, string>> = {
  Refused: '2',
  Referral: '3',
  'Acquirer Error': '4',
  'Blocked Card': '5',
  'Expired Card': '6',
  'Invalid Card Number': '8',
  'Not supported': '10',
  'Not enough balance': '12',
  'Acquirer Fraud': '14',
  FRAUD: '20',
  'FRAUD-CANCELLED': '22',
  'Transaction Not Permitted': '23',
  'CVC Declined': '24',
  'Restricted Card': '25',
  'Declined Non Generic': '27',
  'Withdrawal amount exceeded': '28',
  'Withdrawal count exceeded': '29',
  'Issuer Suspected Fraud': '31',
};

const REFUSAL_ERRORS: Readonly<Record<string, string>> = { '4': 'processing-error', '8': 'invalid-card-number' };

/** Our answer to a refusal, by refusalReasonCode or (from a webhook) refusalReason text. */
export function adyenRefusal(code: string | undefined, text?: string): AuthorisationOutcome {
  const key = code ?? (text ? REFUSAL_TEXTS[text] : undefined) ?? '2';
  const error = REFUSAL_ERRORS[key];
  if (error) return { kind: 'error', code: error, retryable: false };
  return { kind: 'declined', reason: REFUSAL_REASONS[key] ?? 'generic-decline' };
}

/**
 * The Adyen adapter (Checkout API v71, docs.adyen.com/api-explorer/Checkout/71):
 *
 * - authorise: POST /payments with `paymentMethod.type=scheme` and the raw
 *   card fields, `shopperInteraction=Moto`, `merchantAccount`, our
 *   idempotency key as `reference` (Adyen's unique payment reference) and
 *   `Idempotency-Key`, the order reference as `merchantOrderReference`.
 *   Tokenising: `storePaymentMethod`, `shopperReference` and
 *   `recurringProcessingModel=UnscheduledCardOnFile` (the merchant charges
 *   later); amount 0 is a zero-value authorisation that only stores the card.
 *   resultCode Authorised → approved; Refused → declined (refusalReasonCode
 *   mapped); Error and Cancelled → error; Received and Pending → no answer
 *   yet, in doubt until the AUTHORISATION webhook.
 * - chargeStoredCard: POST /payments with `storedPaymentMethodId`,
 *   `shopperReference`, `shopperInteraction=ContAuth` and
 *   `recurringProcessingModel=UnscheduledCardOnFile`, answered like authorise.
 * - lookup: the AUTHORISATION webhook kept by the webhook route; none after
 *   `notificationWaitMs` → a technical cancel (POST /cancels by our reference) and not-found.
 * - reverse: POST /payments/{pspReference}/captures, /refunds or /cancels:
 *   Adyen answers `received` (pending); CAPTURE, REFUND and CANCELLATION
 *   webhooks settle them.
 * - checkCredentials: POST /paymentMethods for the merchant account.
 */
export class AdyenPsp implements PaymentServiceProvider {
  readonly name = 'adyen';
  readonly #client: AdyenClient;
  readonly #merchantAccount: string;
  readonly #capture: 'auto' | 'manual';
  readonly #notifications: Pick<PspRecordStore, 'findNotifications'>;
  readonly #waitMs: number;
  readonly #now: () => Date;

  constructor(options: AdyenPspOptions) {
    this.#client = new AdyenClient({
      apiKey: options.apiKey,
      apiBase: options.apiBase ?? 'https://checkout-test.adyen.com/v71',
      ...(options.requestTimeoutMs ? { requestTimeoutMs: options.requestTimeoutMs } : {}),
    });
    this.#merchantAccount = options.merchantAccount;
    this.#capture = options.capture ?? 'auto';
    this.#notifications = options.notifications;
    this.#waitMs = options.notificationWaitMs ?? 600_000;
    this.#now = options.now ?? (() => new Date());
  }

  async authorise(request: AuthorisationRequest, card: CardData, options: AuthoriseOptions = {}): Promise<AuthorisationOutcome> {
    const { pan, expiryMonth, expiryYear, securityCode } = card.reveal();
    // PCI DSS 4.0 req. 3.3.1: the card exists here only to be sent, in this request body.
    const body = {
      merchantAccount: this.#merchantAccount,
      amount: { value: request.amountMinor, currency: request.currency },
      reference: request.idempotencyKey,
      merchantOrderReference: request.reference,
      shopperInteraction: 'Moto',
      paymentMethod: { type: 'scheme', number: pan, expiryMonth, expiryYear, cvc: securityCode },
      ...(this.#capture === 'manual' ? { additionalData: { manualCapture: 'true' } } : {}),
      ...(request.tokenise
        ? { storePaymentMethod: true, shopperReference: request.tokenise.customerReference, recurringProcessingModel: 'UnscheduledCardOnFile' }
        : {}),
    };
    return this.#pay(body, request.idempotencyKey, options.signal);
  }

  /**
   * A merchant-initiated payment on the stored card: `storedPaymentMethodId`
   * with its `shopperReference`, `shopperInteraction=ContAuth` and
   * `recurringProcessingModel=UnscheduledCardOnFile`
   * (docs.adyen.com/online-payments/tokenization/make-token-payments).
   */
  async chargeStoredCard(request: StoredCardChargeRequest, options: AuthoriseOptions = {}): Promise<AuthorisationOutcome> {
    const body = {
      merchantAccount: this.#merchantAccount,
      amount: { value: request.amountMinor, currency: request.currency },
      reference: request.idempotencyKey,
      merchantOrderReference: request.reference,
      shopperInteraction: 'ContAuth',
      recurringProcessingModel: 'UnscheduledCardOnFile',
      shopperReference: request.storedCard.customer,
      paymentMethod: { type: 'scheme', storedPaymentMethodId: request.storedCard.token },
      ...(this.#capture === 'manual' ? { additionalData: { manualCapture: 'true' } } : {}),
    };
    return this.#pay(body, request.idempotencyKey, options.signal);
  }

  /** POST /payments and its answer as an outcome. */
  async #pay(body: Record<string, unknown>, idempotencyKey: string, signal: AbortSignal | undefined): Promise<AuthorisationOutcome> {
    const res = await this.#client.post<PaymentResponse & Pick<AdyenErrorBody, 'errorCode'>>('/payments', body, {
      idempotencyKey,
      ...(signal ? { signal } : {}),
    });
    if (res.status !== 200) return httpError(res);
    const answer = res.body ?? {};
    const pspReference = answer.pspReference ?? '';
    switch (answer.resultCode) {
      case 'Authorised':
        return {
          kind: 'approved',
          pspReference,
          authCode: answer.additionalData?.authCode ?? referenceCode(pspReference),
          ...tokenOf(answer.additionalData),
        };
      case 'Refused': {
        const outcome = adyenRefusal(answer.refusalReasonCode, answer.refusalReason);
        return outcome.kind === 'declined' && pspReference ? { ...outcome, pspReference } : outcome;
      }
      case 'Error': {
        const outcome = adyenRefusal(answer.refusalReasonCode ?? '4', answer.refusalReason);
        return outcome.kind === 'error' ? outcome : { kind: 'error', code: 'processing-error', retryable: false };
      }
      case 'Cancelled':
        return { kind: 'error', code: 'cancelled', retryable: false };
      // "Received"/"Pending": Adyen has the payment, its outcome comes by webhook. In doubt until then.
      default:
        return { kind: 'error', code: `result-${(answer.resultCode ?? 'unknown').toLowerCase()}`, retryable: true };
    }
  }

  async lookup(idempotencyKey: string, options: LookupOptions = {}): Promise<AuthorisationLookup> {
    const notification = (await this.#notifications.findNotifications({ psp: this.name, merchantReference: idempotencyKey }))
      .filter((n) => n.eventCode === 'AUTHORISATION')
      .at(-1);
    if (notification) {
      if (notification.success) {
        const { authCode, token, customer } = notification.detail;
        return {
          kind: 'approved',
          pspReference: notification.pspReference,
          authCode: authCode ?? referenceCode(notification.pspReference),
          ...(token && customer ? { token: { token, customer } } : {}),
        };
      }
      const outcome = adyenRefusal(undefined, notification.detail.refusalReason);
      return outcome.kind === 'declined' ? { ...outcome, pspReference: notification.pspReference } : outcome;
    }
    const age = options.requestedAt ? this.#now().getTime() - options.requestedAt.getTime() : Number.POSITIVE_INFINITY;
    if (age < this.#waitMs) return { kind: 'error', code: 'awaiting-notification', retryable: true };
    // No word from Adyen in all that time: cancel whatever it may hold under our reference, so nothing is charged.
    const res = await this.#client.post<ModificationResponse & Pick<AdyenErrorBody, 'errorCode'>>(
      '/cancels',
      { merchantAccount: this.#merchantAccount, paymentReference: idempotencyKey, reference: `${idempotencyKey}-cancel` },
      { idempotencyKey: `${idempotencyKey}-cancel`, ...(options.signal ? { signal: options.signal } : {}) },
    );
    return res.status === 201 || res.status === 200 ? { kind: 'not-found' } : httpError(res);
  }

  async reverse(request: ReversalRequest, options: AuthoriseOptions = {}): Promise<ReversalOutcome> {
    const endpoint = { capture: 'captures', refund: 'refunds', void: 'cancels' }[request.kind];
    const path = `/payments/${encodeURIComponent(request.pspReference)}/${endpoint}`;
    const body = {
      merchantAccount: this.#merchantAccount,
      reference: request.idempotencyKey,
      ...(request.kind !== 'void' ? { amount: { value: request.amountMinor, currency: request.currency } } : {}),
    };
    const res = await this.#client.post<ModificationResponse & Pick<AdyenErrorBody, 'errorCode'>>(path, body, {
      idempotencyKey: request.idempotencyKey,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    if ((res.status === 201 || res.status === 200) && res.body?.pspReference) {
      return { kind: 'pending', pspReference: res.body.pspReference };
    }
    const error = httpError(res);
    if (error.kind === 'error' && !error.retryable && res.status === 422) return { kind: 'refused', code: error.code };
    return error.kind === 'error' ? error : { kind: 'error', code: 'unexpected-answer', retryable: false };
  }

  async checkCredentials(options: AuthoriseOptions = {}): Promise<boolean> {
    try {
      const res = await this.#client.post('/paymentMethods', { merchantAccount: this.#merchantAccount }, options.signal ? { signal: options.signal } : {});
      return res.status === 200;
    } catch {
      return false;
    }
  }
}

/**
 * A non-200 answer: 429 and 5xx may pass with the same key (Adyen's
 * idempotency keeps the first result); 401/403 are our credentials; the
 * rest (400, 422 validation) are final. Only the codes are kept.
 */
function httpError(res: AdyenResponse<Pick<AdyenErrorBody, 'errorCode'>>): AuthorisationOutcome & { kind: 'error' } {
  const code = res.body?.errorCode ? `adyen-${res.body.errorCode}` : `http-${res.status}`;
  if (res.status === 429 || res.status >= 500) return { kind: 'error', code: res.status === 429 ? 'rate-limited' : `http-${res.status}`, retryable: true };
  if (res.status === 401 || res.status === 403) return { kind: 'error', code: 'psp-authentication', retryable: false };
  return { kind: 'error', code, retryable: false };
}

/** docs.adyen.com/online-payments/tokenization: the stored card's id comes in additionalData. */
function tokenOf(additionalData: Readonly<Record<string, string>> | undefined): { token?: StoredCardToken } {
  const token = additionalData?.['tokenization.storedPaymentMethodId'] ?? additionalData?.['recurring.recurringDetailReference'];
  const customer = additionalData?.['tokenization.shopperReference'] ?? additionalData?.['recurring.shopperReference'];
  return token && customer ? { token: { token, customer } } : {};
}
