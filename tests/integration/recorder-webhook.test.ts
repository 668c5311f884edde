import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApplication, type Application } from '../../app/application.js';
import { loadConfig } from '../../app/config.js';
import { createLogger } from '../../app/logger.js';
import { PaymentCall } from '../../ivr/call/payment-call.js';
import { RecorderUnavailableError, RecorderWebhook, type RecorderRetry } from '../../ivr/call/recorder-webhook.js';
import type { DtmfKey } from '../../domain/dtmf-key.js';
import { ScriptedCaller, until } from '../support/scripted-caller.js';
import { testDataDir } from '../support/test-data-dir.js';

// A public test card number (Stripe's documented Visa test card).
const VISA = '4242424242424242';

/**
 * The external recorder, as a local HTTP server receiving the webhook, around
 * real payment flows: pause before the first card digit, resume after the
 * last, on success, hang-up mid-capture and cancel.
 */
describe('external recorder webhook', () => {
  const dataDir = testDataDir('recorder');
  let app: Application;
  let server: Server;
  let url: string;
  /** What the recorder received, in order, with the number of card digits keyed at that moment. */
  const received: { action: string; callId: string; digitsKeyed: number }[] = [];
  let digitsKeyed = 0;
  let failNext = 0;

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        if (failNext > 0) {
          failNext--;
          res.writeHead(503).end();
          return;
        }
        const { action, callId } = JSON.parse(body) as { action: string; callId: string };
        received.push({ action, callId, digitsKeyed });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/recorder`;
    const config = loadConfig({ DATA_DIR: dataDir, HTTP_PORT: '0', SIP_PORT: '0', LOG_LEVEL: 'silent', SANDBOX_LATENCY_MS: '0' });
    app = await buildApplication({ config, logger: createLogger({ level: 'silent' }), dataDir });
  });

  afterAll(async () => {
    await app?.stop();
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });

  const retries: RecorderRetry[] = [];

  function newCall(id: string): { call: PaymentCall; caller: ScriptedCaller } {
    const webhook = new RecorderWebhook({ url, audit: app.audit, retryBaseDelayMs: 10, onRetry: (r) => retries.push(r) });
    let call: PaymentCall | undefined;
    const caller = new ScriptedCaller(webhook.forCall(id, () => call?.sessionId));
    call = new PaymentCall(
      { store: app.store, audit: app.audit, vault: app.vault, authoriser: app.authoriser, orders: app.orders, logger: createLogger({ level: 'silent' }) },
      { callId: id, media: caller, flow: { mode: 'direct' } },
    );
    return { call, caller };
  }

  async function key(call: PaymentCall, keys: string): Promise<void> {
    for (const k of keys) {
      if (/\d/.test(k) && call.flow.state === 'collecting-card') digitsKeyed++;
      call.digit(k as DtmfKey);
      await new Promise((r) => setImmediate(r));
    }
  }

  async function toCard(call: PaymentCall): Promise<void> {
    digitsKeyed = 0;
    call.start();
    await key(call, '1001#');
    await until(() => call.flow.state === 'collecting-card', 3000, 'card prompt');
  }

  it('pauses before the first card digit and resumes after the last, on success', async () => {
    const { call } = newCall('call-ok');
    await toCard(call);
    expect(received.filter((r) => r.callId === 'call-ok')).toEqual([{ action: 'pause', callId: 'call-ok', digitsKeyed: 0 }]);
    await key(call, `${VISA}1230123`);
    expect(await call.done).toBe('approved');
    await until(() => received.filter((r) => r.callId === 'call-ok').length === 2);
    expect(received.filter((r) => r.callId === 'call-ok')).toEqual([
      { action: 'pause', callId: 'call-ok', digitsKeyed: 0 },
      { action: 'resume', callId: 'call-ok', digitsKeyed: 23 },
    ]);
  });

  it('resumes when the caller hangs up mid-capture, and when the payment is cancelled', async () => {
    const a = newCall('call-hangup');
    await toCard(a.call);
    await key(a.call, VISA.slice(0, 6));
    a.call.hangup();
    await a.call.done;
    const b = newCall('call-cancel');
    await toCard(b.call);
    b.call.command({ type: 'cancel' }, { kind: 'supervisor', id: 'usr_1' });
    await b.call.done;
    await until(() => received.filter((r) => r.action === 'resume').length === 3);
    for (const id of ['call-hangup', 'call-cancel']) {
      expect(received.filter((r) => r.callId === id).map((r) => r.action)).toEqual(['pause', 'resume']);
    }
  });

  it('retries with back-off, audits each attempt, and holds capture until the recorder confirms', async () => {
    failNext = 2;
    const { call, caller } = newCall('call-retry');
    digitsKeyed = 0;
    call.start();
    await key(call, '1001#');
    await until(() => call.flow.state === 'collecting-card', 3000, 'card prompt after retries');
    expect(caller.log.filter((l) => l.startsWith('play')).at(-1)).toContain('enter-card-number');
    const attempts = (await app.audit.list({ sessionId: call.sessionId! })).filter((a) => a.action === 'recorder-pause');
    expect(attempts.map((a) => a.detail)).toEqual([
      { attempt: 1, status: 503 },
      { attempt: 2, status: 503 },
      { attempt: 3, status: 204 },
    ]);
    // Each failed try is told (application.ts turns it into "waiting for the recorder" on the agent's console).
    expect(retries.filter((r) => r.callId === 'call-retry')).toEqual([
      { action: 'pause', reason: 'HTTP 503', callId: 'call-retry', sessionId: call.sessionId },
      { action: 'pause', reason: 'HTTP 503', callId: 'call-retry', sessionId: call.sessionId },
    ]);
    call.hangup();
    await call.done;
  });

  it('gives up when the recorder never confirms', async () => {
    failNext = 1000;
    const webhook = new RecorderWebhook({ url, audit: app.audit, retryBaseDelayMs: 10, giveUpAfterMs: 200 });
    await expect(webhook.forCall('c', () => undefined).pause()).rejects.toBeInstanceOf(RecorderUnavailableError);
    failNext = 0;
  });
});
