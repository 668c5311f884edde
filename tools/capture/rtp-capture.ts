import { RtpPacketView } from '../../media-server/embedded/media/rtp-packet.js';
import { decodeMulawSample } from '../../media-server/embedded/media/g711.js';
import type { UdpDatagram } from './pcap-reader.js';

export interface CapturedRtp {
  readonly timeMs: number;
  readonly payloadType: number;
  readonly sequenceNumber: number;
  readonly payload: Buffer;
}

/** The RTP packets of a capture that went to `port` (any port if omitted), in capture order (non-RTP datagrams skipped). */
export function rtpTo(datagrams: readonly UdpDatagram[], port?: number): CapturedRtp[] {
  const view = new RtpPacketView();
  const out: CapturedRtp[] = [];
  for (const d of datagrams) {
    if (port !== undefined && d.destinationPort !== port) continue;
    try {
      view.read(d.payload);
    } catch {
      continue;
    }
    out.push({
      timeMs: d.timeMs,
      payloadType: view.payloadType,
      sequenceNumber: view.sequenceNumber,
      payload: Buffer.from(d.payload.subarray(view.payloadOffset, view.payloadOffset + view.payloadLength)),
    });
  }
  return out;
}

/** The PCMU (payload type 0) audio of the packets, decoded, in arrival order. */
export function pcmuAudio(packets: readonly CapturedRtp[]): Int16Array {
  const audio = packets.filter((p) => p.payloadType === 0);
  const pcm = new Int16Array(audio.reduce((n, p) => n + p.payload.length, 0));
  let at = 0;
  for (const p of audio) for (const byte of p.payload) pcm[at++] = decodeMulawSample(byte);
  return pcm;
}

/** 20 ms frames in which a sine at `hz` carries at least half the energy (Goertzel). */
export function framesDominatedBy(pcm: Int16Array, hz: number, rate = 8000): number {
  const n = 160;
  const coef = 2 * Math.cos((2 * Math.PI * hz) / rate);
  let count = 0;
  for (let at = 0; at + n <= pcm.length; at += n) {
    let s1 = 0;
    let s2 = 0;
    let energy = 0;
    for (let i = at; i < at + n; i++) {
      const x = pcm[i] as number;
      energy += x * x;
      const s0 = x + coef * s1 - s2;
      s2 = s1;
      s1 = s0;
    }
    // |X(k)|² of a sine of amplitude A over N samples is (A·N/2)²; its energy is A²·N/2.
    const power = s1 * s1 + s2 * s2 - coef * s1 * s2;
    if (energy > 0 && (2 * power) / n >= 0.5 * energy) count++;
  }
  return count;
}
