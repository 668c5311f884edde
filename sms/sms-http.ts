import { SmsSendError } from './sms-port.js';

/** An SMS provider's answer: the status and the JSON body (undefined when it was not JSON). */
export interface SmsHttpAnswer<T> {
  readonly status: number;
  readonly body: T | undefined;
}

/**
 * POSTs a form-encoded body (both Twilio's and Vonage's SMS APIs take
 * application/x-www-form-urlencoded) and reads the JSON answer. No answer in
 * `timeoutMs` (or an abort) is SmsSendError `timeout`; only the error's class
 * is kept, never the URL or the body.
 */
export async function postForm<T>(
  url: string,
  form: Readonly<Record<string, string>>,
  options: { headers?: Record<string, string>; timeoutMs: number; signal?: AbortSignal },
): Promise<SmsHttpAnswer<T>> {
  const signals = [AbortSignal.timeout(options.timeoutMs), ...(options.signal ? [options.signal] : [])];
  let res: Response;
  let text: string;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', ...options.headers },
      body: new URLSearchParams(form).toString(),
      signal: AbortSignal.any(signals),
    });
    text = await res.text();
  } catch {
    throw new SmsSendError('timeout', true);
  }
  let body: T | undefined;
  try {
    body = text ? (JSON.parse(text) as T) : undefined;
  } catch {
    body = undefined;
  }
  return { status: res.status, body };
}
