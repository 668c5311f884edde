import { createHmac, timingSafeEqual } from 'node:crypto';
import { SmsCallbackError, type SmsDeliveryReport } from './sms-port.js';

/** The HMAC of Vonage's signed webhooks (Dashboard → Settings: "MD5 HMAC", "SHA1 HMAC", "SHA-256 HMAC", "SHA-512 HMAC"). */
export type VonageSignatureMethod = 'md5' | 'sha1' | 'sha256' | 'sha512';

export interface VonageDeliveryReceiptsOptions {
  /** A receipt for another account's key is refused. */
  readonly apiKey: string;
  /** The account's signature secret (not the API secret). Never logged. */
  readonly signatureSecret: string;
  readonly method: VonageSignatureMethod;
  /** How far the signed `timestamp` may be from now. Default 5 minutes. */
  readonly toleranceMs?: number;
  readonly now?: () => number;
}

/** Vonage's DLR `status` values that change a message here (developer.vonage.com/en/messaging/sms/guides/delivery-receipts). */
const STATES: Readonly<Record<string, SmsDeliveryReport['state']>> = {
  accepted: 'sent',
  buffered: 'sent',
  delivered: 'delivered',
  expired: 'undelivered',
  failed: 'failed',
  rejected: 'failed',
};

/**
 * Vonage SMS API delivery receipts (DLRs), from an account with signed
 * webhooks: `messageId`, `status`, `err-code`, `api-key`, `timestamp`,
 * `nonce`… and `sig`, the hex HMAC keyed with the signature secret of every
 * other parameter, sorted by name, each as `&name=value` with any `&` or `=`
 * in a value read as `_` (developer.vonage.com/en/getting-started/concepts/signing-messages).
 * The signature is checked before anything else is read, then the signed
 * timestamp (a receipt replayed later is refused). The MD5 "hash" method
 * (the secret appended, no HMAC) is not taken.
 */
export class VonageDeliveryReceipts {
  readonly #options: VonageDeliveryReceiptsOptions;

  constructor(options: VonageDeliveryReceiptsOptions) {
    this.#options = options;
  }

  /**
   * The report a receipt's parameters carry (GET query, form or JSON body: Vonage sends any of the three).
   * @throws SmsCallbackError
   */
  reportOf(params: Readonly<Record<string, unknown>>): SmsDeliveryReport {
    const fields = new Map<string, string>();
    for (const [name, value] of Object.entries(params)) {
      if (typeof value !== 'string') throw new SmsCallbackError('bad-request');
      fields.set(name, value);
    }
    const sig = fields.get('sig');
    if (!sig) throw new SmsCallbackError('no-signature');
    fields.delete('sig');
    const expected = vonageSignature(this.#options.signatureSecret, this.#options.method, fields);
    const given = Buffer.from(sig.toLowerCase(), 'hex');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new SmsCallbackError('bad-signature');
    const signedAt = Number(fields.get('timestamp')) * 1000;
    const now = this.#options.now?.() ?? Date.now();
    if (!Number.isFinite(signedAt) || Math.abs(now - signedAt) > (this.#options.toleranceMs ?? 300_000)) throw new SmsCallbackError('stale');
    const messageId = fields.get('messageId') ?? '';
    const status = fields.get('status') ?? '';
    if (!messageId || !status || fields.get('api-key') !== this.#options.apiKey) throw new SmsCallbackError('bad-request');
    const state = STATES[status];
    const errorCode = fields.get('err-code');
    return { provider: 'vonage', messageId, state, ...(errorCode && (state === 'undelivered' || state === 'failed') ? { errorCode } : {}) };
  }
}

function vonageSignature(secret: string, method: VonageSignatureMethod, fields: ReadonlyMap<string, string>): Buffer {
  const signed = [...fields.keys()]
    .sort()
    .map((name) => `&${name}=${fields.get(name)!.replace(/[&=]/g, '_')}`)
    .join('');
  return createHmac(method, secret).update(signed, 'utf8').digest();
}
