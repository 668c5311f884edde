import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../../app/logger.js';
import { projectRoot } from '../../../app/project-root.js';
import type { CallMetrics } from '../../../ivr/call/call-metrics.js';
import { PaymentCall } from '../../../ivr/call/payment-call.js';
import type { DtmfKey } from '../../../domain/dtmf-key.js';
import { FileOrderLookup } from '../../../ivr/orders/file-order-lookup.js';
import { Authoriser } from '../../../psp/authoriser.js';
import { SandboxPsp } from '../../../psp/sandbox-psp.js';
import { SqliteAuditLog } from '../../../store/sqlite-audit-log.js';
import { SqlitePaymentStore } from '../../../store/sqlite-payment-store.js';
import { CardVault } from '../../../vault/card-vault.js';
import { ScriptedCaller, until } from '../../support/scripted-caller.js';
import { testDataDir } from '../../support/test-data-dir.js';

// Public test card numbers (the sandbox PSP's table).
const APPROVE = '4242424242424242';
const DECLINE = '4000000000000002';
const BAD_LUHN = '4242424242424241';

/** Every call the payment call made on its metrics, as `method arg arg`. */
function recordingMetrics(): { calls: string[]; metrics: CallMetrics } {
  const calls: string[] = [];
  const record = (method: string) => (...args: unknown[]) => void calls.push([method, ...args.map(String)].join(' '));
  return {
    calls,
    metrics: {
      callStarted: record('callStarted'),
      callEnded: record('callEnded'),
      dtmf: record('dtmf'),
      cardPromptReached: record('cardPromptReached'),
      fieldError: record('fieldError'),
      keyDiscarded: record('keyDiscarded'),
      paymentEnded: record('paymentEnded'),
      timeToPay: record('timeToPay'),
    },
  };
}

/**
 * What one payment call reports to monitoring, on the real payment core
 * (SQLite store, vault, sandbox PSP) with a scripted caller: the card prompt
 * once per call, each refused field, the payment's status and the time from
 * answer to approval.
 */
describe('payment call metrics', () => {
  const dataDir = testDataDir('payment-call-metrics');
  const store = new SqlitePaymentStore({ dataDir });
  const vault = new CardVault({ acceptedBrands: new Set(['visa', 'mastercard']) });
  const audit = new SqliteAuditLog(store.database, { key: randomBytes(32) });
  const authoriser = new Authoriser({ psp: new SandboxPsp({ latencyMs: 0 }), store, audit });
  const orders = new FileOrderLookup(join(projectRoot(), 'ivr/orders/demo-orders.json'));
  /** The payment calls' clock, standing still: the time to pay is exact. */
  const now = new Date();
  let seq = 0;

  afterAll(async () => {
    vault.close();
    await store.close();
  });

  function newCall(answeredAt?: Date): { call: PaymentCall; calls: string[] } {
    const { calls, metrics } = recordingMetrics();
    const call = new PaymentCall(
      { store, audit, vault, authoriser, orders, metrics, now: () => now, logger: createLogger({ level: 'silent' }) },
      {
        callId: `metrics-call-${++seq}`,
        media: new ScriptedCaller(),
        flow: { mode: 'direct', interDigitTimeoutMs: 2000 },
        ...(answeredAt ? { answeredAt } : {}),
      },
    );
    return { call, calls };
  }

  async function key(call: PaymentCall, keys: string): Promise<void> {
    for (const k of keys) {
      call.digit(k as DtmfKey);
      await new Promise((r) => setImmediate(r));
    }
  }

  it('reports the card prompt once, a refused card number, the approval time and the approved payment', async () => {
    // Answered 30 s before: the time to pay counts from the answer, not from this object.
    const { call, calls } = newCall(new Date(now.getTime() - 30_000));
    call.start();
    await key(call, '1001#');
    await until(() => call.flow.state === 'collecting-card', 2000, 'card number prompt');
    await key(call, `${BAD_LUHN}#`);
    await until(() => calls.some((c) => c.startsWith('fieldError')), 2000, 'field error');
    await until(() => call.flow.state === 'collecting-card', 2000, 'card number prompt again');
    await key(call, `${APPROVE}1230123`);
    expect(await call.done).toBe('approved');
    expect(calls).toEqual([
      'cardPromptReached direct',
      'fieldError card-number invalid-card-number',
      'timeToPay direct 30',
      'paymentEnded direct approved',
    ]);
  });

  it('reports a declined payment with no time to pay', async () => {
    const { call, calls } = newCall();
    call.start();
    await key(call, '1001#');
    await until(() => call.flow.state === 'collecting-card', 2000, 'card number prompt');
    await key(call, `${DECLINE}1230123`);
    expect(await call.done).toBe('declined');
    expect(calls).toEqual(['cardPromptReached direct', 'paymentEnded direct declined']);
  });

  it('reports no payment for a caller who hangs up before an order is found', async () => {
    const { call, calls } = newCall();
    call.start();
    await key(call, '10');
    call.hangup();
    expect(await call.done).toBe('caller-hung-up');
    expect(calls).toEqual([]);
  });

  it('reports an abandoned payment for a caller who hangs up during the card number', async () => {
    const { call, calls } = newCall();
    call.start();
    await key(call, '1001#');
    await until(() => call.flow.state === 'collecting-card', 2000, 'card number prompt');
    await key(call, '4242');
    call.hangup();
    expect(await call.done).toBe('caller-hung-up');
    expect(calls).toEqual(['cardPromptReached direct', 'paymentEnded direct abandoned']);
  });
});
