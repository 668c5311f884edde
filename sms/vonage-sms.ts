import { postForm } from './sms-http.js';
import { SmsSendError, type SentMessage, type SmsSendOptions, type SmsSender, type TextMessage } from './sms-port.js';

export interface VonageSmsOptions {
  readonly apiKey: string;
  /** Never logged. */
  readonly apiSecret: string;
  /** A Vonage number (digits) or an alphanumeric sender id. */
  readonly from: string;
  /** Where requests go. Default https://rest.nexmo.com. */
  readonly apiBase?: string;
  /** Where Vonage sends this message's delivery receipt (`callback`); unset: the account's webhook, if any. */
  readonly statusCallbackUrl?: string;
  /** Default 10 000 ms. */
  readonly timeoutMs?: number;
}

/** One message of Vonage's answer (developer.vonage.com/en/api/sms#send-an-sms: `status` "0" is success). */
interface VonageMessageStatus {
  readonly status?: string;
  readonly 'message-id'?: string;
}

/** Vonage statuses worth trying again later: 1 Throttled, 5 Internal Error. */
const RETRYABLE = new Set(['1', '5']);

/**
 * The Vonage SMS API: POST /sms/json, form-encoded `api_key`, `api_secret`,
 * `from`, `to` (E.164 without the leading +), `text` (`type=unicode` when it
 * is not GSM-7 plain), `client-ref`, `callback` (where its delivery receipt goes). Vonage answers 200 for every accepted
 * request: each message's `status` says whether it went.
 */
export class VonageSms implements SmsSender {
  readonly name = 'vonage';
  readonly #options: VonageSmsOptions;
  readonly #url: string;

  constructor(options: VonageSmsOptions) {
    this.#options = options;
    this.#url = `${(options.apiBase ?? 'https://rest.nexmo.com').replace(/\/+$/, '')}/sms/json`;
  }

  async send(message: TextMessage, options: SmsSendOptions = {}): Promise<SentMessage> {
    const form: Record<string, string> = {
      api_key: this.#options.apiKey,
      api_secret: this.#options.apiSecret,
      from: this.#options.from,
      to: message.to.replace(/^\+/, ''),
      text: message.body,
      // Accents (the French messages) are not all in the GSM-7 alphabet: send UCS-2.
      ...(/^[\x20-\x7e\n]*$/.test(message.body) ? {} : { type: 'unicode' }),
      ...(message.sessionId ? { 'client-ref': message.sessionId } : {}),
      ...(this.#options.statusCallbackUrl ? { callback: this.#options.statusCallbackUrl } : {}),
    };
    const res = await postForm<{ messages?: VonageMessageStatus[] }>(this.#url, form, {
      timeoutMs: this.#options.timeoutMs ?? 10_000,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    if (res.status === 429 || res.status >= 500) throw new SmsSendError(`http-${res.status}`, true);
    if (res.status === 401) throw new SmsSendError('sms-authentication', false);
    const first = res.body?.messages?.[0];
    if (res.status === 200 && first?.status === '0' && first['message-id']) return { messageId: first['message-id'] };
    const status = first?.status ?? `http-${res.status}`;
    if (status === '4') throw new SmsSendError('sms-authentication', false);
    throw new SmsSendError(first?.status ? `vonage-${status}` : status, RETRYABLE.has(status));
  }
}
