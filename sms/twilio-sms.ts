import { postForm } from './sms-http.js';
import { SmsSendError, type SentMessage, type SmsSendOptions, type SmsSender, type TextMessage } from './sms-port.js';

export interface TwilioSmsOptions {
  /** `AC…`: the account, and the Basic auth user. */
  readonly accountSid: string;
  /** The Basic auth password. Never logged. */
  readonly authToken: string;
  /** A Twilio number in E.164, or a Messaging Service `MG…` (sent as MessagingServiceSid). */
  readonly from: string;
  /** Where requests go. Default https://api.twilio.com. */
  readonly apiBase?: string;
  /** Where Twilio posts the message's status changes (queued, sent, delivered, failed…); unset: none asked. */
  readonly statusCallbackUrl?: string;
  /** Default 10 000 ms. */
  readonly timeoutMs?: number;
}

/** Twilio's error body (twilio.com/docs/usage/twilios-response#response-formats-exceptions). */
interface TwilioError {
  readonly code?: number;
  readonly status?: number;
}

/**
 * Twilio Programmable Messaging: POST /2010-04-01/Accounts/{AccountSid}/Messages.json,
 * form-encoded `To`, `From` (or `MessagingServiceSid`), `Body` and
 * `StatusCallback`, HTTP Basic auth with the Account SID and Auth Token
 * (twilio.com/docs/messaging/api/message-resource#create-a-message-resource).
 * 201 with the Message's `sid`; 4xx carry Twilio's error `code` (21211: the
 * To number is invalid); 429 and 5xx may pass later.
 */
export class TwilioSms implements SmsSender {
  readonly name = 'twilio';
  readonly #options: TwilioSmsOptions;
  readonly #url: string;

  constructor(options: TwilioSmsOptions) {
    this.#options = options;
    const base = (options.apiBase ?? 'https://api.twilio.com').replace(/\/+$/, '');
    this.#url = `${base}/2010-04-01/Accounts/${encodeURIComponent(options.accountSid)}/Messages.json`;
  }

  async send(message: TextMessage, options: SmsSendOptions = {}): Promise<SentMessage> {
    const { from, accountSid, authToken, statusCallbackUrl } = this.#options;
    const form: Record<string, string> = {
      To: message.to,
      ...(from.startsWith('MG') ? { MessagingServiceSid: from } : { From: from }),
      Body: message.body,
      ...(statusCallbackUrl ? { StatusCallback: statusCallbackUrl } : {}),
    };
    const res = await postForm<{ sid?: string } & TwilioError>(this.#url, form, {
      headers: { authorization: `Basic ${Buffer.from(`${accountSid}:${authToken}`).toString('base64')}` },
      timeoutMs: this.#options.timeoutMs ?? 10_000,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    if (res.status === 201 && res.body?.sid) return { messageId: res.body.sid };
    if (res.status === 429 || res.status >= 500) throw new SmsSendError(`http-${res.status}`, true);
    if (res.status === 401 || res.status === 403) throw new SmsSendError('sms-authentication', false);
    throw new SmsSendError(res.body?.code ? `twilio-${res.body.code}` : `http-${res.status}`, false);
  }
}
