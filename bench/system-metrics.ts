/** Figures the benchmark reads from the system's own /metrics (Prometheus text; loopback needs no token). */
import type { RunningSystem } from '../tools/system-process.js';

export interface SystemMetrics {
  /** payment_ivr_rtp_packets_lost_total: RTP sequence gaps per source (RFC 3550 §6.4.1). */
  readonly rtpLost: number;
  /** nodejs_gc_duration_seconds (the perf_hooks GC observer): cumulative count per bucket upper bound in ms, all kinds summed. */
  readonly gcBuckets: ReadonlyMap<number, number>;
}

export async function readSystemMetrics(sys: RunningSystem): Promise<SystemMetrics> {
  const res = await fetch(`${sys.httpUrl}/metrics`);
  if (!res.ok) throw new Error(`GET /metrics: HTTP ${res.status}`);
  const text = await res.text();
  let rtpLost = 0;
  const gcBuckets = new Map<number, number>();
  for (const line of text.split('\n')) {
    const lost = /^payment_ivr_rtp_packets_lost_total(?:\{[^}]*\})? (\S+)/.exec(line);
    if (lost) rtpLost += Number(lost[1]);
    const gc = /^nodejs_gc_duration_seconds_bucket\{.*le="([^"]+)".*\} (\S+)/.exec(line);
    if (gc) {
      const le = gc[1] === '+Inf' ? Infinity : Number(gc[1]) * 1000;
      gcBuckets.set(le, (gcBuckets.get(le) ?? 0) + Number(gc[2]));
    }
  }
  return { rtpLost, gcBuckets };
}

/**
 * The p99 of the GC pauses between two readings, as the upper bound of the
 * bucket it falls in (ms): a histogram says "at most", not the exact value.
 * null when no collection ran.
 */
export function gcPauseP99Ms(from: SystemMetrics, to: SystemMetrics): number | null {
  const bounds = [...to.gcBuckets.keys()].sort((a, b) => a - b);
  const total = (to.gcBuckets.get(Infinity) ?? 0) - (from.gcBuckets.get(Infinity) ?? 0);
  if (total <= 0) return null;
  for (const le of bounds) {
    const n = (to.gcBuckets.get(le) ?? 0) - (from.gcBuckets.get(le) ?? 0);
    if (n >= 0.99 * total) return le;
  }
  return Infinity;
}
