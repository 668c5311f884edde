import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../../app/logger.js';
import { NodeTakeover } from '../../../ivr/call/node-takeover.js';
import { Reconciler } from '../../../psp/reconciler.js';
import { SandboxPsp } from '../../../psp/sandbox-psp.js';
import type { PaymentSessionRecord } from '../../../store/payment-store.js';
import { SqliteAuditLog } from '../../../store/sqlite-audit-log.js';
import { SqlitePaymentStore } from '../../../store/sqlite-payment-store.js';

const T0 = Date.parse('2030-01-02T03:04:05.000Z');
const DEAD_AFTER_MS = 15_000;

let dir: string;
let clock: number;
let store: SqlitePaymentStore;
let audit: SqliteAuditLog;
let resumed: string[];
let reconciled: ReadonlySet<string>[];
const now = (): Date => new Date(clock);

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'node-takeover-'));
  clock = T0;
  store = new SqlitePaymentStore({ dataDir: dir, now });
  audit = new SqliteAuditLog(store.database, { key: randomBytes(32), now });
  resumed = [];
  reconciled = [];
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

/** node-a's view: the reconciler of its own process, asking the sandbox PSP (which never saw node-b's keys). */
function takeoverOnNodeA(): NodeTakeover {
  const reconciler = new Reconciler({ psp: new SandboxPsp({ latencyMs: 0 }), store, audit, now });
  return new NodeTakeover({
    store,
    audit,
    nodeId: 'node-a',
    deadAfterMs: DEAD_AFTER_MS,
    reconcile: (sessions) => {
      reconciled.push(sessions);
      return reconciler.reconcileOnce({ interrupted: sessions });
    },
    resumeRecorder: async (callId, sessionId) => void resumed.push(`${callId} ${sessionId}`),
    logger: createLogger({ level: 'silent' }),
    now,
  });
}

async function onCall(nodeId: string, reference: string, status: 'pending' | 'capturing' | 'authorising'): Promise<PaymentSessionRecord> {
  const s = await store.createSession({ mode: 'direct', reference, amountMinor: 990, currency: 'GBP', callId: `call-${reference}`, nodeId });
  if (status === 'pending') return s;
  await store.updateSession(s.id, { status: 'capturing' });
  return status === 'capturing' ? (await store.getSession(s.id))! : store.updateSession(s.id, { status: 'authorising', cardBrand: 'visa', cardLast4: '4242' });
}

const status = async (s: PaymentSessionRecord) => (await store.getSession(s.id))?.status;

describe('taking over a dead node', () => {
  it('leaves a node whose heartbeat is recent alone', async () => {
    await store.heartbeat('node-a');
    await store.heartbeat('node-b');
    const theirs = await onCall('node-b', 'B1', 'capturing');
    clock += DEAD_AFTER_MS;
    await store.heartbeat('node-a');
    expect(await takeoverOnNodeA().takeOverOnce()).toEqual([]);
    expect(await status(theirs)).toBe('capturing');
  });

  it('settles a dead node\'s calls once: capture abandoned, authorisations reconciled, recorders resumed; its own and live nodes\' calls untouched', async () => {
    await store.heartbeat('node-a');
    await store.heartbeat('node-b');
    const capturing = await onCall('node-b', 'B1', 'capturing');
    const joined = await onCall('node-b', 'B2', 'pending');
    const beforeIntent = await onCall('node-b', 'B3', 'authorising');
    const inFlight = await onCall('node-b', 'B4', 'authorising');
    await store.recordAuthorisationIntent({ idempotencyKey: 'key-b4', sessionId: inFlight.id, psp: 'sandbox', amountMinor: 990, currency: 'GBP' });
    await audit.append({ sessionId: capturing.id, actor: { kind: 'call', id: 'call-B1' }, action: 'recorder-pause' });
    const mine = await onCall('node-a', 'A1', 'capturing');

    clock += DEAD_AFTER_MS + 1000;
    await store.heartbeat('node-a');
    const takeover = takeoverOnNodeA();
    const [report] = (await takeover.takeOverOnce())!;
    expect(report).toEqual({
      nodeId: 'node-b',
      abandoned: [capturing.id, joined.id],
      neverAuthorised: [beforeIntent.id],
      reconciled: [inFlight.id],
      recordersResumed: [capturing.id],
    });
    expect([await status(capturing), await status(joined), await status(beforeIntent)]).toEqual(['abandoned', 'abandoned', 'error']);
    // The sandbox never saw node-b's key: nothing was charged, the payment ends in error after being in doubt.
    expect(await status(inFlight)).toBe('error');
    expect(await store.getAuthorisation('key-b4')).toMatchObject({ state: 'error', detail: 'not-found-at-psp' });
    expect(resumed).toEqual([`call-B1 ${capturing.id}`]);
    expect(await status(mine)).toBe('capturing');

    // Later passes find nothing left: each session was settled once.
    clock += 5000;
    await store.heartbeat('node-a');
    expect(await takeover.takeOverOnce()).toEqual([{ nodeId: 'node-b', abandoned: [], neverAuthorised: [], reconciled: [], recordersResumed: [] }]);
    expect(reconciled).toHaveLength(1);
    const rows = await audit.list({});
    expect(rows.filter((r) => r.action === 'call-interrupted').map((r) => [r.sessionId, r.actor.id])).toEqual([
      [capturing.id, 'takeover-of-node-b'],
      [joined.id, 'takeover-of-node-b'],
    ]);
    expect(rows.filter((r) => r.action === 'authorisation-interrupted').map((r) => r.sessionId)).toEqual([inFlight.id]);
  });
});
