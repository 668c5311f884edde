/**
 * A "phone" for the RTP integration tests: a plain UDP socket on 127.0.0.1
 * that streams G.711 audio paced at 20 ms, replays captured datagrams at
 * their captured spacing, and keeps every RTP packet it receives.
 */
import { createSocket, type Socket } from 'node:dgram';
import type { G711Codec } from '../../../media-server/embedded/media/g711.js';
import { RtpPacket } from '../../../media-server/embedded/media/rtp-packet.js';
import type { AudioCodec, NegotiatedAudio } from '../../../media-server/embedded/sdp/sdp-negotiator.js';
import { RtpPortAllocator } from '../../../media-server/embedded/rtp/rtp-port-allocator.js';

export interface ReceivedPacket {
  readonly at: number;
  readonly packet: RtpPacket;
}

export interface StreamOptions {
  readonly codec: G711Codec;
  readonly payloadType?: number;
  readonly ssrc?: number;
  readonly sequence?: number;
  readonly timestamp?: number;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** RTP ports for this vitest worker: 100 ports from 24000, below the ephemeral range. */
export function testAllocator(): RtpPortAllocator {
  const worker = Number(process.env.VITEST_POOL_ID ?? '1') % 40;
  const min = 24000 + worker * 100;
  return new RtpPortAllocator({ host: '127.0.0.1', min, max: min + 98 });
}

/** What the SDP layer would hand a session for a phone on `port`. */
export function negotiated(port: number, codec: AudioCodec = 'PCMU', telephoneEventPayloadType: number | undefined = 101, extra: Partial<NegotiatedAudio> = {}): NegotiatedAudio {
  return {
    codec,
    payloadType: codec === 'PCMU' ? 0 : 8,
    telephoneEventPayloadType,
    remoteAddress: '127.0.0.1',
    remotePort: port,
    direction: 'sendrecv',
    onHold: false,
    ...extra,
  };
}

export class RtpPhone {
  readonly received: ReceivedPacket[] = [];
  readonly #socket: Socket;
  readonly port: number;

  private constructor(socket: Socket, port: number) {
    this.#socket = socket;
    this.port = port;
    socket.on('message', (msg) => {
      this.received.push({ at: performance.now(), packet: RtpPacket.parse(msg) });
    });
  }

  static async open(): Promise<RtpPhone> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    return new RtpPhone(socket, socket.address().port);
  }

  send(to: number, datagram: Buffer): void {
    this.#socket.send(datagram, to, '127.0.0.1');
  }

  /** Streams `pcm` as 160-sample packets to `to`, one every 20 ms on an absolute schedule. */
  async stream(to: number, pcm: Int16Array, options: StreamOptions): Promise<void> {
    const ssrc = options.ssrc ?? 0x11223344;
    let sequence = options.sequence ?? 1000;
    let timestamp = options.timestamp ?? 50_000;
    const payloadType = options.payloadType ?? options.codec.payloadType;
    const start = performance.now();
    for (let f = 0; f * 160 < pcm.length; f++) {
      const wait = start + 20 * f - performance.now();
      if (wait > 0) await sleep(wait);
      const payload = Buffer.alloc(160);
      options.codec.encode(pcm.subarray(f * 160, f * 160 + 160), payload, Math.min(160, pcm.length - f * 160));
      const packet = new RtpPacket({ marker: f === 0, payloadType, sequenceNumber: sequence & 0xffff, timestamp: timestamp >>> 0, ssrc, payload });
      this.send(to, packet.serialize());
      sequence++;
      timestamp += 160;
    }
  }

  /** Sends captured datagrams to `to`, keeping their captured spacing. */
  async replay(to: number, datagrams: readonly { readonly timeMs: number; readonly payload: Buffer }[]): Promise<void> {
    const first = datagrams[0]?.timeMs ?? 0;
    const start = performance.now();
    for (const d of datagrams) {
      const wait = start + (d.timeMs - first) - performance.now();
      if (wait > 0) await sleep(wait);
      this.send(to, d.payload);
    }
  }

  /** The received packets of `payloadType`, decoded in arrival order. */
  audio(codec: G711Codec, payloadType = codec.payloadType): Int16Array {
    const packets = this.received.filter((r) => r.packet.payloadType === payloadType);
    const out = new Int16Array(packets.reduce((n, r) => n + r.packet.payload.length, 0));
    let at = 0;
    for (const { packet } of packets) {
      const pcm = new Int16Array(packet.payload.length);
      codec.decode(packet.payload, pcm);
      out.set(pcm, at);
      at += pcm.length;
    }
    return out;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.#socket.close(() => resolve()));
  }
}

/** Send intervals in ms between consecutive received packets. */
export function intervals(received: readonly ReceivedPacket[]): number[] {
  const out: number[] = [];
  for (let i = 1; i < received.length; i++) out.push((received[i] as ReceivedPacket).at - (received[i - 1] as ReceivedPacket).at);
  return out;
}

/** The RTP stream checks every received stream must pass: one SSRC, consecutive sequence numbers, +160 timestamps. */
export function streamErrors(received: readonly ReceivedPacket[]): string[] {
  const errors: string[] = [];
  for (let i = 1; i < received.length; i++) {
    const a = (received[i - 1] as ReceivedPacket).packet;
    const b = (received[i] as ReceivedPacket).packet;
    if (b.ssrc !== a.ssrc) errors.push(`SSRC changed at packet ${i}`);
    if (b.sequenceNumber !== ((a.sequenceNumber + 1) & 0xffff)) errors.push(`sequence ${a.sequenceNumber} → ${b.sequenceNumber}`);
    if (b.timestamp !== ((a.timestamp + 160) >>> 0)) errors.push(`timestamp ${a.timestamp} → ${b.timestamp}`);
    if (b.marker) errors.push(`marker on packet ${i}`);
  }
  return errors;
}

/** Closes each in turn (phones, sessions), for `onTestFinished`. */
export async function closeAll(...items: readonly { close(): Promise<unknown> }[]): Promise<void> {
  for (const item of items) await item.close();
}
