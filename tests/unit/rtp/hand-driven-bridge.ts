/**
 * A caller's RtpSession bridged to an agent's, on loopback UDP but on a
 * hand-driven clock: each step sends one 20 ms audio packet (and any RFC 4733
 * packets due then) from the caller's phone, waits until the session has
 * them, moves the session's `now` on by 20 ms and ticks both sessions once.
 * Everything the sessions do is then a function of the packets, never of
 * how fast the machine is. With `srtp`, both legs are SRTP (one SDES key per
 * direction, as the SDP layer negotiates them): the phones protect and
 * unprotect with the same SrtpContext the sessions use.
 */
import { createSocket, type Socket } from 'node:dgram';
import { PCMU } from '../../../media-server/embedded/media/g711.js';
import { RtpPacket } from '../../../media-server/embedded/media/rtp-packet.js';
import { TelephoneEvent, type TelephoneEventFields } from '../../../media-server/embedded/media/telephone-event.js';
import { MediaBridge } from '../../../media-server/embedded/rtp/media-bridge.js';
import { createFramePipeBuffer, FramePipeReader, FramePipeWriter } from '../../../media-server/embedded/rtp/frame-pipe.js';
import type { FrameHandler } from '../../../media-server/embedded/rtp/media-clock.js';
import type { MaskMode } from '../../../media-server/embedded/rtp/dtmf-masker.js';
import { RtpSession, type FrameScheduler, type RtpSessionOptions, type SessionDtmfEvent } from '../../../media-server/embedded/rtp/rtp-session.js';
import { SrtpContext } from '../../../media-server/embedded/rtp/srtp-context.js';
import { newSdesCrypto, type SdesCrypto } from '../../../media-server/embedded/sdp/sdes-crypto.js';
import type { NegotiatedAudio, NegotiatedSrtp } from '../../../media-server/embedded/sdp/sdp-negotiator.js';

export const FRAME = 160;
const EVENT_PT = 101;
const SSRC = 0x2a2a2a2a;
/** RTP timestamp of the caller's first audio sample. */
export const FIRST_TIMESTAMP = 80_000;

class HandClock implements FrameScheduler {
  readonly #handlers = new Set<FrameHandler>();
  #frame = 0;

  add(handler: FrameHandler): void {
    this.#handlers.add(handler);
  }

  remove(handler: FrameHandler): void {
    this.#handlers.delete(handler);
  }

  tick(): void {
    const frame = this.#frame++;
    for (const handler of [...this.#handlers]) handler(frame);
  }
}

async function boundSocket(): Promise<Socket> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return socket;
}

/** Ephemeral loopback ports: the sessions of one test never meet another test's. */
const loopbackPorts: RtpSessionOptions['allocator'] = {
  async allocate() {
    const socket = await boundSocket();
    return { socket, port: socket.address().port };
  },
  release() {},
};

function negotiated(port: number, srtp?: NegotiatedSrtp): NegotiatedAudio {
  const audio: NegotiatedAudio = { codec: 'PCMU', payloadType: 0, telephoneEventPayloadType: EVENT_PT, remoteAddress: '127.0.0.1', remotePort: port, direction: 'sendrecv', onHold: false };
  return srtp ? { ...audio, srtp } : audio;
}

/** The keys of one SRTP leg: `local` the session's, `remote` its phone's. */
export function srtpKeys(): NegotiatedSrtp {
  const suite = 'AES_CM_128_HMAC_SHA1_80';
  return { suite, local: newSdesCrypto(1, suite), remote: newSdesCrypto(1, suite) };
}

const context = (key: SdesCrypto, direction: 'inbound' | 'outbound'): SrtpContext =>
  new SrtpContext(key.suite, key.masterKey, key.masterSalt, direction);

async function until(done: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    if (done()) return;
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  throw new Error(`loopback delivery stalled: ${what}`);
}

/** One RFC 4733 event block to send with a step: timestamp of the event's start (sample index) and its fields. */
export interface EventBlock extends TelephoneEventFields {
  /** Caller sample index where the event starts (its RTP timestamp is FIRST_TIMESTAMP + this). */
  readonly startSample: number;
  readonly marker?: boolean;
}

export class HandDrivenBridge {
  readonly caller: RtpSession;
  readonly agent: RtpSession;
  /** Key presses the caller's session reported, in order. */
  readonly keys: SessionDtmfEvent[] = [];
  readonly #clock: HandClock;
  readonly #callerPhone: Socket;
  readonly #agentPhone: Socket;
  readonly #agentPackets: RtpPacket[] = [];
  /** The datagrams the agent's phone received, as they were on the wire. */
  readonly agentWire: Buffer[] = [];
  /** The SRTP keys of each leg, when the bridge is SRTP. */
  readonly callerSrtp: NegotiatedSrtp | undefined;
  readonly agentSrtp: NegotiatedSrtp | undefined;
  readonly #callerProtect: SrtpContext | undefined;
  readonly #now: { ms: number };
  #sent = 0;
  #sequence = 1000;
  #frame = 0;

  private constructor(
    clock: HandClock,
    now: { ms: number },
    caller: RtpSession,
    agent: RtpSession,
    callerPhone: Socket,
    agentPhone: Socket,
    srtp: { caller: NegotiatedSrtp; agent: NegotiatedSrtp } | undefined,
  ) {
    this.#clock = clock;
    this.callerSrtp = srtp?.caller;
    this.agentSrtp = srtp?.agent;
    this.#callerProtect = srtp && context(srtp.caller.remote, 'outbound');
    const agentUnprotect = srtp && context(srtp.agent.local, 'inbound');
    this.#now = now;
    this.caller = caller;
    this.agent = agent;
    this.#callerPhone = callerPhone;
    this.#agentPhone = agentPhone;
    agentPhone.on('message', (msg) => {
      this.agentWire.push(Buffer.from(msg));
      this.#agentPackets.push(RtpPacket.parse(agentUnprotect ? agentUnprotect.unprotect(msg) : msg));
    });
    caller.on('dtmf', (event) => this.keys.push(event));
  }

  /**
   * `pipe`: the sessions joined as two media workers join them (shared frame
   * rings, `frame-pipe.ts`) instead of by `MediaBridge`.
   */
  static async open(maskMode: MaskMode, bridgeOptions: { srtp?: boolean; pipe?: boolean } = {}): Promise<HandDrivenBridge> {
    const clock = new HandClock();
    const now = { ms: 1000 };
    const options = { allocator: loopbackPorts, clock, maskMode, now: () => now.ms };
    const caller = await RtpSession.open(options);
    const agent = await RtpSession.open(options);
    const callerPhone = await boundSocket();
    const agentPhone = await boundSocket();
    const srtp = bridgeOptions.srtp ? { caller: srtpKeys(), agent: srtpKeys() } : undefined;
    caller.setRemote(negotiated(callerPhone.address().port, srtp?.caller));
    agent.setRemote(negotiated(agentPhone.address().port, srtp?.agent));
    if (bridgeOptions.pipe) {
      const callerToAgent = createFramePipeBuffer();
      const agentToCaller = createFramePipeBuffer();
      caller.linkPipe(new FramePipeWriter(callerToAgent), new FramePipeReader(agentToCaller));
      agent.linkPipe(new FramePipeWriter(agentToCaller), new FramePipeReader(callerToAgent));
    } else {
      new MediaBridge(caller, agent);
    }
    return new HandDrivenBridge(clock, now, caller, agent, callerPhone, agentPhone, srtp);
  }

  /** The session's clock now, in ms (what `reportDtmf` is stamped with). */
  get nowMs(): number {
    return this.#now.ms;
  }

  /**
   * One 20 ms step: the caller's audio frame `pcm` (160 samples, PCMU on the
   * wire) and then `events`, as a carrier sends them in one packet interval;
   * then both sessions tick.
   */
  async step(pcm: Int16Array, events: readonly EventBlock[] = []): Promise<void> {
    await this.deliver(pcm, events);
    this.#clock.tick();
  }

  /** `step` without the tick: the packets of one interval arrive while the media clock is held up. */
  async deliver(pcm: Int16Array, events: readonly EventBlock[] = []): Promise<void> {
    const payload = Buffer.alloc(FRAME);
    PCMU.encode(pcm, payload, FRAME);
    const timestamp = (FIRST_TIMESTAMP + this.#frame * FRAME) >>> 0;
    this.#send(new RtpPacket({ marker: this.#frame === 0, payloadType: 0, sequenceNumber: this.#sequence++ & 0xffff, timestamp, ssrc: SSRC, payload }));
    for (const block of events) {
      this.#send(
        new RtpPacket({
          marker: block.marker ?? false,
          payloadType: EVENT_PT,
          sequenceNumber: this.#sequence++ & 0xffff,
          timestamp: (FIRST_TIMESTAMP + block.startSample) >>> 0,
          ssrc: SSRC,
          payload: new TelephoneEvent(block).serialize(),
        }),
      );
    }
    await until(() => this.caller.stats().packetsIn === this.#sent, `caller got ${this.caller.stats().packetsIn} of ${this.#sent}`);
    this.#frame++;
    this.#now.ms += 20;
  }

  /** The held-up clock resumes `lateMs` later and catches up `frames` ticks at once (a stalled event loop). */
  catchUp(frames: number, lateMs: number): void {
    this.#now.ms += lateMs;
    for (let i = 0; i < frames; i++) this.#clock.tick();
  }

  /** What the agent heard, decoded in sequence order, once every packet the agent's session sent has arrived. */
  async agentAudio(): Promise<Int16Array> {
    await until(() => this.#agentPackets.length === this.agent.stats().packetsOut, 'agent audio');
    const packets = [...this.#agentPackets].sort((a, b) => ((a.sequenceNumber - b.sequenceNumber + 0x8000) & 0xffff) - 0x8000);
    const pcm = new Int16Array(packets.length * FRAME);
    packets.forEach((packet, i) => PCMU.decode(packet.payload, pcm.subarray(i * FRAME, (i + 1) * FRAME)));
    return pcm;
  }

  async close(): Promise<void> {
    await this.caller.close();
    await this.agent.close();
    await new Promise<void>((resolve) => this.#callerPhone.close(() => resolve()));
    await new Promise<void>((resolve) => this.#agentPhone.close(() => resolve()));
  }

  /** Sends a datagram from the caller's phone as it is (no SRTP), and waits until the session has it. */
  async sendRaw(datagram: Buffer): Promise<void> {
    this.#sent++;
    this.#callerPhone.send(datagram, this.caller.localPort, '127.0.0.1');
    await until(() => this.caller.stats().packetsIn === this.#sent, 'raw datagram');
  }

  /** What the caller's phone would send for this packet: SRTP under its key on an SRTP bridge. */
  wire(packet: RtpPacket): Buffer {
    return this.#callerProtect ? this.#callerProtect.protect(packet.serialize()) : packet.serialize();
  }

  #send(packet: RtpPacket): void {
    this.#sent++;
    this.#callerPhone.send(this.wire(packet), this.caller.localPort, '127.0.0.1');
  }
}
