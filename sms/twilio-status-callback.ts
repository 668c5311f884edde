import { createHmac, timingSafeEqual } from 'node:crypto';
import { SmsCallbackError, type SmsDeliveryReport } from './sms-port.js';

export interface TwilioStatusCallbackOptions {
  /** `AC…`: a callback for another account is refused. */
  readonly accountSid: string;
  /** The key of Twilio's signatures. Never logged. */
  readonly authToken: string;
  /** The StatusCallback URL exactly as the Messages requests give it: Twilio signs it. */
  readonly url: string;
}

/** Twilio's MessageStatus values that change a message here (twilio.com/docs/messaging/api/message-resource#message-status-values). */
const STATES: Readonly<Record<string, SmsDeliveryReport['state']>> = {
  sent: 'sent',
  delivered: 'delivered',
  read: 'delivered',
  undelivered: 'undelivered',
  failed: 'failed',
  canceled: 'failed',
};

/**
 * Twilio's message status callbacks (the StatusCallback of each message):
 * form-encoded `MessageSid`, `MessageStatus`, `ErrorCode` (with undelivered
 * and failed), `AccountSid`…, signed in `X-Twilio-Signature`: the base64
 * HMAC-SHA1, keyed with the Auth Token, of the full URL followed by every
 * POST parameter's name and value, sorted by name
 * (twilio.com/docs/usage/webhooks/webhooks-security). The signature is
 * checked before anything else is read.
 */
export class TwilioStatusCallback {
  readonly #options: TwilioStatusCallbackOptions;

  constructor(options: TwilioStatusCallbackOptions) {
    this.#options = options;
  }

  /**
   * The report a form-encoded callback body carries.
   * @throws SmsCallbackError
   */
  reportOf(body: string, signature: string | undefined): SmsDeliveryReport {
    if (!signature) throw new SmsCallbackError('no-signature');
    const params = new URLSearchParams(body);
    const expected = twilioSignature(this.#options.authToken, this.#options.url, params);
    const given = Buffer.from(signature, 'base64');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new SmsCallbackError('bad-signature');
    const sid = params.get('MessageSid') ?? '';
    const status = params.get('MessageStatus') ?? '';
    if (!/^[SM]M[0-9a-f]{32}$/.test(sid) || !status || params.get('AccountSid') !== this.#options.accountSid) throw new SmsCallbackError('bad-request');
    const state = STATES[status];
    const errorCode = params.get('ErrorCode');
    return { provider: 'twilio', messageId: sid, state, ...(errorCode && (state === 'undelivered' || state === 'failed') ? { errorCode } : {}) };
  }
}

/** HMAC-SHA1 over the URL then each parameter's name and value, by name (a name given twice: its values in order). */
function twilioSignature(authToken: string, url: string, params: URLSearchParams): Buffer {
  const names = [...new Set(params.keys())].sort();
  const signed = names.reduce((data, name) => data + params.getAll(name).sort().map((value) => name + value).join(''), url);
  return createHmac('sha1', authToken).update(signed, 'utf8').digest();
}
