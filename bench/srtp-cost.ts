/**
 * What SRTP costs the embedded media server: protect and unprotect (RFC
 * 3711, media-server/embedded/rtp/srtp-context.ts) timed on 20 ms PCMU
 * packets (12 + 160 bytes) the way the RTP session calls them — protection
 * into a reused send buffer, authentication and decryption in place — and
 * what that adds to a call that sends and receives 50 packets a second.
 */
import { randomBytes } from 'node:crypto';
import { RtpPacket } from '../media-server/embedded/media/rtp-packet.js';
import { SRTP_MAX_TAG_BYTES, SrtpContext, type SrtpCryptoSuite } from '../media-server/embedded/rtp/srtp-context.js';

export interface SrtpCost {
  readonly suite: SrtpCryptoSuite;
  readonly packets: number;
  readonly protectUsPerPacket: number;
  readonly unprotectUsPerPacket: number;
  /** 50 packets a second protected and 50 unprotected: the share of one core per call, in %. */
  readonly perCallPctOfCore: number;
}

/** Packets a second each way of a G.711 call with 20 ms packets. */
const PACKETS_PER_SECOND = 50;
const PCMU_PACKET_BYTES = 12 + 160;

function timeNs(run: () => void): number {
  const started = process.hrtime.bigint();
  run();
  return Number(process.hrtime.bigint() - started);
}

/** Times `packets` protects then `packets` unprotects of one suite, after a warm-up of a tenth as many. */
export function measureSrtpCost(suite: SrtpCryptoSuite, packets: number): SrtpCost {
  const key = randomBytes(16);
  const salt = randomBytes(14);
  const sender = new SrtpContext(suite, key, salt, 'outbound');
  const receiver = new SrtpContext(suite, key, salt, 'inbound');
  const warmUp = Math.max(100, Math.floor(packets / 10));
  const total = warmUp + packets;
  const template = new RtpPacket({ payloadType: 0, sequenceNumber: 0, timestamp: 0, ssrc: 0x5eed, payload: Buffer.alloc(160, 0xff) }).serialize();
  const send = Buffer.alloc(PCMU_PACKET_BYTES + SRTP_MAX_TAG_BYTES);
  const wire: Buffer[] = [];
  const protectOne = (i: number): Buffer => {
    template.copy(send);
    send.writeUInt16BE(i & 0xffff, 2);
    send.writeUInt32BE((i * 160) >>> 0, 4);
    return sender.protect(send.subarray(0, PCMU_PACKET_BYTES), send);
  };
  // The packets the receiver will take, protected outside the timed loops.
  const feeder = new SrtpContext(suite, key, salt, 'outbound');
  for (let i = 0; i < total; i++) {
    template.copy(send);
    send.writeUInt16BE(i & 0xffff, 2);
    send.writeUInt32BE((i * 160) >>> 0, 4);
    wire.push(Buffer.from(feeder.protect(send.subarray(0, PCMU_PACKET_BYTES), send)));
  }
  for (let i = 0; i < warmUp; i++) protectOne(i);
  const protectNs = timeNs(() => {
    for (let i = warmUp; i < total; i++) protectOne(i);
  });
  for (let i = 0; i < warmUp; i++) receiver.unprotect(wire[i]!, wire[i]);
  const unprotectNs = timeNs(() => {
    for (let i = warmUp; i < total; i++) receiver.unprotect(wire[i]!, wire[i]);
  });
  const protectUs = protectNs / packets / 1000;
  const unprotectUs = unprotectNs / packets / 1000;
  return {
    suite,
    packets,
    protectUsPerPacket: round3(protectUs),
    unprotectUsPerPacket: round3(unprotectUs),
    perCallPctOfCore: round3(((protectUs + unprotectUs) * PACKETS_PER_SECOND) / 1e6 * 100),
  };
}

function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}

/** The per-packet and per-call figures beside the whole cost of a plain RTP call of the same run. */
export function srtpTable(costs: readonly SrtpCost[], plainPerCallPct: number | null): string {
  const lines = ['SRTP suite                protect µs  unprotect µs  per call (50 pps each way)  plain RTP call  share'];
  for (const c of costs) {
    const share = plainPerCallPct ? `+${((c.perCallPctOfCore / plainPerCallPct) * 100).toFixed(1)} %` : '–';
    lines.push(
      `${c.suite.padEnd(24)}  ${c.protectUsPerPacket.toFixed(2).padStart(10)}  ${c.unprotectUsPerPacket.toFixed(2).padStart(12)}  ${`${c.perCallPctOfCore.toFixed(3)} % of a core`.padStart(26)}  ${`${plainPerCallPct === null ? '–' : plainPerCallPct.toFixed(2)} %`.padStart(14)}  ${share.padStart(7)}`,
    );
  }
  return lines.join('\n');
}
