import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ProgressHub } from '../../agent-bridge/stream/progress-hub.js';
import { StatusCallbacks } from '../../agent-bridge/stream/status-callbacks.js';
import type { ProgressEvent } from '../../ivr/flow/flow-types.js';
import { SqliteAuditLog } from '../../store/sqlite-audit-log.js';
import { SqlitePaymentStore } from '../../store/sqlite-payment-store.js';
import { findCardDataInText } from '../support/card-scan.js';
import { StatusCallbackReceiver } from '../support/status-callback-receiver.js';

// A public test card number (Stripe's documented Visa test card).
const VISA = '4242424242424242';

/** What a card payment's masked progress looks like, ended approved. */
const PAYMENT: readonly ProgressEvent[] = [
  { type: 'secure-on' },
  { type: 'field-started', field: 'card-number', attempt: 1 },
  ...Array.from({ length: 16 }, (_, i): ProgressEvent => ({ type: 'digit-entered', field: 'card-number', count: i + 1 })),
  { type: 'field-complete', field: 'card-number', valid: true, brand: 'visa', last4: VISA.slice(-4) },
  { type: 'field-started', field: 'expiry', attempt: 1 },
  { type: 'field-error', field: 'expiry', error: 'invalid-date', attempt: 1, attemptsLeft: 2 },
  { type: 'secure-off' },
  { type: 'authorising' },
  { type: 'approved', pspReference: 'psp-ref-1' },
  { type: 'ended', result: 'approved' },
];

/**
 * Status callbacks against a receiver on 127.0.0.1 that checks each
 * signature: order, retries with back-off, each try audited, the end of
 * watching, and a receiver that never answers.
 */
describe('status callbacks', () => {
  let dir: string;
  let store: SqlitePaymentStore;
  let audit: SqliteAuditLog;
  let hub: ProgressHub;
  let callbacks: StatusCallbacks;
  let receiver: StatusCallbackReceiver;
  const key = randomBytes(32);

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'status-callbacks-'));
    store = new SqlitePaymentStore({ dataDir: dir });
    audit = new SqliteAuditLog(store.database, { key: randomBytes(32) });
    hub = new ProgressHub();
    callbacks = new StatusCallbacks({ hub, audit, key, retryBaseDelayMs: 10, giveUpAfterMs: 500, attemptTimeoutMs: 1000 });
    receiver = new StatusCallbackReceiver(() => key);
    await receiver.start();
  });

  afterEach(async () => {
    callbacks.close();
    await receiver.stop();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('sends each event of a watched session in order, signed, retrying refused tries; nothing before watching or after the end', async () => {
    hub.publish('sess-a', { type: 'waiting-for-agent' });
    callbacks.watch('sess-a', receiver.url);
    // The receiver refuses the first tries: the first event waits for them, the others wait behind it.
    receiver.refuseNext = 3;
    for (const event of PAYMENT) hub.publish('sess-a', event);
    hub.publish('sess-a', { type: 'caller-hung-up' });
    hub.publish('sess-b', { type: 'secure-on' });
    await callbacks.idle();

    expect(receiver.received.map((r) => r.body.event)).toEqual(PAYMENT);
    expect(receiver.received.every((r) => r.signatureValid)).toBe(true);
    expect(receiver.received.map((r) => r.body.seq)).toEqual(PAYMENT.map((_, i) => i + 2));
    expect(new Set(receiver.received.map((r) => r.id)).size).toBe(PAYMENT.length);
    expect(receiver.tries).toBe(PAYMENT.length + 3);
    expect(findCardDataInText(receiver.received.map((r) => r.rawBody).join('\n'), [VISA])).toEqual([]);

    const rows = (await audit.list({ sessionId: 'sess-a' })).filter((r) => r.action === 'status-callback');
    expect(rows).toHaveLength(PAYMENT.length + 3);
    expect(rows.slice(0, 4).map((r) => [r.detail.seq, r.detail.attempt, r.detail.status])).toEqual([
      [2, 1, 503],
      [2, 2, 503],
      [2, 3, 503],
      [2, 4, 204],
    ]);
    expect(await audit.list({ sessionId: 'sess-b' })).toEqual([]);
  });

  it('a receiver that is not there: the first event is given up after its back-off, each later one tried once; every try audited', async () => {
    await receiver.stop();
    callbacks.watch('sess-c', receiver.url);
    for (const event of PAYMENT.slice(0, 4)) hub.publish('sess-c', event);
    await callbacks.idle();
    const rows = (await audit.list({ sessionId: 'sess-c' })).filter((r) => r.action === 'status-callback');
    const first = rows.filter((r) => r.detail.seq === 1);
    expect(first.length).toBeGreaterThan(1);
    expect(first.every((r) => r.detail.error === 'unreachable')).toBe(true);
    expect(rows.filter((r) => r.detail.seq !== 1).map((r) => [r.detail.seq, r.detail.attempt])).toEqual([
      [2, 1],
      [3, 1],
      [4, 1],
    ]);
  });

  it('a session forgotten before it starts sends nothing', async () => {
    callbacks.watch('sess-d', receiver.url);
    callbacks.forget('sess-d');
    hub.publish('sess-d', { type: 'secure-on' });
    await callbacks.idle();
    expect(receiver.tries).toBe(0);
  });

  it("the receiver's check is not a formality: under another key the same callbacks fail it", async () => {
    const other = new StatusCallbackReceiver(() => randomBytes(32));
    await other.start();
    try {
      callbacks.watch('sess-e', other.url);
      hub.publish('sess-e', { type: 'secure-on' });
      await callbacks.idle();
      expect(other.received.map((r) => r.signatureValid)).toEqual([false]);
    } finally {
      await other.stop();
    }
  });
});
