import { join } from 'node:path';
import { projectRoot } from '../app/project-root.js';
import { startCapture } from '../tools/capture/tcpdump.js';
import { writeDtmfUlaw } from '../tools/dtmf-audio.js';
import { keyStepsInjection, runSipp, type SippPortSequence, type SippRun } from '../tools/sipp/sipp-process.js';
import { countApproved, failureBreakdown, sippFailed, RAMP_RATE, RTP_MAX, RTP_MIN, sippCounts, sleep, VISA } from './bench-support.js';
import { cpuPercent, cpuSample, watchPeakRss } from './process-usage.js';
import { quantile, sendIntervalDeviations } from './rtp-timing.js';
import { gcPauseP99Ms, readSystemMetrics } from './system-metrics.js';
import type { MediaServerKind, SystemUnderTest } from './system-under-test.js';

/** Calls started per second in the mixed step (payers and listeners together). */
const MIXED_RAMP_RATE = 100;

/**
 * How the embedded server's paying callers key: RFC 4733 events (SIPp's
 * `play_dtmf`) or tones in their audio (`rtp_stream`). `play_dtmf` sends
 * through a raw socket held for the call, and the kernel hands every raw UDP
 * socket a copy of each UDP datagram on the machine, ours included: with
 * hundreds of calls keying, each RTP packet the system sends costs the
 * sender one copy per keying call. `inband` loads the system the same way
 * (the masker's detector reads every frame either way) without that cost.
 */
export type Keying = 'rfc4733' | 'inband';

export interface DirectPayStepOptions {
  /** The share of callers who pay (the mixed step: a tenth); default 1. */
  readonly keyingShare?: number;
  /** Default `rfc4733`. FreeSWITCH's callers always key RFC 4733 events, in paced steps. */
  readonly keying?: Keying;
}

export interface StepResult {
  readonly mediaServer: MediaServerKind;
  readonly calls: number;
  /** Callers who key a card payment; the others (the mixed step) listen, keying nothing, then hang up. */
  readonly payers: number;
  readonly listeners: number;
  /** Listeners whose call ran its course (SIPp's successful calls). */
  readonly listenersCompleted: number;
  readonly approved: number;
  readonly failed: number;
  readonly failureRate: number;
  readonly cpuPct: number;
  readonly cpuPerCallPct: number;
  readonly rssPeakMiB: number;
  readonly rssPerCallMiB: number;
  readonly rtpJitterP50Ms: number;
  readonly rtpJitterP99Ms: number;
  readonly rtpPacketsSampled: number;
  /** RTP packets the app counted as lost during the step (its /metrics); null on FreeSWITCH, which handles the RTP instead. */
  readonly rtpLost: number | null;
  /** GC pauses during the step, p99 as its bucket's bound (ms): the main thread's, and the media workers' (null: none ran, or MEDIA_WORKERS=0). */
  readonly gcPauseP99Ms: number | null;
  readonly mediaWorkerGcPauseP99Ms: number | null;
  readonly durationS: number;
  readonly keying: Keying;
  /** Why the payers not approved ended (bench-support `failureBreakdown`); empty when all were. */
  readonly failures: Record<string, number>;
  /** Caller keys the app discarded as keyed before their prompt during the step (its /metrics; on either media server). */
  readonly keysDiscarded: number;
}

/**
 * One step of concurrent direct-pay calls, each keying a whole card payment
 * with RFC 4733 events. With `keyingShare` under 1 (the mixed step), only that
 * share pays; the others call the same number, listen to the prompts without
 * keying (SIPp's built-in uac: no RTP of their own) and hang up once every
 * call of the step is up and measured. CPU and RSS are those of `sut.pids`.
 */
export async function directPayStep(sut: SystemUnderTest, ports: SippPortSequence, calls: number, idleRss: number, work: string, options: DirectPayStepOptions = {}): Promise<StepResult> {
  const sys = sut.system;
  const keyingShare = options.keyingShare ?? 1;
  const keying = sut.kind === 'embedded' ? (options.keying ?? 'rfc4733') : 'rfc4733';
  const payers = Math.max(1, Math.round(calls * keyingShare));
  const listeners = calls - payers;
  const port = await ports.next();
  const started = new Date();
  const rampMs = (calls / (listeners > 0 ? MIXED_RAMP_RATE : RAMP_RATE)) * 1000;
  const peak = watchPeakRss(sut.pids);
  const metricsBefore = await readSystemMetrics(sys);
  const run = runSipp({
    args: [
      `127.0.0.1:${sys.sipPort}`,
      ...payingKeys(sut.kind, keying, work),
      '-s', 'pay', '-i', '127.0.0.1', '-p', String(port), '-mp', String(port + 2),
      // `payers` calls per ramp: all of them started within it.
      '-m', String(payers), '-l', String(payers), '-r', String(payers), '-rp', String(Math.max(1, Math.round(rampMs))),
    ],
    timeoutMs: rampMs + 120_000,
  });
  let listening: Promise<SippRun> | undefined;
  if (listeners > 0) {
    const listenerPort = await ports.next();
    listening = runSipp({
      args: [
        `127.0.0.1:${sys.sipPort}`, '-sn', 'uac', '-s', 'pay', '-i', '127.0.0.1', '-p', String(listenerPort), '-mp', String(listenerPort + 2),
        '-m', String(listeners), '-l', String(listeners), '-r', String(listeners), '-rp', String(Math.max(1, Math.round(rampMs))),
        // On the line through the measurement window, hanging up before the IVR gives up on them (three 10 s reference timeouts).
        '-d', String(Math.round(rampMs + 8000)),
      ],
      timeoutMs: rampMs + 120_000,
    });
  }
  // Steady window: every call up, none finished yet (a paying call lasts about 14 s).
  await sleep(rampMs + 1000);
  const cpuFrom = cpuSample(sut.pids);
  const capture = await startCapture({ filter: `udp and src host 127.0.0.1 and src portrange ${RTP_MIN}-${RTP_MAX}`, immediate: false });
  await sleep(3000);
  const datagrams = await capture.stop();
  const cpuTo = cpuSample(sut.pids);
  const sipp = await run;
  const listenersCompleted = listening ? sippCounts(await listening).succeeded : 0;
  const rssPeak = peak.stop();
  const approved = countApproved(sys.dataDir, started);
  const metricsAfter = await readSystemMetrics(sys);
  const deviations = sendIntervalDeviations(datagrams, (d) => d.sourcePort >= RTP_MIN && d.sourcePort <= RTP_MAX);
  const cpuPct = cpuPercent(cpuFrom, cpuTo);
  const failed = payers - approved + (listeners - listenersCompleted);
  return {
    mediaServer: sut.kind,
    calls,
    payers,
    listeners,
    listenersCompleted,
    approved,
    failed,
    failureRate: failed / calls,
    cpuPct,
    cpuPerCallPct: cpuPct / calls,
    rssPeakMiB: rssPeak,
    rssPerCallMiB: Math.max(0, rssPeak - idleRss) / calls,
    rtpJitterP50Ms: quantile(deviations, 0.5),
    rtpJitterP99Ms: quantile(deviations, 0.99),
    rtpPacketsSampled: deviations.length,
    rtpLost: sut.kind === 'embedded' ? metricsAfter.rtpLost - metricsBefore.rtpLost : null,
    gcPauseP99Ms: gcPauseP99Ms(metricsBefore, metricsAfter),
    mediaWorkerGcPauseP99Ms: gcPauseP99Ms(metricsBefore, metricsAfter, 'media-workers'),
    durationS: sipp.durationMs / 1000,
    keying,
    failures: approved < payers ? { ...failureBreakdown(sys.dataDir, started, listeners === 0 ? payers : undefined), ...sippFailed(sipp) } : {},
    keysDiscarded: metricsAfter.keysDiscarded - metricsBefore.keysDiscarded,
  };
}

/**
 * The paying caller's scenario and keys: the reference and the card as RFC
 * 4733 events (or tones, `inband`), typing ahead of the prompts. On FreeSWITCH the same keys go in
 * paced steps: SIPp's play_dtmf restarts its RTP timestamps for each group of
 * keys, which FreeSWITCH takes for a new stream and loses a key over (README,
 * "Where FreeSWITCH differs"); no phone does this.
 */
function payingKeys(kind: MediaServerKind, keying: Keying, work: string): string[] {
  if (kind === 'embedded' && keying === 'inband') {
    // The same keys, typed ahead as the RFC 4733 callers do: the reference, then the card, expiry and code in one run.
    const audio = join(work, 'bench-inband.ulaw');
    writeDtmfUlaw(audio, [{ waitMs: 1000 }, { keys: '1001#' }, { waitMs: 1500 }, { keys: `${VISA}1230123` }, { waitMs: 500 }]);
    return ['-sf', join(projectRoot(), 'tests/sipp/direct-pay-inband.xml'), '-key', 'audio', `${audio},1,0`];
  }
  if (kind === 'embedded') {
    return ['-sf', join(projectRoot(), 'tests/sipp/direct-pay-rfc4733.xml'), '-key', 'ref', '1001', '-key', 'pan', VISA, '-key', 'exp', '1230', '-key', 'cvv', '123'];
  }
  return ['-sf', join(projectRoot(), 'tests/sipp/direct-pay-keys.xml'), ...keyStepsInjection(join(work, 'freeswitch-keys.csv'), ['1001#', 1500], [VISA, 1500], ['1230', 800], ['123', 500])];
}
