import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SmsCallbackError } from '../../../sms/sms-port.js';
import { VonageDeliveryReceipts, type VonageSignatureMethod } from '../../../sms/vonage-delivery-receipt.js';

const API_KEY = 'abcd1234';
const SECRET = 'fake-local-vonage-signature-secret';
const NOW = Date.parse('2030-01-02T03:04:05.000Z');
const MESSAGE_ID = '0A0000000123ABCD1';

/** Signed as developer.vonage.com's "signing messages" describes it, apart from the code under test. */
function sign(params: Record<string, string>, method: VonageSignatureMethod = 'sha256', secret = SECRET): Record<string, string> {
  const data = Object.keys(params).sort().map((k) => `&${k}=${params[k]!.replace(/[&=]/g, '_')}`).join('');
  return { ...params, sig: createHmac(method, secret).update(data).digest('hex').toUpperCase() };
}

function receipt(status: string, extra: Record<string, string> = {}, at = NOW): Record<string, string> {
  return {
    msisdn: '447400123456',
    to: 'PayIVR',
    'network-code': '23410',
    messageId: MESSAGE_ID,
    price: '0.03330000',
    status,
    scts: '3001020304',
    'err-code': status === 'delivered' ? '0' : '1',
    'api-key': API_KEY,
    'client-ref': 'pay_1',
    'message-timestamp': '2030-01-02 03:04:05',
    timestamp: String(Math.floor(at / 1000)),
    nonce: 'a9d2b8ac-bd4b-4f3c-a6cc-0c8f1d5c0e66',
    ...extra,
  };
}

const receipts = (method: VonageSignatureMethod = 'sha256') => new VonageDeliveryReceipts({ apiKey: API_KEY, signatureSecret: SECRET, method, now: () => NOW });

function refusal(run: () => unknown): string | undefined {
  try {
    run();
  } catch (err) {
    if (err instanceof SmsCallbackError) return err.reason;
    throw err;
  }
  return undefined;
}

describe("Vonage's delivery receipts (signed webhooks)", () => {
  it.each([
    ['delivered', 'delivered'],
    ['accepted', 'sent'],
    ['buffered', 'sent'],
    ['expired', 'undelivered'],
    ['failed', 'failed'],
    ['rejected', 'failed'],
    ['unknown', undefined],
  ] as const)('reads status %s as %s', (vonage, ours) => {
    expect(receipts().reportOf(sign(receipt(vonage))).state).toBe(ours);
  });

  it('keeps the err-code of a failure only', () => {
    expect(receipts().reportOf(sign(receipt('failed', { 'err-code': '6' })))).toEqual({ provider: 'vonage', messageId: MESSAGE_ID, state: 'failed', errorCode: '6' });
    expect(receipts().reportOf(sign(receipt('delivered')))).toEqual({ provider: 'vonage', messageId: MESSAGE_ID, state: 'delivered' });
  });

  it.each(['md5', 'sha1', 'sha256', 'sha512'] as const)('takes the %s HMAC, in either case of hex', (method) => {
    const signed = sign(receipt('delivered'), method);
    expect(receipts(method).reportOf(signed).state).toBe('delivered');
    expect(receipts(method).reportOf({ ...signed, sig: signed.sig!.toLowerCase() }).state).toBe('delivered');
  });

  it('signs a value holding & or = as if they were _', () => {
    const signed = sign(receipt('delivered', { 'client-ref': 'a=b&c' }));
    expect(receipts().reportOf(signed).state).toBe('delivered');
  });

  it('refuses a missing or wrong signature, another method, a changed parameter, before reading anything', () => {
    const signed = sign(receipt('delivered'));
    const { sig: _sig, ...unsigned } = signed;
    expect(refusal(() => receipts().reportOf(unsigned))).toBe('no-signature');
    expect(refusal(() => receipts().reportOf(sign(receipt('delivered'), 'sha256', 'another-signature-secret')))).toBe('bad-signature');
    expect(refusal(() => receipts('sha512').reportOf(signed))).toBe('bad-signature');
    expect(refusal(() => receipts().reportOf({ ...signed, status: 'failed' }))).toBe('bad-signature');
    expect(refusal(() => receipts().reportOf({ ...signed, sig: 'not hex' }))).toBe('bad-signature');
    expect(refusal(() => receipts().reportOf({ ...signed, status: ['delivered'] as unknown as string }))).toBe('bad-request');
  });

  it('refuses a receipt signed more than five minutes from now (a replay), and one for another API key', () => {
    expect(refusal(() => receipts().reportOf(sign(receipt('delivered', {}, NOW - 301_000))))).toBe('stale');
    expect(refusal(() => receipts().reportOf(sign(receipt('delivered', {}, NOW + 301_000))))).toBe('stale');
    expect(receipts().reportOf(sign(receipt('delivered', {}, NOW - 299_000))).state).toBe('delivered');
    expect(refusal(() => receipts().reportOf(sign(receipt('delivered', { 'api-key': 'other999' }))))).toBe('bad-request');
  });
});
