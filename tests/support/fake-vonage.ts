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
 * `holdNext()` leaves the next request unanswered; `server.failNext` injects 5xx.
 */
export class FakeVonage {
  readonly server: FakePspServer;
  readonly messages: { messageId: string; to: string; from: string; text: string; type: string; clientRef?: string }[] = [];
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
    this.messages.push({ messageId, to: sms.to, from: sms.from, text: sms.text, type: sms.type ?? 'text', ...(sms['client-ref'] ? { clientRef: sms['client-ref'] } : {}) });
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
