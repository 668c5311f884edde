/** Figures the benchmark reads from the system's own /metrics (Prometheus text; loopback needs no token). */
import type { RunningSystem } from '../tools/system-process.js';

export interface SystemMetrics {
  /** payment_ivr_rtp_packets_lost_total: RTP sequence gaps per source (RFC 3550 §6.4.1). */
  readonly rtpLost: number;
  /** payment_ivr_keys_discarded_total: caller keys discarded because no field was being collected (keyed before the prompt). */
  readonly keysDiscarded: number;
  /** nodejs_gc_duration_seconds (the perf_hooks GC observer): cumulative count per bucket upper bound in ms, all kinds summed. */
  readonly gcBuckets: ReadonlyMap<number, number>;
  /** payment_ivr_media_worker_gc_duration_seconds: the same for the media worker threads (MEDIA_WORKERS), empty without them. */
  readonly workerGcBuckets: ReadonlyMap<number, number>;
  /** prom-client's process figures (MiB): V8's heap in use and committed, and memory outside it held by JS objects (Buffers). */
  readonly heapUsedMiB: number;
  readonly heapTotalMiB: number;
  readonly externalMiB: number;
  /** payment_ivr_heap_live_bytes (MiB): the heap in use after the latest full collection, what is really kept; 0 before the first. */
  readonly heapLiveMiB: number;
}

export async function readSystemMetrics(sys: RunningSystem): Promise<SystemMetrics> {
  const res = await fetch(`${sys.httpUrl}/metrics`);
  if (!res.ok) throw new Error(`GET /metrics: HTTP ${res.status}`);
  const text = await res.text();
  let rtpLost = 0;
  let keysDiscarded = 0;
  const gcBuckets = new Map<number, number>();
  const workerGcBuckets = new Map<number, number>();
  const memory = { nodejs_heap_size_used_bytes: 0, nodejs_heap_size_total_bytes: 0, nodejs_external_memory_bytes: 0, payment_ivr_heap_live_bytes: 0 };
  for (const line of text.split('\n')) {
    const bytes = /^(nodejs_heap_size_used_bytes|nodejs_heap_size_total_bytes|nodejs_external_memory_bytes|payment_ivr_heap_live_bytes) (\S+)/.exec(line);
    if (bytes) memory[bytes[1] as keyof typeof memory] = Number(bytes[2]);
    const lost = /^payment_ivr_rtp_packets_lost_total(?:\{[^}]*\})? (\S+)/.exec(line);
    if (lost) rtpLost += Number(lost[1]);
    const discarded = /^payment_ivr_keys_discarded_total(?:\{[^}]*\})? (\S+)/.exec(line);
    if (discarded) keysDiscarded += Number(discarded[1]);
    const gc = /^(nodejs_gc_duration_seconds|payment_ivr_media_worker_gc_duration_seconds)_bucket\{.*le="([^"]+)".*\} (\S+)/.exec(line);
    if (gc) {
      const buckets = gc[1] === 'nodejs_gc_duration_seconds' ? gcBuckets : workerGcBuckets;
      const le = gc[2] === '+Inf' ? Infinity : Number(gc[2]) * 1000;
      buckets.set(le, (buckets.get(le) ?? 0) + Number(gc[3]));
    }
  }
  const mib = (n: number): number => Math.round((n / 2 ** 20) * 10) / 10;
  return {
    rtpLost,
    keysDiscarded,
    gcBuckets,
    workerGcBuckets,
    heapUsedMiB: mib(memory.nodejs_heap_size_used_bytes),
    heapTotalMiB: mib(memory.nodejs_heap_size_total_bytes),
    externalMiB: mib(memory.nodejs_external_memory_bytes),
    heapLiveMiB: mib(memory.payment_ivr_heap_live_bytes),
  };
}

/**
 * The p99 of the GC pauses between two readings, as the upper bound of the
 * bucket it falls in (ms): a histogram says "at most", not the exact value.
 * null when no collection ran.
 */
export function gcPauseP99Ms(from: SystemMetrics, to: SystemMetrics, thread: 'main' | 'media-workers' = 'main'): number | null {
  const [before, after] = thread === 'main' ? [from.gcBuckets, to.gcBuckets] : [from.workerGcBuckets, to.workerGcBuckets];
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const total = (after.get(Infinity) ?? 0) - (before.get(Infinity) ?? 0);
  if (total <= 0) return null;
  for (const le of bounds) {
    const n = (after.get(le) ?? 0) - (before.get(le) ?? 0);
    if (n >= 0.99 * total) return le;
  }
  return Infinity;
}
