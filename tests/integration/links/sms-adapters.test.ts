import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SmsSendError } from '../../../sms/sms-port.js';
import { TwilioSms } from '../../../sms/twilio-sms.js';
import { VonageSms } from '../../../sms/vonage-sms.js';
import { FakeTwilio } from '../../support/fake-twilio.js';
import { FakeVonage } from '../../support/fake-vonage.js';

const TO = '+447400123456';

describe('Twilio Messages, against the strict fake Twilio', () => {
  const twilio = new FakeTwilio();
  let base: string;
  const sms = (extra: Partial<ConstructorParameters<typeof TwilioSms>[0]> = {}) =>
    new TwilioSms({ accountSid: twilio.accountSid, authToken: twilio.authToken, from: twilio.from, apiBase: base, timeoutMs: 1000, ...extra });

  beforeAll(async () => {
    base = await twilio.start();
  });
  afterAll(() => twilio.close());

  it('sends To, From, Body and StatusCallback form-encoded with Basic auth, and gets the message sid', async () => {
    const sent = await sms({ statusCallbackUrl: 'https://ivr.example/sms/status' }).send({ to: TO, body: 'Pay here: https://x.example/p' });
    expect(sent.messageId).toMatch(/^SM[0-9a-f]{32}$/);
    expect(twilio.messages.at(-1)).toMatchObject({ to: TO, from: twilio.from, body: 'Pay here: https://x.example/p', statusCallback: 'https://ivr.example/sms/status' });
  });

  it('sends a Messaging Service as MessagingServiceSid', async () => {
    const service = `MG${'a'.repeat(32)}`;
    await sms({ from: service }).send({ to: TO, body: 'hello' });
    expect(twilio.messages.at(-1)?.from).toBe(service);
  });

  it('the fake refuses what Twilio refuses: a number not in E.164 (21211), bad credentials (20003)', async () => {
    await expect(sms().send({ to: '07400123456', body: 'x' })).rejects.toMatchObject({ name: 'SmsSendError', code: 'twilio-21211', retryable: false });
    await expect(sms({ authToken: 'wrong' }).send({ to: TO, body: 'x' })).rejects.toMatchObject({ code: 'sms-authentication' });
  });

  it('a 5xx and no answer in time are retryable SmsSendErrors', async () => {
    twilio.server.failNext('POST', '/2010-04-01', 503);
    await expect(sms().send({ to: TO, body: 'x' })).rejects.toMatchObject({ code: 'http-503', retryable: true });
    twilio.holdNext();
    const err = await sms({ timeoutMs: 200 }).send({ to: TO, body: 'x' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SmsSendError);
    expect(err).toMatchObject({ code: 'timeout', retryable: true });
  });
});

describe('Vonage SMS, against the strict fake Vonage', () => {
  const vonage = new FakeVonage();
  let base: string;
  const sms = (extra: Partial<ConstructorParameters<typeof VonageSms>[0]> = {}) =>
    new VonageSms({ apiKey: vonage.apiKey, apiSecret: vonage.apiSecret, from: vonage.from, apiBase: base, timeoutMs: 1000, ...extra });

  beforeAll(async () => {
    base = await vonage.start();
  });
  afterAll(() => vonage.close());

  it('sends api_key, api_secret, from, to without the +, text and client-ref; accents go as unicode', async () => {
    const sent = await sms().send({ to: '+33612345678', body: 'Réglez ici : https://x.example/p', sessionId: 'pay_1' });
    expect(sent.messageId).toBeTruthy();
    expect(vonage.messages.at(-1)).toMatchObject({ to: '33612345678', from: vonage.from, type: 'unicode', clientRef: 'pay_1' });
    const body = new URLSearchParams(vonage.server.received('POST', '/sms/json').at(-1)!.body);
    expect(body.get('api_key')).toBe(vonage.apiKey);
  });

  it('asks for the delivery receipt at callback when given one', async () => {
    await sms({ statusCallbackUrl: 'https://ivr.example/sms/vonage/delivery-receipts' }).send({ to: TO, body: 'x' });
    expect(vonage.messages.at(-1)?.callback).toBe('https://ivr.example/sms/vonage/delivery-receipts');
    await sms().send({ to: TO, body: 'x' });
    expect(vonage.messages.at(-1)).not.toHaveProperty('callback');
  });

  it('the fake answers as Vonage does, in the message status: bad credentials (4), an invalid number (3)', async () => {
    await expect(sms({ apiSecret: 'nope' }).send({ to: TO, body: 'x' })).rejects.toMatchObject({ code: 'sms-authentication' });
    await expect(sms().send({ to: '+12', body: 'x' })).rejects.toMatchObject({ code: 'vonage-3', retryable: false });
  });

  it('a 5xx and no answer in time are retryable SmsSendErrors', async () => {
    vonage.server.failNext('POST', '/sms/json', 500);
    await expect(sms().send({ to: TO, body: 'x' })).rejects.toMatchObject({ code: 'http-500', retryable: true });
    vonage.holdNext();
    await expect(sms({ timeoutMs: 200 }).send({ to: TO, body: 'x' })).rejects.toMatchObject({ code: 'timeout', retryable: true });
  });
});
