import { createSocket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../../app/project-root.js';
import { formatFuzzReport } from '../../../scripts/sip-fuzz.js';
import { runSipFuzz, type SipFuzzReport } from '../../../scripts/sip-fuzz/sip-fuzzer.js';
import { findCardDataInText } from '../../support/card-scan.js';
import { parsePrometheusText, sampleValue } from '../../support/prometheus-text.js';
import { startSystem, type RunningSystem } from '../../../tools/system-process.js';
import { freePort, killAllSipp, runSipp, SippPortSequence, type SippRun } from '../../../tools/sipp/sipp-process.js';
import { testDataDir } from '../../support/test-data-dir.js';

// SIP robustness: the seeded fuzzer (scripts/sip-fuzz.ts) sends 10,000
// malformed, truncated, oversized and oddly encoded SIP messages over UDP and
// TCP, with slowloris connections and a connection flood alongside, to the
// whole system started as `npm start` starts it, while real SIPp callers pay on
// the direct pay number. Those calls are approved, the process stays up and
// answers, and its memory (sampled from /proc) stays within a generous bound.
// Set SIP_FUZZ_SEED to explore other seeds; the figures are printed.

const VISA = '4242424242424242';
const REFERENCE = '3001';
const SEED = Number(process.env.SIP_FUZZ_SEED ?? '20261203');
const MESSAGES = 10_000;
const CALLS_PER_WAVE = 3;
const MIB = 1024 * 1024;

/** The child's resident set size, from /proc/<pid>/status (VmRSS, kB). */
function rssBytes(pid: number): number {
  const kb = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  if (kb === undefined) throw new Error(`no VmRSS for process ${pid}`);
  return Number(kb) * 1024;
}

/** Whether the process is still there (signal 0 checks without sending). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** An OPTIONS to the system over UDP: the status of its answer. */
async function options(port: number): Promise<number | undefined> {
  const udp = createSocket('udp4');
  await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', () => resolve()));
  const local = udp.address().port;
  const message = [
    `OPTIONS sip:127.0.0.1:${port} SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:${local};branch=z9hG4bK-after-fuzz-${Date.now().toString(36)}`,
    'Max-Forwards: 70',
    `From: <sip:qa@127.0.0.1:${local}>;tag=after`,
    `To: <sip:127.0.0.1:${port}>`,
    `Call-ID: after-fuzz-${Date.now().toString(36)}@127.0.0.1`,
    'CSeq: 1 OPTIONS',
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
  const answer = new Promise<number | undefined>((resolve) => {
    const timer = setTimeout(() => resolve(undefined), 5_000);
    udp.on('message', (data) => {
      clearTimeout(timer);
      resolve(Number(/^SIP\/2\.0 (\d{3})/.exec(data.toString('latin1'))?.[1]));
    });
  });
  udp.send(message, port, '127.0.0.1');
  const status = await answer;
  udp.close();
  return status;
}

/** The system's own SIP counters, from GET /metrics (open to loopback). */
async function sipCounters(httpUrl: string): Promise<(name: string, labels?: Record<string, string>) => number> {
  const res = await fetch(`${httpUrl}/metrics`);
  const samples = parsePrometheusText(await res.text());
  return (name, labels) => sampleValue(samples, `payment_ivr_${name}`, labels) ?? 0;
}

describe('SIP fuzzing while payment calls run', () => {
  const work = mkdtempSync(join(tmpdir(), 'sip-fuzz-'));
  let system: RunningSystem;

  beforeAll(async () => {
    writeFileSync(join(work, 'orders.json'), JSON.stringify([{ reference: REFERENCE, amountMinor: 4200, currency: 'EUR', description: 'Fuzz run order' }]));
    const rtpBase = 50000 + Number(process.env.VITEST_POOL_ID ?? '1') * 600;
    system = await startSystem({
      DATA_DIR: testDataDir('sip-fuzz'),
      HTTP_PORT: String(await freePort(31000)),
      SIP_PORT: String(await freePort(33000)),
      RTP_PORT_MIN: String(rtpBase),
      RTP_PORT_MAX: String(rtpBase + 598),
      ORDERS_FILE: join(work, 'orders.json'),
      LOG_LEVEL: 'info',
      SANDBOX_LATENCY_MS: '50',
      // The caps under test, set low enough for the run to meet them.
      SIP_TCP_IDLE_TIMEOUT_MS: '1500',
      SIP_TCP_MAX_CONNECTIONS_PER_SOURCE: '64',
      SIP_UDP_MAX_MESSAGE_BYTES: '32768',
    });
  });

  afterAll(async () => {
    killAllSipp();
    await system?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  const callerPorts = new SippPortSequence(35000);

  async function calls(count: number): Promise<SippRun> {
    const port = await callerPorts.next();
    return runSipp({
      args: [
        `127.0.0.1:${system.sipPort}`,
        '-sf', join(projectRoot(), 'tests/sipp/direct-pay-rfc4733.xml'),
        '-s', 'pay',
        '-i', '127.0.0.1',
        '-p', String(port),
        '-mp', String(port + 2),
        '-m', String(count),
        '-l', String(count),
        '-r', String(count),
        '-key', 'ref', REFERENCE, '-key', 'pan', VISA, '-key', 'exp', '1230', '-key', 'cvv', '123',
      ],
      timeoutMs: 60_000,
    });
  }

  async function payments(): Promise<{ status: string; cardLast4: string | null }[]> {
    return (await system.api<{ payments: { status: string; cardLast4: string | null }[] }>(`/api/v1/payments?reference=${REFERENCE}`)).payments;
  }

  it(`${MESSAGES.toLocaleString('en-GB')} fuzzed messages over UDP and TCP: the calls in progress are approved, the process stays up, memory stays bounded`, { timeout: 80_000 }, async () => {
    const baseline = rssBytes(system.pid);
    let peak = baseline;
    const sampler = setInterval(() => {
      if (alive(system.pid)) peak = Math.max(peak, rssBytes(system.pid));
    }, 100);

    try {
      // Wave one is keying its card when the fuzzing starts; wave two dials in during it.
      const first = calls(CALLS_PER_WAVE);
      while ((await payments()).length < CALLS_PER_WAVE) await new Promise((resolve) => setTimeout(resolve, 100));
      const fuzzStarted = Date.now();
      const fuzz = runSipFuzz({
        host: '127.0.0.1',
        port: system.sipPort,
        seed: SEED,
        count: MESSAGES,
        durationMs: 6_000,
        slowloris: 32,
        slowlorisMs: 20_000,
        flood: 200,
      });
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      const second = calls(CALLS_PER_WAVE);
      const report: SipFuzzReport = await fuzz;
      const fuzzEnded = Date.now();
      const runs = await Promise.all([first, second]);
      clearInterval(sampler);

      const approved = (await payments()).filter((p) => p.status === 'approved');
      const counted = await sipCounters(system.httpUrl);
      const closed = (reason: string): number => counted('sip_tcp_connections_closed_total', { reason });
      const figures = [
        formatFuzzReport(report),
        `  calls during the run: ${approved.length} approved of ${2 * CALLS_PER_WAVE} (fuzzing ${((fuzzEnded - fuzzStarted) / 1000).toFixed(1)} s)`,
        `  system RSS: ${(baseline / MIB).toFixed(0)} MiB before, peak ${(peak / MIB).toFixed(0)} MiB (+${((peak - baseline) / MIB).toFixed(0)} MiB)`,
        `  the system counted: ${counted('sip_messages_malformed_total')} malformed, ${counted('sip_datagrams_oversized_total')} datagrams over the 32 KiB cap dropped, ` +
          `TCP connections closed: ${closed('idle')} idle, ${closed('too-many-from-source')} over the per-source cap, ${closed('framing')} unframeable`,
      ].join('\n');
      console.log(figures);

      for (const run of runs) expect(run.exitCode, `${run.errors}\n${run.stdout.slice(-1500)}`).toBe(0);
      expect(approved).toHaveLength(2 * CALLS_PER_WAVE);
      expect(approved.every((p) => p.cardLast4 === '4242')).toBe(true);

      expect(report.sent.udp + report.sent.tcp).toBeGreaterThanOrEqual(MESSAGES);
      expect(report.sent.tcp).toBeGreaterThan(0);
      expect(report.nearMaxDatagrams).toBeGreaterThan(0);
      // Every slowloris connection was closed by the server's idle timer, not by the fuzzer giving up.
      expect(report.slowloris.closedByPeer).toBe(report.slowloris.opened);
      // The flood met the per-source cap.
      expect(report.flood.refused).toBeGreaterThan(0);
      // The system's own counts (GET /metrics) of what it refused, by cause.
      expect(counted('sip_messages_malformed_total')).toBeGreaterThan(0);
      expect(counted('sip_datagrams_oversized_total')).toBeGreaterThan(0);
      expect(closed('idle')).toBeGreaterThan(0);
      expect(closed('too-many-from-source')).toBeGreaterThan(0);
      expect(closed('framing')).toBeGreaterThan(0);

      expect(alive(system.pid)).toBe(true);
      expect(await options(system.sipPort)).toBe(200);
      expect(peak - baseline).toBeLessThan(150 * MIB);
      // Nothing the fuzzing provoked put card data in the logs.
      expect(findCardDataInText(system.output.join('\n'), [VISA])).toEqual([]);
    } finally {
      clearInterval(sampler);
    }
  });
});
