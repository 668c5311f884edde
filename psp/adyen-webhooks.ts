import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type { PspNotificationRecord, PspRecordStore } from '../store/psp-record-store.js';
import type { PaymentReversals } from './payment-reversals.js';

/** A webhook body that is not Adyen's shape, or an item whose HMAC signature does not verify. */
export class AdyenWebhookError extends Error {
  override readonly name = 'AdyenWebhookError';
  constructor(
    readonly reason: 'malformed' | 'bad-signature',
    message: string,
  ) {
    super(message);
  }
}

/**
 * One NotificationRequestItem of Adyen's standard webhook
 * (docs.adyen.com/api-explorer/Webhooks/1/post/AUTHORISATION). Only the fields
 * the signature covers and the few we read are declared; the rest of what
 * Adyen sends (card summary, expiry, issuer country...) is ignored and never kept.
 */
const itemSchema = z.object({
  eventCode: z.string().min(1),
  pspReference: z.string().min(1),
  originalReference: z.string().optional(),
  merchantAccountCode: z.string(),
  merchantReference: z.string(),
  amount: z.object({ value: z.number().int(), currency: z.string() }),
  success: z.enum(['true', 'false']),
  reason: z.string().optional(),
  additionalData: z.record(z.string(), z.string()).optional(),
});
export type AdyenNotificationItem = z.infer<typeof itemSchema>;

const bodySchema = z.object({
  live: z.enum(['true', 'false']),
  notificationItems: z.array(z.object({ NotificationRequestItem: itemSchema })).min(1),
});

/**
 * The HMAC signature of an item (docs.adyen.com/development-resources/webhooks/verify-hmac-signatures):
 * HMAC-SHA256 with the hex-decoded key over
 * pspReference:originalReference:merchantAccountCode:merchantReference:value:currency:eventCode:success,
 * base64.
 */
export function adyenHmacSignature(item: AdyenNotificationItem, hexKey: string): string {
  const signed = [
    item.pspReference,
    item.originalReference ?? '',
    item.merchantAccountCode,
    item.merchantReference,
    String(item.amount.value),
    item.amount.currency,
    item.eventCode,
    item.success,
  ].join(':');
  return createHmac('sha256', Buffer.from(hexKey, 'hex')).update(signed, 'utf8').digest('base64');
}

/** The items of a webhook body, each signature verified. @throws AdyenWebhookError */
export function verifiedItems(body: unknown, hexKey: string): AdyenNotificationItem[] {
  const parsed = bodySchema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new AdyenWebhookError('malformed', `not an Adyen notification: ${issue.path.join('.') || 'body'}: ${issue.message}`);
  }
  return parsed.data.notificationItems.map(({ NotificationRequestItem: item }) => {
    const given = Buffer.from(item.additionalData?.hmacSignature ?? '', 'base64');
    const expected = Buffer.from(adyenHmacSignature(item, hexKey), 'base64');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw new AdyenWebhookError('bad-signature', `notification ${item.eventCode} for ${item.merchantReference}: HMAC signature does not verify`);
    }
    return item;
  });
}

/**
 * What is kept of an item: the references, the outcome, and for an
 * AUTHORISATION only the authorisation code (a successful one's `reason` is
 * "authCode:last4:expiry": the rest is dropped) or the refusal reason, and the
 * stored card's token when Adyen stored it.
 */
export function reduceNotification(item: AdyenNotificationItem): Omit<PspNotificationRecord, 'receivedAt'> {
  const success = item.success === 'true';
  const detail: Record<string, string> = {};
  if (item.eventCode === 'AUTHORISATION') {
    const authCode = success ? item.reason?.split(':')[0] : undefined;
    if (authCode) detail.authCode = authCode;
    if (!success && item.reason) detail.refusalReason = item.reason;
    const token = item.additionalData?.['tokenization.storedPaymentMethodId'] ?? item.additionalData?.['recurring.recurringDetailReference'];
    const customer = item.additionalData?.['tokenization.shopperReference'] ?? item.additionalData?.['recurring.shopperReference'];
    if (success && token && customer) Object.assign(detail, { token, customer });
  } else if (!success && item.reason) {
    detail.refusalReason = item.reason;
  }
  return {
    psp: 'adyen',
    eventCode: item.eventCode,
    pspReference: item.pspReference,
    originalReference: item.originalReference ?? null,
    merchantReference: item.merchantReference,
    success,
    detail,
  };
}

/** Modification events that settle a pending refund or void. */
const REVERSAL_EVENTS: ReadonlySet<string> = new Set(['CAPTURE', 'CAPTURE_FAILED', 'REFUND', 'CANCELLATION', 'CANCEL_OR_REFUND', 'REFUND_FAILED', 'REFUNDED_REVERSED']);
/** Events that report a modification that did not go through after all, whatever their `success`. */
const FAILED_EVENTS: ReadonlySet<string> = new Set(['CAPTURE_FAILED', 'REFUND_FAILED', 'REFUNDED_REVERSED']);

/**
 * Takes Adyen's webhooks: verifies every item's HMAC before keeping any,
 * keeps them reduced (the AUTHORISATION ones answer the adapter's `lookup`),
 * and settles pending captures, refunds and voids from CAPTURE, REFUND and CANCELLATION events.
 */
export class AdyenWebhookHandler {
  readonly #hmacKey: string;
  readonly #records: PspRecordStore;
  readonly #reversals: PaymentReversals;
  readonly #onItem: ((item: AdyenNotificationItem) => Promise<unknown> | void) | undefined;

  /** `onItem`: told every verified item once it is kept, and waited for (payment links read their AUTHORISATION ones). */
  constructor(options: { hmacKey: string; records: PspRecordStore; reversals: PaymentReversals; onItem?: (item: AdyenNotificationItem) => Promise<unknown> | void }) {
    this.#hmacKey = options.hmacKey;
    this.#records = options.records;
    this.#reversals = options.reversals;
    this.#onItem = options.onItem;
  }

  /** Returns how many items were kept. @throws AdyenWebhookError (nothing is kept then) */
  async handle(body: unknown): Promise<number> {
    const items = verifiedItems(body, this.#hmacKey);
    for (const item of items) {
      const kept = await this.#records.recordNotification(reduceNotification(item));
      if (REVERSAL_EVENTS.has(item.eventCode)) {
        // CAPTURE_FAILED, REFUND_FAILED and REFUNDED_REVERSED report a modification that did not go through after all.
        const failed = FAILED_EVENTS.has(item.eventCode);
        await this.#reversals.settleFromPsp(item.pspReference, kept.success && !failed, kept.detail.refusalReason ?? (failed ? item.eventCode.toLowerCase() : null));
      }
      await this.#onItem?.(item);
    }
    return items.length;
  }
}
