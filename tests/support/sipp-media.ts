/**
 * For SIPp callers whose media a test checks. SIPp 3.6.1 keeps no account of
 * the RTP it receives, so a caller's SDP can name a UDP socket the test holds
 * instead (an `RtpPhone`, one per call, passed to SIPp as an injection file):
 * what the media server sent each call is then there to decode.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PCMU } from '../../media-server/embedded/media/g711.js';
import { RtpPhone } from '../integration/rtp/rtp-phone.js';
import { tcpFree, udpFree } from '../../tools/sipp/sipp-process.js';

/** Ports above Linux's default ephemeral range (32768–60999), spread by vitest worker. */
const SIPP_PORT_BASE = 61_000;
const worker = Number(process.env.VITEST_POOL_ID ?? '1') % 10;

/**
 * RTP ports for a media server under test: 250 from 63 000 + 250 × worker,
 * above the ephemeral range and clear of every other test's ports.
 */
export function mediaServerRtpRange(): { rtpPortMin: number; rtpPortMax: number } {
  const rtpPortMin = 63_000 + worker * 250;
  return { rtpPortMin, rtpPortMax: rtpPortMin + 248 };
}

/**
 * A port P for SIPp's `-p P -mp P+2`: P free for UDP and TCP, and P+2 and
 * P+4 free for UDP (SIPp binds its media port and the one two above it).
 */
export async function sippPorts(): Promise<number> {
  const base = SIPP_PORT_BASE + worker * 200;
  const first = Math.floor(Math.random() * 32);
  for (let i = 0; i < 32; i++) {
    const port = base + ((first + i) % 32) * 6;
    if ((await udpFree(port)) && (await tcpFree(port)) && (await udpFree(port + 2)) && (await udpFree(port + 4))) return port;
  }
  throw new Error('no free SIPp ports');
}

/** SIPp's arguments for its own addresses, all on loopback. */
export function sippLocalArgs(port: number): string[] {
  return ['-i', '127.0.0.1', '-mi', '127.0.0.1', '-p', String(port), '-mp', String(port + 2)];
}

/**
 * One `RtpPhone` per call, and a SIPp injection file (`-inf`) whose line N
 * (`[field0]`) is the port of phone N: SIPp reads it in order, one line per call.
 */
export async function openCallerEars(count: number, dir: string): Promise<{ phones: RtpPhone[]; injectionFile: string; close(): Promise<void> }> {
  const phones: RtpPhone[] = [];
  for (let i = 0; i < count; i++) phones.push(await RtpPhone.open());
  const injectionFile = join(dir, 'caller-media-ports.csv');
  writeFileSync(injectionFile, `SEQUENTIAL\n${phones.map((p) => `${p.port};\n`).join('')}`);
  return {
    phones,
    injectionFile,
    close: async () => {
      for (const phone of phones) await phone.close();
    },
  };
}

/** Writes 8 kHz PCM as headerless µ-law for SIPp's `rtp_stream`; returns its length in ms. */
export function writeUlaw(path: string, pcm: Int16Array): number {
  const bytes = new Uint8Array(pcm.length);
  PCMU.encode(pcm, bytes, pcm.length);
  writeFileSync(path, bytes);
  return pcm.length / 8;
}

/** Joins PCM pieces end to end. */
export function concatPcm(...parts: readonly Int16Array[]): Int16Array {
  const out = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
