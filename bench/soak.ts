import { join } from 'node:path';
import { projectRoot } from '../app/project-root.js';
import { runSipp, type SippPortSequence } from '../tools/sipp/sipp-process.js';
import type { RunningSystem } from '../tools/system-process.js';
import { countApproved, log, sleep, VISA } from './bench-support.js';
import { rssMiB } from './process-usage.js';
import { gcPauseP99Ms, readSystemMetrics } from './system-metrics.js';

/** A direct-pay call through the flow takes about 14 s: new calls at calls/14 per second keep `calls` on the line. */
const CALL_SECONDS = 14;
/** The warm-up: RSS growth is judged from five minutes in. */
const WARMUP_S = 300;
const SAMPLE_EVERY_S = 10;

export interface SoakResult {
  readonly minutes: number;
  /** Concurrent direct-pay calls held through the soak. */
  readonly calls: number;
  readonly approved: number;
  readonly rssIdleMiB: number;
  /** RSS once the calls are up, after the warm-up (five minutes, or half a shorter soak), and at the end. */
  readonly rssStartMiB: number;
  readonly rssAfterWarmupMiB: number;
  readonly warmupS: number;
  readonly rssEndMiB: number;
  /** (RSS after warm-up − idle) / calls. */
  readonly rssPerCallMiB: number;
  /** End against after warm-up, percent (flat: within 5). */
  readonly rssGrowthAfterWarmupPct: number;
  /** GC pauses over the soak (perf_hooks GC observer in the system, its nodejs_gc_duration_seconds): the p99's bucket bound. */
  readonly gcPauseP99Ms: number | null;
  readonly gcPauses: number;
  readonly rssCurve: readonly { readonly atS: number; readonly rssMiB: number }[];
}

/** `calls` direct-pay calls kept on the line for `minutes`, RSS sampled every 10 s, GC pauses from /metrics. */
export async function soak(sys: RunningSystem, ports: SippPortSequence, minutes: number, calls: number): Promise<SoakResult> {
  const durationMs = minutes * 60_000;
  const warmupS = Math.min(WARMUP_S, (minutes * 60) / 2);
  const started = new Date();
  const rssIdleMiB = rssMiB([sys.pid]);
  const gcFrom = await readSystemMetrics(sys);
  const port = await ports.next();
  const ratePerS = calls / CALL_SECONDS;
  const run = runSipp({
    args: [
      `127.0.0.1:${sys.sipPort}`, '-sf', join(projectRoot(), 'tests/sipp/direct-pay-rfc4733.xml'),
      '-s', 'pay', '-i', '127.0.0.1', '-p', String(port), '-mp', String(port + 2),
      // No more than `calls` at once; started at the rate that keeps that many up; stopped at the end of the soak.
      '-l', String(calls), '-r', String(Math.max(1, Math.round(ratePerS * 10))), '-rp', '10000',
      '-key', 'ref', '1001', '-key', 'pan', VISA, '-key', 'exp', '1230', '-key', 'cvv', '123',
    ],
    timeoutMs: durationMs,
  });
  const curve: { atS: number; rssMiB: number }[] = [];
  const t0 = performance.now();
  for (let atS = 0; atS * 1000 <= durationMs; atS += SAMPLE_EVERY_S) {
    await sleep(Math.max(0, t0 + atS * 1000 - performance.now()));
    curve.push({ atS, rssMiB: Math.round(rssMiB([sys.pid]) * 10) / 10 });
    if (atS % 60 === 0) log(`soak: ${atS} s, RSS ${curve.at(-1)?.rssMiB} MiB`);
  }
  const gcTo = await readSystemMetrics(sys);
  await run;
  // Calls cut by the end of the soak finish or time out; the ones that paid are in the store.
  await sleep(2000);
  const rampS = calls / ratePerS;
  const at = (s: number): number => (curve.find((c) => c.atS >= s) ?? curve.at(-1))?.rssMiB ?? 0;
  const rssStartMiB = at(rampS);
  const rssAfterWarmupMiB = at(warmupS);
  const rssEndMiB = curve.at(-1)?.rssMiB ?? 0;
  return {
    minutes,
    calls,
    approved: countApproved(sys.dataDir, started),
    rssIdleMiB: Math.round(rssIdleMiB * 10) / 10,
    rssStartMiB,
    rssAfterWarmupMiB,
    warmupS,
    rssEndMiB,
    rssPerCallMiB: Math.round((Math.max(0, rssAfterWarmupMiB - rssIdleMiB) / calls) * 1000) / 1000,
    rssGrowthAfterWarmupPct: rssAfterWarmupMiB > 0 ? Math.round(((rssEndMiB - rssAfterWarmupMiB) / rssAfterWarmupMiB) * 1000) / 10 : 0,
    gcPauseP99Ms: gcPauseP99Ms(gcFrom, gcTo),
    gcPauses: (gcTo.gcBuckets.get(Infinity) ?? 0) - (gcFrom.gcBuckets.get(Infinity) ?? 0),
    rssCurve: curve,
  };
}
