import { join } from 'node:path';
import { projectRoot } from '../app/project-root.js';
import { runSipp, type SippPortSequence, type SippRun } from '../tools/sipp/sipp-process.js';
import type { RunningSystem } from '../tools/system-process.js';
import { keyStepsInjection } from '../tools/sipp/sipp-process.js';
import { TEST_CARDS } from '../tools/test-cards.js';
import { cpuPercent, cpuSample, watchPeakRss } from './process-usage.js';
import { api, countApprovedAmong, RAMP_RATE, sippCounts } from './bench-support.js';

/** One in-line step: relayed calls through the IVR to a SIPp PBX, a share of them paying on the live call. */
export interface InlineStep {
  readonly calls: number;
  readonly payers: number;
  readonly approved: number;
  /** Relayed calls that did not pay and ran their course (SIPp's successful calls). */
  readonly relayedCompleted: number;
  readonly failed: number;
  readonly failureRate: number;
  readonly cpuPct: number;
  readonly cpuPerCallPct: number;
  readonly rssPeakMiB: number;
  readonly rssPerCallMiB: number;
}

/** What the step borrows from the benchmark script. */

/**
 * `calls` concurrent carrier calls to a PBX extension, relayed by the IVR
 * (INLINE_ROUTE) to a SIPp UAS that echoes the RTP, so media flows both
 * ways through both legs for the whole call. A tenth of the callers pay,
 * and call first: the step finds their calls in GET /api/v1/calls and
 * starts a payment on each (POST /calls/{id}/payments), and they key a card
 * with RFC 4733 events; then the others call. CPU and RSS of the system
 * are read in the steady window, every call up.
 */
export async function inlineStep(sys: RunningSystem, ports: SippPortSequence, calls: number, idleRss: number, work: string): Promise<InlineStep> {
  const payers = Math.max(1, Math.round(calls / 10));
  const relayed = calls - payers;
  const rampMs = (calls / RAMP_RATE) * 1000;
  const peak = watchPeakRss([sys.pid]);
  const payerPort = await ports.next();
  // Per payer: a menu key, a pause while the payment is started, then the card; the caller hangs up after.
  const steps: [string, number][] = [['1', 7000], [TEST_CARDS.visa, 2500], ['1230', 1500], ['123', 6000]];
  const injection = keyStepsInjection(join(work, `inline-${calls}.csv`), ...steps);
  const paying = runSipp({
    args: [
      `127.0.0.1:${sys.sipPort}`, '-sf', join(projectRoot(), 'tests/sipp/direct-pay-hangup.xml'), '-s', '2001',
      '-i', '127.0.0.1', '-p', String(payerPort), '-mp', String(payerPort + 2),
      '-m', String(payers), '-l', String(payers), '-r', String(payers), '-rp', String(Math.max(1, Math.round(rampMs))),
      ...injection,
    ],
    timeoutMs: rampMs + 120_000,
  });
  // The payers' calls as they come up (the only calls yet): a payment on each, once.
  const sessions: string[] = [];
  const paid = new Set<string>();
  const deadline = Date.now() + rampMs + 10_000;
  while (paid.size < payers && Date.now() < deadline) {
    const { calls: live } = await api<{ calls: { id: string; state: string; callerNumber: string }[] }>(sys, 'GET', '/api/v1/calls');
    for (const call of live) {
      if (paid.has(call.id) || call.state !== 'connected' || call.callerNumber !== 'qa') continue;
      paid.add(call.id);
      const payment = await api<{ id: string }>(sys, 'POST', `/api/v1/calls/${call.id}/payments`, { amount: 1000, currency: 'EUR', reference: `INLINE-${call.id}`, idempotencyKey: `bench-${call.id}` });
      sessions.push(payment.id);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  // Then the callers who do not pay (their calls look the same in the list: same caller).
  let relaying: Promise<SippRun> | undefined;
  if (relayed > 0) {
    const port = await ports.next();
    relaying = runSipp({
      args: [
        `127.0.0.1:${sys.sipPort}`, '-sf', join(projectRoot(), 'bench/baseline-uac.xml'), '-s', '2002',
        '-i', '127.0.0.1', '-p', String(port), '-mp', String(port + 2),
        '-m', String(relayed), '-l', String(relayed), '-r', String(relayed), '-rp', String(Math.max(1, Math.round(rampMs))),
        '-d', String(Math.round(rampMs + 12_000)),
      ],
      timeoutMs: rampMs + 120_000,
    });
  }
  await new Promise((r) => setTimeout(r, rampMs + 1000));
  // Steady window: every call up, the payers keying.
  const cpuFrom = cpuSample([sys.pid]);
  await new Promise((r) => setTimeout(r, 3000));
  const cpuTo = cpuSample([sys.pid]);
  await paying;
  const relayedCompleted = relaying ? sippCounts(await relaying).succeeded : 0;
  const rssPeak = peak.stop();
  // The last authorisations settle after the callers' BYE.
  await new Promise((r) => setTimeout(r, 2000));
  const approved = countApprovedAmong(sys.dataDir, sessions);
  const failed = payers - approved + (relayed - relayedCompleted);
  const cpuPct = cpuPercent(cpuFrom, cpuTo);
  return {
    calls,
    payers,
    approved,
    relayedCompleted,
    failed,
    failureRate: failed / calls,
    cpuPct,
    cpuPerCallPct: cpuPct / calls,
    rssPeakMiB: rssPeak,
    rssPerCallMiB: Math.max(0, rssPeak - idleRss) / calls,
  };
}
