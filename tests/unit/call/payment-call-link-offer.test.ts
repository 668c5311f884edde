import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../../app/logger.js';
import { projectRoot } from '../../../app/project-root.js';
import type { DtmfKey } from '../../../domain/dtmf-key.js';
import { PaymentCall } from '../../../ivr/call/payment-call.js';
import { PaymentLinkService } from '../../../ivr/links/payment-link-service.js';
import { FileOrderLookup } from '../../../ivr/orders/file-order-lookup.js';
import { Authoriser } from '../../../psp/authoriser.js';
import { SandboxPaymentLinks } from '../../../psp/sandbox-payment-links.js';
import { SandboxPsp } from '../../../psp/sandbox-psp.js';
import { OutboxSms } from '../../../sms/outbox-sms.js';
import { SandboxSms } from '../../../sms/sandbox-sms.js';
import { SmsSendError, type SmsSender } from '../../../sms/sms-port.js';
import { SqliteAuditLog } from '../../../store/sqlite-audit-log.js';
import { SqlitePaymentLinkStore } from '../../../store/sqlite-payment-link-store.js';
import { SqlitePaymentStore } from '../../../store/sqlite-payment-store.js';
import { CardVault } from '../../../vault/card-vault.js';
import { ScriptedCaller, until } from '../../support/scripted-caller.js';
import { testDataDir } from '../../support/test-data-dir.js';

// Made-up numbers libphonenumber reads as a UK mobile and a Paris landline (not Luhn-valid).
const MOBILE = '+447400123456';
const LANDLINE = '+33140000000';

/**
 * The direct-pay call carries out the flow's link offer on the real payment
 * core (SQLite store, sandbox link page, sandbox SMS outbox): offered only to
 * a mobile and only with PAYMENT_LINK_OFFER, sent to the number called from,
 * and back to the card when the message does not go.
 */
describe('payment call: press 9 for a payment link', () => {
  const dataDir = testDataDir('payment-call-link-offer');
  const store = new SqlitePaymentStore({ dataDir });
  const links = new SqlitePaymentLinkStore(store.database);
  const vault = new CardVault({ acceptedBrands: new Set(['visa', 'mastercard']) });
  const audit = new SqliteAuditLog(store.database, { key: randomBytes(32) });
  const authoriser = new Authoriser({ psp: new SandboxPsp({ latencyMs: 0 }), store, audit });
  const orders = new FileOrderLookup(join(projectRoot(), 'ivr/orders/demo-orders.json'));
  const logger = createLogger({ level: 'silent' });
  let seq = 0;

  afterAll(async () => {
    vault.close();
    await store.close();
  });

  function service(sms: SmsSender = new OutboxSms(new SandboxSms(), links)): PaymentLinkService {
    const provider = new SandboxPaymentLinks({ publicBaseUrl: () => 'http://127.0.0.1:1', links });
    return new PaymentLinkService({ store, links, audit, provider, sms, ttlMs: 3_600_000, defaultCountry: 'GB', language: 'en-GB', logger });
  }

  function newCall(callerNumber: string | undefined, linkOffer: boolean, sms?: SmsSender): PaymentCall {
    return new PaymentCall(
      { store, audit, vault, authoriser, orders, logger, links: service(sms), linkOffer },
      { callId: `link-call-${++seq}`, media: new ScriptedCaller(), flow: { mode: 'direct' }, ...(callerNumber ? { callerNumber } : {}) },
    );
  }

  async function key(call: PaymentCall, keys: string): Promise<void> {
    for (const k of keys) {
      call.digit(k as DtmfKey);
      await new Promise((r) => setImmediate(r));
    }
  }

  async function afterAmount(call: PaymentCall): Promise<void> {
    call.start();
    await key(call, '1001#');
    await until(() => call.flow.state !== 'looking-up-order' && call.flow.state !== 'collecting-reference', 2000, 'the amount');
  }

  it('offers a caller on a mobile the link; 9 then 1 texts it to the number called from, the call ends link-sent', async () => {
    const call = newCall(MOBILE, true);
    await afterAmount(call);
    expect(call.flow.state).toBe('offering-link');
    await key(call, '9');
    await key(call, '1');
    expect(await call.done).toBe('link-sent');
    const id = call.sessionId!;
    expect((await store.getSession(id))?.status).toBe('link-sent');
    expect((await links.listSms({ sessionId: id })).map((m) => m.recipient)).toEqual([MOBILE]);
    expect((await links.listLinks({ sessionId: id })).map((l) => l.state)).toEqual(['active']);
    expect((await audit.list({ sessionId: id })).find((e) => e.action === 'payment-link-sent')?.detail).toMatchObject({ phoneEnding: '456' });
  });

  it('makes no offer to a landline, to a caller with no number, or with PAYMENT_LINK_OFFER=off', async () => {
    for (const call of [newCall(LANDLINE, true), newCall(undefined, true), newCall(MOBILE, false)]) {
      await afterAmount(call);
      await until(() => call.flow.state === 'collecting-card', 2000, 'the card number prompt');
      expect(call.flow.field).toBe('card-number');
      call.hangup();
      expect(await call.done).toBe('caller-hung-up');
    }
  });

  it('says the message could not go and asks for the card when the SMS provider fails; nothing is left to pay on the link', async () => {
    const down: SmsSender = { name: 'down', send: () => Promise.reject(new SmsSendError('http-503', true)) };
    const call = newCall(MOBILE, true, down);
    await afterAmount(call);
    await key(call, '91');
    await until(() => call.flow.state === 'collecting-card', 2000, 'back to the card');
    const id = call.sessionId!;
    expect((await links.listLinks({ sessionId: id })).map((l) => l.state)).toEqual(['cancelled']);
    expect((await audit.list({ sessionId: id })).find((e) => e.action === 'payment-link-failed')?.detail).toEqual({ code: 'sms:http-503' });
    call.hangup();
    expect(await call.done).toBe('caller-hung-up');
  });
});
