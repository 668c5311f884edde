import { createHmac } from 'node:crypto';
import { z } from 'zod';
import { FakePspServer, firstIssue, randomId, type FakeAnswer, type ReceivedRequest } from './fake-psp-server.js';
import { parseForm } from './fake-stripe.js';

/**
 * A local Twilio Messages API for tests (twilio.com/docs/messaging/api/message-resource):
 *
 * - POST /2010-04-01/Accounts/{AccountSid}/Messages.json, HTTP Basic auth
 *   (Account SID : Auth Token, the SID the same as the path's; else 401 code
 *   20003), form-encoded only; `To` in E.164 (else 400 code 21211), exactly
 *   one of `From` / `MessagingServiceSid` (21603 when neither), `Body`
 *   (21602 when missing, at most 1600 characters: 21617), `StatusCallback` a URL.
 *   Stricter than Twilio on one point: an unknown parameter is a 400 (Twilio
 *   ignores it), so a misspelt one cannot pass unnoticed.
 * - 201 with the Message resource (`sid` SM…, `status` queued).
 * - Status callbacks: `report(sid, status, errorCode?)` is the carrier's word
 *   on a message; Twilio POSTs it to the message's StatusCallback, form-encoded
 *   (`MessageSid`, `SmsSid`, `MessageStatus`, `SmsStatus`, `AccountSid`, `From`,
 *   `To`, `ApiVersion`, `ErrorCode` with undelivered and failed), signed in
 *   `X-Twilio-Signature` as twilio.com/docs/usage/webhooks/webhooks-security
 *   says (base64 HMAC-SHA1 with the Auth Token of the URL then each parameter's
 *   name and value, sorted by name), independently of the system's verifier.
 *
 * `holdNext()` leaves the next request unanswered (a provider that hangs);
 * `server.failNext` injects 5xx.
 */
export class FakeTwilio {
  readonly server: FakePspServer;
  /** Messages accepted, in order. */
  readonly messages: { sid: string; to: string; from: string; body: string; statusCallback?: string }[] = [];
  /** Status callbacks sent: the status and what our endpoint answered. */
  readonly callbacks: { sid: string; status: string; answered: number }[] = [];
  #hold = 0;

  constructor(
    readonly accountSid = `AC${'0123456789abcdef'.repeat(2)}`,
    readonly authToken = 'fake-local-twilio-auth-token-0123',
    readonly from = '+15005550006',
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
   * The carrier's word on message `sid`: Twilio posts `status` (sent,
   * delivered, undelivered, failed…) to its StatusCallback. `authToken`: sign
   * with another token (a forged callback). Resolves with our answer's status.
   */
  async report(sid: string, status: string, options: { errorCode?: string; authToken?: string } = {}): Promise<number> {
    const message = this.messages.find((m) => m.sid === sid);
    if (!message?.statusCallback) throw new Error(`fake Twilio: message ${sid} asked for no status callback`);
    const params: Record<string, string> = {
      ApiVersion: '2010-04-01',
      AccountSid: this.accountSid,
      MessageSid: sid,
      SmsSid: sid,
      MessageStatus: status,
      SmsStatus: status,
      To: message.to,
      From: message.from,
      ...(options.errorCode ? { ErrorCode: options.errorCode } : {}),
    };
    const signed = message.statusCallback + Object.keys(params).sort().map((k) => k + params[k]).join('');
    const signature = createHmac('sha1', options.authToken ?? this.authToken).update(signed).digest('base64');
    const res = await fetch(message.statusCallback, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8', 'x-twilio-signature': signature, 'user-agent': 'TwilioProxy/1.1' },
      body: new URLSearchParams(params).toString(),
    });
    await res.text();
    this.callbacks.push({ sid, status, answered: res.status });
    return res.status;
  }

  #handle(request: ReceivedRequest): FakeAnswer {
    const path = /^\/2010-04-01\/Accounts\/(AC[0-9a-f]{32})\/Messages\.json$/.exec(request.path);
    if (request.method !== 'POST' || !path) return twilioError(404, 20404, 'The requested resource was not found');
    const expected = `Basic ${Buffer.from(`${this.accountSid}:${this.authToken}`).toString('base64')}`;
    if (request.headers.authorization !== expected || path[1] !== this.accountSid) return twilioError(401, 20003, 'Authenticate');
    if (!/^application\/x-www-form-urlencoded/.test(request.headers['content-type'] ?? '')) return twilioError(400, 20001, 'Unsupported content type: the API takes form-encoded parameters');
    if (this.#hold > 0) {
      this.#hold--;
      return 'hold';
    }
    const parsed = messageCreate.safeParse(parseForm(request.body));
    if (!parsed.success) {
      const issue = firstIssue(parsed.error);
      const field = issue.keys[0] ?? issue.path[0] ?? '';
      if (issue.code === 'unrecognized_keys') return twilioError(400, 21000, `Unknown parameter ${field}`);
      if (field === 'To') return twilioError(400, 21211, "Invalid 'To' Phone Number");
      if (field === 'Body') return twilioError(400, issue.code === 'too_big' ? 21617 : 21602, 'Message body is required and at most 1600 characters');
      return twilioError(400, 21000, `Invalid parameter ${field}`);
    }
    const p = parsed.data;
    if ((p.From === undefined) === (p.MessagingServiceSid === undefined)) return twilioError(400, 21603, "A 'From' phone number or a MessagingServiceSid is required (one of them)");
    const sid = `SM${randomId(32, '0123456789abcdef')}`;
    const from = p.From ?? p.MessagingServiceSid!;
    this.messages.push({ sid, to: p.To, from, body: p.Body, ...(p.StatusCallback ? { statusCallback: p.StatusCallback } : {}) });
    return {
      status: 201,
      body: { sid, account_sid: this.accountSid, to: p.To, from: p.From ?? null, messaging_service_sid: p.MessagingServiceSid ?? null, body: p.Body, status: 'queued', direction: 'outbound-api', api_version: '2010-04-01', num_segments: '1', error_code: null, error_message: null, date_created: new Date().toUTCString() },
    };
  }
}

const messageCreate = z
  .object({
    To: z.string().regex(/^\+[1-9]\d{1,14}$/, 'E.164'),
    From: z.string().regex(/^(\+[1-9]\d{1,14}|[A-Za-z0-9 ]{1,11})$/).optional(),
    MessagingServiceSid: z.string().regex(/^MG[0-9a-f]{32}$/).optional(),
    Body: z.string().min(1).max(1600),
    StatusCallback: z.url().optional(),
  })
  .strict();

function twilioError(status: number, code: number, message: string): FakeAnswer {
  return { status, body: { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status } };
}
