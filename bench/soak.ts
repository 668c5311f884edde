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
  /** The heap kept alive (in use after the latest full collection) after the warm-up and at the end, and its growth in percent: a leak shows here whatever V8's sizing does to RSS. */
  readonly heapLiveAfterWarmupMiB: number;
  readonly heapLiveEndMiB: number;
  readonly heapLiveGrowthAfterWarmupPct: number;
  /** GC pauses over the soak (perf_hooks GC observer in the system, its nodejs_gc_duration_seconds): the p99's bucket bound. */
  readonly gcPauseP99Ms: number | null;
  readonly gcPauses: number;
  /** Every 10 s: RSS, and from /metrics V8's heap committed and in use (garbage included) and external memory, so growth is told apart as heap or native. */
  readonly rssCurve: readonly SoakSample[];
}

export interface SoakSample {
  readonly atS: number;
  readonly rssMiB: number;
  readonly heapTotalMiB: number;
  readonly heapUsedMiB: number;
  readonly externalMiB: number;
  /** The heap in use after the latest full collection: what is kept alive (a leak grows this). */
  readonly heapLiveMiB: number;
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
  const curve: SoakSample[] = [];
  const t0 = performance.now();
  for (let atS = 0; atS * 1000 <= durationMs; atS += SAMPLE_EVERY_S) {
    await sleep(Math.max(0, t0 + atS * 1000 - performance.now()));
    const rss = Math.round(rssMiB([sys.pid]) * 10) / 10;
    const { heapTotalMiB, heapUsedMiB, externalMiB, heapLiveMiB } = await readSystemMetrics(sys);
    curve.push({ atS, rssMiB: rss, heapTotalMiB, heapUsedMiB, heapLiveMiB, externalMiB });
    if (atS % 60 === 0) log(`soak: ${atS} s, RSS ${rss} MiB (V8 heap ${heapTotalMiB} MiB committed, ${heapUsedMiB} in use, ${heapLiveMiB} live after the last full GC; external ${externalMiB})`);
  }
  const gcTo = await readSystemMetrics(sys);
  await run;
  // Calls cut by the end of the soak finish or time out; the ones that paid are in the store.
  await sleep(2000);
  const rampS = calls / ratePerS;
  const sampleAt = (s: number): SoakSample | undefined => curve.find((c) => c.atS >= s) ?? curve.at(-1);
  const at = (s: number): number => sampleAt(s)?.rssMiB ?? 0;
  const rssStartMiB = at(rampS);
  const rssAfterWarmupMiB = at(warmupS);
  const rssEndMiB = curve.at(-1)?.rssMiB ?? 0;
  const heapLiveAfterWarmupMiB = sampleAt(warmupS)?.heapLiveMiB ?? 0;
  const heapLiveEndMiB = curve.at(-1)?.heapLiveMiB ?? 0;
  const growthPct = (from: number, to: number): number => (from > 0 ? Math.round(((to - from) / from) * 1000) / 10 : 0);
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
    rssGrowthAfterWarmupPct: growthPct(rssAfterWarmupMiB, rssEndMiB),
    heapLiveAfterWarmupMiB,
    heapLiveEndMiB,
    heapLiveGrowthAfterWarmupPct: growthPct(heapLiveAfterWarmupMiB, heapLiveEndMiB),
    gcPauseP99Ms: gcPauseP99Ms(gcFrom, gcTo),
    gcPauses: (gcTo.gcBuckets.get(Infinity) ?? 0) - (gcFrom.gcBuckets.get(Infinity) ?? 0),
    rssCurve: curve,
  };
}

/** The curve a minute a row: RSS beside V8's heap (committed, in use, live after the last full GC) and external memory, MiB. */
export function soakCurveTable(result: SoakResult): string {
  const rows = result.rssCurve.filter((s) => s.atS % 60 === 0);
  const cell = (v: number | string, width: number): string => String(v).padStart(width);
  return [
    `${cell('minute', 6)}  ${cell('RSS', 7)}  ${cell('heap committed', 14)}  ${cell('heap in use', 11)}  ${cell('heap live', 9)}  ${cell('external', 8)}  ${cell('RSS − heap − external', 21)}`,
    ...rows.map((s) =>
      `${cell(s.atS / 60, 6)}  ${cell(s.rssMiB, 7)}  ${cell(s.heapTotalMiB, 14)}  ${cell(s.heapUsedMiB, 11)}  ${cell(s.heapLiveMiB, 9)}  ${cell(s.externalMiB, 8)}  ${cell(Math.round((s.rssMiB - s.heapTotalMiB - s.externalMiB) * 10) / 10, 21)}`,
    ),
  ].join('\n');
}
