import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SmsCallbackError } from '../../../sms/sms-port.js';
import { TwilioStatusCallback } from '../../../sms/twilio-status-callback.js';

const ACCOUNT = `AC${'0123456789abcdef'.repeat(2)}`;
const TOKEN = 'fake-local-twilio-auth-token-0123';
const URL = 'https://ivr.example/sms/twilio/status';
const SID = `SM${'ab'.repeat(16)}`;

/** Signed as twilio.com/docs/usage/webhooks/webhooks-security describes it, apart from the code under test. */
function signed(params: Record<string, string>, token = TOKEN, url = URL): { body: string; signature: string } {
  const data = url + Object.keys(params).sort().map((k) => k + params[k]).join('');
  return { body: new URLSearchParams(params).toString(), signature: createHmac('sha1', token).update(data).digest('base64') };
}

const callback = new TwilioStatusCallback({ accountSid: ACCOUNT, authToken: TOKEN, url: URL });
const status = (MessageStatus: string, extra: Record<string, string> = {}) =>
  signed({ MessageSid: SID, SmsSid: SID, AccountSid: ACCOUNT, MessageStatus, SmsStatus: MessageStatus, To: '+447400123456', From: '+15005550006', ApiVersion: '2010-04-01', ...extra });

function refusal(run: () => unknown): string | undefined {
  try {
    run();
  } catch (err) {
    if (err instanceof SmsCallbackError) return err.reason;
    throw err;
  }
  return undefined;
}

describe("Twilio's message status callbacks", () => {
  it("checks Twilio's own published example: the signature of a URL with a query and five parameters", () => {
    // twilio.com/docs/usage/security: auth token 12345, the URL and parameters below sign to 0/KCTR6DLpKmkAf8muzZqo1nDgQ=.
    const example = new TwilioStatusCallback({ accountSid: ACCOUNT, authToken: '12345', url: 'https://mycompany.com/myapp.php?foo=1&bar=2' });
    const body = new URLSearchParams({ CallSid: 'CA1234567890ABCDE', Caller: '+12349013030', Digits: '1234', From: '+12349013030', To: '+18005551212' }).toString();
    // Signature accepted; then refused only because a call's callback is not a message's.
    expect(refusal(() => example.reportOf(body, '0/KCTR6DLpKmkAf8muzZqo1nDgQ='))).toBe('bad-request');
    expect(refusal(() => example.reportOf(body.replace('1234', '1235'), '0/KCTR6DLpKmkAf8muzZqo1nDgQ='))).toBe('bad-signature');
  });

  it.each([
    ['delivered', 'delivered'],
    ['read', 'delivered'],
    ['sent', 'sent'],
    ['failed', 'failed'],
    ['canceled', 'failed'],
    ['undelivered', 'undelivered'],
  ] as const)('reads MessageStatus %s as %s', (twilio, ours) => {
    const { body, signature } = status(twilio);
    expect(callback.reportOf(body, signature)).toEqual({ provider: 'twilio', messageId: SID, state: ours });
  });

  it('keeps the ErrorCode of an undelivered or failed message only', () => {
    const undelivered = status('undelivered', { ErrorCode: '30003' });
    expect(callback.reportOf(undelivered.body, undelivered.signature)).toMatchObject({ state: 'undelivered', errorCode: '30003' });
    const delivered = status('delivered', { ErrorCode: '0' });
    expect(callback.reportOf(delivered.body, delivered.signature)).not.toHaveProperty('errorCode');
  });

  it('reads queued, sending and statuses it does not know as changing nothing', () => {
    for (const s of ['queued', 'accepted', 'sending', 'something-new']) {
      const { body, signature } = status(s);
      expect(callback.reportOf(body, signature).state).toBeUndefined();
    }
  });

  it('refuses a missing signature, another key, another URL and a changed parameter before reading anything', () => {
    const { body, signature } = status('delivered');
    expect(refusal(() => callback.reportOf(body, undefined))).toBe('no-signature');
    expect(refusal(() => callback.reportOf(body, status('delivered').signature.slice(0, -4)))).toBe('bad-signature');
    expect(refusal(() => callback.reportOf(body, signed(Object.fromEntries(new URLSearchParams(body)), 'another-auth-token-0000000').signature))).toBe('bad-signature');
    expect(refusal(() => callback.reportOf(body, signed(Object.fromEntries(new URLSearchParams(body)), TOKEN, 'https://elsewhere.example/sms/twilio/status').signature))).toBe('bad-signature');
    expect(refusal(() => callback.reportOf(body.replace('delivered', 'failed'), signature))).toBe('bad-signature');
    expect(refusal(() => callback.reportOf(`${body}&Extra=1`, signature))).toBe('bad-signature');
  });

  it("refuses another account's callback, signed or not", () => {
    const other = status('delivered', { AccountSid: `AC${'f'.repeat(32)}` });
    expect(refusal(() => callback.reportOf(other.body, other.signature))).toBe('bad-request');
  });
});
