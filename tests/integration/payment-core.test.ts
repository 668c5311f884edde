import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApplication, type Application } from '../../app/application.js';
import { loadConfig } from '../../app/config.js';
import { createLogger } from '../../app/logger.js';
import { PaymentCall } from '../../ivr/call/payment-call.js';
import type { ProgressEvent } from '../../ivr/flow/flow-types.js';
import type { DtmfKey } from '../../domain/dtmf-key.js';
import { findCardDataInFiles, findCardDataInText } from '../support/card-scan.js';
import { ScriptedCaller, until } from '../support/scripted-caller.js';
import { testDataDir } from '../support/test-data-dir.js';

// Public test card numbers (the sandbox PSP's table, after Stripe's test cards).
const APPROVE = '4242424242424242';
const DECLINE = '4000000000000002';
const NO_ANSWER = '4000000000000341';
const BAD_LUHN = '4242424242424241';
const TEST_CARD_DATA = [APPROVE, DECLINE, NO_ANSWER, BAD_LUHN];

/**
 * The payment core wired as `npm start` wires it (SQLite store, vault,
 * sandbox PSP, authoriser, reconciler, file order lookup), with a scripted
 * caller in place of telephony. Afterwards, every log line and every byte of
 * the data directory is scanned for the card numbers keyed.
 */
describe('payment core, end to end below telephony', () => {
  const dataDir = testDataDir('payment-core');
  const lines: string[] = [];
  const progress: { sessionId: string | undefined; event: ProgressEvent }[] = [];
  let app: Application;
  let callSeq = 0;

  beforeAll(async () => {
    const config = loadConfig({
      DATA_DIR: dataDir,
      HTTP_PORT: '0',
      SIP_PORT: '0',
      LOG_LEVEL: 'trace',
      SANDBOX_LATENCY_MS: '0',
      PSP_TIMEOUT_MS: '300',
      PSP_MAX_RETRIES: '0',
      FIRST_DIGIT_TIMEOUT_MS: '2000',
      INTER_DIGIT_TIMEOUT_MS: '2000',
    });
    const logger = createLogger({ level: 'trace', destination: { write: (l: string) => void lines.push(l) } });
    app = await buildApplication({ config, logger, dataDir });
  });

  afterAll(async () => {
    await app?.stop();
  });

  function newCall(): { call: PaymentCall; caller: ScriptedCaller } {
    const caller = new ScriptedCaller();
    const call = new PaymentCall(
      {
        store: app.store,
        audit: app.audit,
        vault: app.vault,
        authoriser: app.authoriser,
        orders: app.orders,
        logger: createLogger({ level: 'trace', destination: { write: (l: string) => void lines.push(l) } }),
        onProgress: (sessionId, event) => progress.push({ sessionId, event }),
      },
      { callId: `call-${++callSeq}`, media: caller, flow: { mode: 'direct', interDigitTimeoutMs: 2000 } },
    );
    return { call, caller };
  }

  async function key(call: PaymentCall, keys: string): Promise<void> {
    for (const k of keys) {
      call.digit(k as DtmfKey);
      await new Promise((r) => setImmediate(r));
    }
  }

  async function toCardNumber(call: PaymentCall): Promise<void> {
    call.start();
    await key(call, '1001#');
    await until(() => call.flow.state === 'collecting-card', 2000, 'card number prompt');
  }

  it('pays order 1001 with an approving card', async () => {
    const { call, caller } = newCall();
    await toCardNumber(call);
    await key(call, `${APPROVE}1230123`);
    expect(await call.done).toBe('approved');
    const session = (await app.store.getSession(call.sessionId!))!;
    expect(session).toMatchObject({
      status: 'approved',
      reference: '1001',
      amountMinor: 4250,
      currency: 'EUR',
      cardBrand: 'visa',
      cardLast4: '4242',
    });
    expect(session.pspReference).toBeTruthy();
    // The caller hears the payment's confirmation code, the one the payments API finds it by.
    expect(session.confirmation).toMatch(/^[A-Z2-9]{8}$/);
    expect(caller.played.flat()).toContainEqual({ say: 'characters', value: session.confirmation });
    expect((await app.store.listSessions({ confirmation: session.confirmation! })).map((s) => s.id)).toEqual([session.id]);
    // Keys masked first and last; the secure window (recording paused) inside.
    const at = (entry: string): number => caller.log.indexOf(entry);
    expect(at('mask on')).toBeLessThan(at('secure on'));
    expect(at('secure on')).toBeLessThan(at('recording pause'));
    expect(at('recording resume')).toBeLessThan(at('mask off'));
    expect(at('secure off')).toBeLessThan(at('mask off'));
    expect(caller.secure).toEqual({ masked: false, window: false, recordingPaused: false });
    expect(caller.released).toBe(true);
    expect((await app.store.listCaptureAttempts(session.id)).map((a) => a.outcome)).toEqual(['accepted', 'accepted', 'accepted']);
  });

  it('takes an order paid once only (1004) once: the second caller hears it is already paid, and nothing is charged', async () => {
    const first = newCall();
    first.call.start();
    await key(first.call, '1004#');
    await until(() => first.call.flow.state === 'collecting-card', 2000, 'card number prompt');
    await key(first.call, `${APPROVE}1230123`);
    expect(await first.call.done).toBe('approved');
    const sessions = async (): Promise<number> => (await app.store.listSessions({ reference: '1004' })).length;
    expect(await sessions()).toBe(1);

    const second = newCall();
    second.call.start();
    await key(second.call, '1004#');
    expect(await second.call.done).toBe('already-paid');
    expect(second.caller.played.flat()).toEqual(expect.arrayContaining([{ prompt: 'order-already-paid' }, { prompt: 'goodbye' }]));
    expect(second.caller.played.flat()).not.toContainEqual({ prompt: 'enter-card-number' });
    expect(second.call.sessionId).toBeUndefined();
    expect(await sessions()).toBe(1);
    expect(second.caller.released).toBe(true);

    // 1001 takes partial payments: paid already (above), still taken.
    const third = newCall();
    await toCardNumber(third.call);
    third.call.hangup();
    expect(await third.call.done).toBe('caller-hung-up');
  });

  it('records a wrong-Luhn attempt, then approves the good card', async () => {
    const { call } = newCall();
    await toCardNumber(call);
    await key(call, `${BAD_LUHN}#`);
    await until(() => call.flow.field === 'card-number' && progress.at(-1)?.event.type === 'field-started');
    await key(call, `${APPROVE}1230123`);
    expect(await call.done).toBe('approved');
    expect((await app.store.listCaptureAttempts(call.sessionId!)).map((a) => `${a.field}:${a.outcome}`)).toEqual([
      'card-number:invalid-card-number',
      'card-number:accepted',
      'expiry:accepted',
      'security-code:accepted',
    ]);
  });

  it('records a declined card as declined', async () => {
    const { call } = newCall();
    await toCardNumber(call);
    await key(call, `${DECLINE}1230123`);
    expect(await call.done).toBe('declined');
    expect(await app.store.getSession(call.sessionId!)).toMatchObject({ status: 'declined', declineReason: 'generic-decline' });
  });

  it('leaves a PSP timeout in doubt, then reconciles it to what the PSP did', async () => {
    const { call } = newCall();
    await toCardNumber(call);
    await key(call, `${NO_ANSWER}1230123`);
    expect(await call.done).toBe('in-doubt');
    expect((await app.store.getSession(call.sessionId!))?.status).toBe('in_doubt');
    const summary = await app.reconciler.reconcileOnce();
    expect(summary.resolved).toBeGreaterThanOrEqual(1);
    expect((await app.store.getSession(call.sessionId!))?.status).toBe('approved');
  });

  it('abandons the payment when the caller hangs up in the card number, with recording resumed', async () => {
    const { call, caller } = newCall();
    await toCardNumber(call);
    await key(call, APPROVE.slice(0, 8));
    call.hangup();
    expect(await call.done).toBe('caller-hung-up');
    expect((await app.store.getSession(call.sessionId!))?.status).toBe('abandoned');
    expect(caller.secure).toEqual({ masked: false, window: false, recordingPaused: false });
    expect(app.vault.size).toBe(0);
  });

  it('keeps an audit trail that verifies, for every session', async () => {
    const verdict = await app.audit.verify();
    expect(verdict.ok).toBe(true);
    const actions = (await app.audit.list({})).map((e) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['call-started', 'order-found', 'masking-on', 'recording-paused', 'payment-ended']));
  });

  it('left no card number in any log line, progress event or byte of the data directory', async () => {
    await app.stop();
    expect(lines.length).toBeGreaterThan(4);
    expect(findCardDataInText(lines.join('\n'), TEST_CARD_DATA)).toEqual([]);
    expect(findCardDataInText(JSON.stringify(progress), TEST_CARD_DATA)).toEqual([]);
    expect(findCardDataInFiles(dataDir, TEST_CARD_DATA)).toEqual([]);
    // Restarted on the same data: the scan above saw real data, not an empty folder.
    const config = loadConfig({ DATA_DIR: dataDir, HTTP_PORT: '0', SIP_PORT: '0', LOG_LEVEL: 'silent' });
    app = await buildApplication({ config, logger: createLogger({ level: 'silent' }), dataDir });
    expect((await app.store.listSessions({ reference: '1001' })).length).toBe(6);
  });
});
