import type { UdpDatagram } from '../tools/capture/pcap-reader.js';

/** RTP pacing: 20 ms frames. */
const FRAME_MS = 20;

/**
 * Send-interval jitter of the RTP streams in a capture, per RFC 3550's idea
 * of jitter but simpler: for each stream (source port → destination port),
 * the absolute difference between consecutive packets' capture interval and
 * 20 ms. Returns every such difference, sorted, in ms.
 */
export function sendIntervalDeviations(datagrams: readonly UdpDatagram[], isRtpFromUs: (d: UdpDatagram) => boolean): number[] {
  const last = new Map<string, number>();
  const deviations: number[] = [];
  for (const d of datagrams) {
    if (!isRtpFromUs(d) || d.payload.length < 12 || d.payload[0]! >> 6 !== 2) continue;
    const stream = `${d.sourcePort}>${d.destinationPort}`;
    const previous = last.get(stream);
    if (previous !== undefined) deviations.push(Math.abs(d.timeMs - previous - FRAME_MS));
    last.set(stream, d.timeMs);
  }
  return deviations.sort((a, b) => a - b);
}

/** The value at quantile `q` (0–1) of sorted values; 0 for none. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}
