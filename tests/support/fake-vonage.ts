import { createHmac, randomUUID } from 'node:crypto';
import { z } from 'zod';
import { FakePspServer, firstIssue, randomId, type FakeAnswer, type ReceivedRequest } from './fake-psp-server.js';
import { parseForm } from './fake-stripe.js';

/**
 * A local Vonage SMS API for tests (developer.vonage.com/en/api/sms#send-an-sms):
 *
 * - POST /sms/json with `api_key` and `api_secret` in the parameters,
 *   form-encoded or JSON; `from`, `to` (E.164 digits, no +), `text`;
 *   optional `type` (text | unicode), `client-ref` (≤ 100), `callback`,
 *   `status-report-req`. Stricter than Vonage on one point: an unknown
 *   parameter is refused, so a misspelt one cannot pass unnoticed.
 * - Vonage answers 200 for every request it reads and puts the outcome in
 *   each message's `status`: "0" sent, "2" missing parameters, "3" invalid
 *   parameters, "4" invalid credentials; the fake does the same.
 *
 * - Delivery receipts: `report(messageId, status, errCode)` is the carrier's
 *   word on a message; Vonage sends it to the message's `callback` (else the
 *   account's `receiptUrl`) as the account's settings say (GET, POST or
 *   POST-JSON): `msisdn`, `to`, `network-code`, `messageId`, `price`,
 *   `status`, `scts`, `err-code`, `api-key`, `client-ref`,
 *   `message-timestamp`, `timestamp`, `nonce` and, the account having signed
 *   webhooks, `sig`: the hex HMAC with the signature secret of the others,
 *   sorted by name, each `&name=value` with `&` and `=` in a value made `_`
 *   (developer.vonage.com/en/getting-started/concepts/signing-messages),
 *   independently of the system's verifier.
 *
 * `holdNext()` leaves the next request unanswered; `server.failNext` injects 5xx.
 */
export class FakeVonage {
  readonly server: FakePspServer;
  readonly messages: { messageId: string; to: string; from: string; text: string; type: string; clientRef?: string; callback?: string }[] = [];
  /** Receipts sent: the status and what our endpoint answered. */
  readonly receipts: { messageId: string; status: string; answered: number }[] = [];
  /** The account's delivery receipt webhook (Dashboard → Settings), for messages sent with no `callback`. */
  receiptUrl: string | undefined;
  /** How the account's webhooks are sent (Dashboard → Settings → HTTP Method). */
  receiptMethod: 'GET' | 'POST' | 'POST-JSON' = 'POST';
  /** The account's signature secret and method (signed webhooks on). */
  signatureSecret = 'fake-local-vonage-signature-secret';
  signatureMethod: 'md5' | 'sha1' | 'sha256' | 'sha512' = 'sha256';
  #hold = 0;

  constructor(
    readonly apiKey = 'abcd1234',
    readonly apiSecret = 'fakeLocalSecret01',
    readonly from = 'PayIVR',
  ) {
    this.server = new FakePspServer((request) => this.#handle(request));
  }

  start(): Promise<string> {
    return this.server.start();
  }

  close(): Promise<void> {
    return this.server.close();
  }

  holdNext(count = 1): void {
    this.#hold += count;
  }

  /**
   * The carrier's word on message `messageId`: a delivery receipt with
   * `status` (delivered, expired, failed, rejected, accepted, buffered) and
   * `errCode` ("0" delivered). `secret`: sign with another secret (a forged
   * receipt); `signedAt`: its timestamp (ms). Resolves with our answer's status.
   */
  async report(messageId: string, status: string, options: { errCode?: string; secret?: string; signedAt?: number } = {}): Promise<number> {
    const message = this.messages.find((m) => m.messageId === messageId);
    const url = message?.callback ?? this.receiptUrl;
    if (!message || !url) throw new Error(`fake Vonage: no receipt webhook for ${messageId}`);
    const at = new Date(options.signedAt ?? Date.now());
    const params: Record<string, string> = {
      msisdn: message.to,
      to: message.from,
      'network-code': '23410',
      messageId,
      price: '0.03330000',
      status,
      scts: at.toISOString().slice(2, 16).replace(/\D/g, ''),
      'err-code': options.errCode ?? (status === 'delivered' ? '0' : '1'),
      'api-key': this.apiKey,
      ...(message.clientRef ? { 'client-ref': message.clientRef } : {}),
      'message-timestamp': at.toISOString().slice(0, 19).replace('T', ' '),
      timestamp: String(Math.floor(at.getTime() / 1000)),
      nonce: randomUUID(),
    };
    const signed = Object.keys(params).sort().map((k) => `&${k}=${params[k]!.replace(/[&=]/g, '_')}`).join('');
    params.sig = createHmac(this.signatureMethod, options.secret ?? this.signatureSecret).update(signed).digest('hex');
    const form = new URLSearchParams(params).toString();
    const res =
      this.receiptMethod === 'GET'
        ? await fetch(`${url}?${form}`)
        : await fetch(url, {
            method: 'POST',
            headers: { 'content-type': this.receiptMethod === 'POST' ? 'application/x-www-form-urlencoded' : 'application/json' },
            body: this.receiptMethod === 'POST' ? form : JSON.stringify(params),
          });
    await res.text();
    this.receipts.push({ messageId, status, answered: res.status });
    return res.status;
  }

  #handle(request: ReceivedRequest): FakeAnswer {
    if (request.method !== 'POST' || request.path !== '/sms/json') return { status: 404, body: { type: 'https://developer.vonage.com/api-errors#not-found', title: 'Not Found' } };
    const type = request.headers['content-type'] ?? '';
    let params: unknown;
    if (/^application\/x-www-form-urlencoded/.test(type)) params = parseForm(request.body);
    else if (/^application\/json/.test(type)) params = JSON.parse(request.body || '{}');
    else return outcome('2', 'Missing api_key');
    if (this.#hold > 0) {
      this.#hold--;
      return 'hold';
    }
    const p = params as Record<string, unknown>;
    if (p.api_key === undefined || p.api_secret === undefined) return outcome('2', 'Missing api_key or api_secret');
    if (p.api_key !== this.apiKey || p.api_secret !== this.apiSecret) return outcome('4', 'Bad Credentials');
    const parsed = smsRequest.safeParse(params);
    if (!parsed.success) {
      const issue = firstIssue(parsed.error);
      const missing = issue.code === 'invalid_type' && /received undefined/.test(issue.message);
      return outcome(missing ? '2' : '3', `${missing ? 'Missing' : 'Invalid'} ${issue.keys[0] ?? issue.path.join('.')}`);
    }
    const sms = parsed.data;
    const messageId = randomId(36, '0123456789abcdef-');
    this.messages.push({ messageId, to: sms.to, from: sms.from, text: sms.text, type: sms.type ?? 'text', ...(sms['client-ref'] ? { clientRef: sms['client-ref'] } : {}), ...(sms.callback ? { callback: sms.callback } : {}) });
    return {
      status: 200,
      body: { 'message-count': '1', messages: [{ to: sms.to, 'message-id': messageId, status: '0', 'remaining-balance': '3.14159265', 'message-price': '0.03330000', network: '23410', ...(sms['client-ref'] ? { 'client-ref': sms['client-ref'] } : {}) }] },
    };
  }
}

const smsRequest = z
  .object({
    api_key: z.string(),
    api_secret: z.string(),
    from: z.string().regex(/^(\d{1,15}|[A-Za-z0-9 ]{1,11})$/),
    // developer.vonage.com: "the number in E.164 format", written without a leading + or 00.
    to: z.string().regex(/^[1-9]\d{6,14}$/, 'E.164 digits without +'),
    text: z.string().min(1),
    type: z.enum(['text', 'binary', 'unicode']).optional(),
    'client-ref': z.string().max(100).optional(),
    callback: z.url().optional(),
    'status-report-req': z.enum(['true', 'false']).optional(),
  })
  .strict();

function outcome(status: string, errorText: string): FakeAnswer {
  return { status: 200, body: { 'message-count': '1', messages: [{ status, 'error-text': errorText }] } };
}
