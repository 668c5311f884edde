import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { METRIC_PREFIX } from '../../../app/metrics.js';
import { projectRoot } from '../../../app/project-root.js';
import { freePort, killAllSipp, runSipp } from '../../../tools/sipp/sipp-process.js';
import { startSystem, type RunningSystem } from '../../../tools/system-process.js';
import { ALL_TEST_CARDS, TEST_CARDS } from '../../../tools/test-cards.js';
import { findCardDataInText } from '../../support/card-scan.js';
import { parsePrometheusText, sampleValue } from '../../support/prometheus-text.js';
import { testDataDir } from '../../support/test-data-dir.js';

const REFERENCE = '2101';
const EXPIRY = '1230';
const CODE = '123';
const CARD = TEST_CARDS.visa;

/** An INFO SIPp sent, as its message trace (-trace_msg) shows it. */
interface SentInfo {
  readonly branch: string;
  readonly cseq: number;
}

/** The INFO requests in a SIPp message trace, in the order sent (a retransmission repeats its branch and CSeq). */
function sentInfos(trace: string): SentInfo[] {
  const infos: SentInfo[] = [];
  for (const block of trace.split(/^-{10,}.*$/m)) {
    if (!/UDP message sent/.test(block) || !/^\s*INFO sip:/m.test(block)) continue;
    const branch = /^\s*Via:.*;branch=([^;\s]+)/m.exec(block)?.[1];
    const cseq = /^\s*CSeq:\s*(\d+) INFO/m.exec(block)?.[1];
    if (branch && cseq) infos.push({ branch, cseq: Number(cseq) });
  }
  return infos;
}

/**
 * The SIPp INFO loop of tests/sipp/direct-pay-info-loop.xml against the whole
 * system (as `npm start` runs it, sandbox PSP): every INFO of a loop carries
 * the same Via branch with a new CSeq, as QA scripts written with a
 * <label>/next= loop do. Each must be served as a new request, so the
 * payment completes; SIPp's own message trace shows the branches repeating,
 * and the metrics count the reuses.
 */
describe('direct pay by SIP INFO keys sent from a SIPp loop (one Via branch per loop)', () => {
  const work = mkdtempSync(join(tmpdir(), 'info-loop-'));
  const dataDir = testDataDir('info-loop');
  let system: RunningSystem;

  beforeAll(async () => {
    writeFileSync(join(work, 'orders.json'), JSON.stringify([{ reference: REFERENCE, amountMinor: 4200, currency: 'EUR', description: 'INFO loop order' }]));
    const rtpBase = 52000 + Number(process.env.VITEST_POOL_ID ?? '1') * 100;
    system = await startSystem({
      PSP: 'sandbox',
      DATA_DIR: dataDir,
      HTTP_PORT: String(await freePort(31000)),
      SIP_PORT: String(await freePort(33000)),
      RTP_PORT_MIN: String(rtpBase),
      RTP_PORT_MAX: String(rtpBase + 98),
      ORDERS_FILE: join(work, 'orders.json'),
      LOG_LEVEL: 'debug',
      SANDBOX_LATENCY_MS: '50',
    });
  });

  afterAll(async () => {
    killAllSipp();
    await system?.stop();
    // The trace holds the keys SIPp sent (test input): it goes with the work folder.
    rmSync(work, { recursive: true, force: true });
  });

  it('completes the payment; the loop reused its branch for every key and the system counted each reuse', { timeout: 90_000 }, async () => {
    const port = await freePort(35000);
    const trace = join(work, 'messages.log');
    const run = await runSipp({
      args: [
        `127.0.0.1:${system.sipPort}`,
        '-sf', join(projectRoot(), 'tests/sipp/direct-pay-info-loop.xml'),
        '-s', 'pay',
        '-i', '127.0.0.1',
        '-p', String(port),
        '-mp', String(port + 2),
        '-m', '1',
        '-key', 'ref', REFERENCE,
        '-key', 'pan', CARD,
        '-key', 'exp', EXPIRY,
        '-key', 'cvv', CODE,
        '-trace_msg', '-message_file', trace,
      ],
      timeoutMs: 80_000,
    });
    expect(run.exitCode, `${run.errors}\n${run.stdout.slice(-1500)}`).toBe(0);

    const { payments } = await system.api<{ payments: { id: string; status: string; amount: number; cardLast4: string | null }[] }>(
      `/api/v1/payments?reference=${REFERENCE}`,
    );
    expect(payments).toHaveLength(1);
    expect(payments[0]).toMatchObject({ status: 'approved', amount: 4200, cardLast4: CARD.slice(-4) });

    // What went on the wire: one INFO per key, two branches (one per loop), a new CSeq each time.
    const keys = `${REFERENCE}#`.length + `${CARD}${EXPIRY}${CODE}`.length;
    const infos = sentInfos(readFileSync(trace, 'latin1'));
    const perBranch = new Map<string, Set<number>>();
    for (const { branch, cseq } of infos) perBranch.set(branch, (perBranch.get(branch) ?? new Set()).add(cseq));
    expect([...perBranch.values()].map((cseqs) => cseqs.size)).toEqual([`${REFERENCE}#`.length, `${CARD}${EXPIRY}${CODE}`.length]);

    // Every INFO after the first of its loop reused a live transaction's branch.
    const metrics = await fetch(`${system.httpUrl}/metrics`);
    const samples = parsePrometheusText(await metrics.text());
    expect(sampleValue(samples, `${METRIC_PREFIX}sip_requests_branch_reused_total`)).toBe(keys - perBranch.size);
    expect(findCardDataInText(system.output.join('\n'), ALL_TEST_CARDS)).toEqual([]);
  });
});
