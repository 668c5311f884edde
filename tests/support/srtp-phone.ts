/**
 * The media half of an SRTP caller for the integration tests. SIPp (Debian's
 * 3.6.1) has no SRTP, so a SIPp scenario carries the signalling and names
 * this phone's UDP port in its SDP; the phone keys RFC 4733 events, SRTP
 * protected under its own SDES key, and decrypts what the system sends it
 * under the key of the system's answer. It uses the system's own
 * SrtpContext, itself verified on RFC 3711's test vectors
 * (tests/unit/rtp/srtp.test.ts).
 */
import { createSocket, type Socket } from 'node:dgram';
import { dtmfEventCode } from '../../media-server/embedded/media/dtmf-keypad.js';
import { RtpPacket } from '../../media-server/embedded/media/rtp-packet.js';
import { TelephoneEvent } from '../../media-server/embedded/media/telephone-event.js';
import { SrtpContext, SrtpError } from '../../media-server/embedded/rtp/srtp-context.js';
import { newSdesCrypto, parseSdesCrypto, writeSdesCrypto, type SdesCrypto } from '../../media-server/embedded/sdp/sdes-crypto.js';
import type { DtmfKey } from '../../domain/dtmf-key.js';

/** Our telephone-event payload type in the offer. */
export const SRTP_PHONE_EVENT_PT = 101;
const SSRC = 0x5eed5eed;
/** A key as SIPp's play_dtmf sends it: 100 ms of tone in a 200 ms slot. */
const KEY_PACKETS = 5;
const KEY_SLOT_MS = 200;

/** One RFC 4733 packet as sent: its sequence number and its plain payload. */
export interface SentEvent {
  readonly sequenceNumber: number;
  readonly payload: Buffer;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class SrtpPhone {
  /** The phone's key, for the a=crypto line of its offer. */
  readonly key: SdesCrypto = newSdesCrypto(1, 'AES_CM_128_HMAC_SHA1_80');
  /** Every RFC 4733 packet sent, before protection. */
  readonly sentEvents: SentEvent[] = [];
  /** Packets from the system that authenticated under its key, decrypted. */
  readonly received: RtpPacket[] = [];
  /** Packets from the system that did not authenticate. */
  rejected = 0;
  readonly port: number;
  readonly #socket: Socket;
  #protect: SrtpContext | undefined;
  #unprotect: SrtpContext | undefined;
  #to = 0;
  #sequence = 3000;
  #timestamp = 90_000;
  #lastSent: Buffer | undefined;

  private constructor(socket: Socket) {
    this.#socket = socket;
    this.port = socket.address().port;
    socket.on('message', (msg) => {
      const unprotect = this.#unprotect;
      if (!unprotect) return;
      try {
        this.received.push(RtpPacket.parse(unprotect.unprotect(msg)));
      } catch (err) {
        if (!(err instanceof SrtpError)) throw err;
        this.rejected++;
      }
    });
  }

  static async open(): Promise<SrtpPhone> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    return new SrtpPhone(socket);
  }

  /** The value of the offer's a=crypto line. */
  get cryptoAttribute(): string {
    return writeSdesCrypto(this.key);
  }

  /** The answer's RTP port and a=crypto value: from now on media goes there, both ways SRTP. */
  answered(port: number, cryptoAttribute: string): void {
    const theirs = parseSdesCrypto(cryptoAttribute);
    this.#to = port;
    this.#protect = new SrtpContext(this.key.suite, this.key.masterKey, this.key.masterSalt, 'outbound');
    this.#unprotect = new SrtpContext(theirs.suite, theirs.masterKey, theirs.masterSalt, 'inbound');
  }

  /** Keys each of `keys` as RFC 4733 events (RFC 4733 §2.5: updates every 20 ms, the end sent three times). */
  async press(keys: string): Promise<void> {
    for (const key of keys) {
      const event = dtmfEventCode(key as DtmfKey);
      const started = performance.now();
      for (let i = 0; i < KEY_PACKETS + 3; i++) {
        const end = i >= KEY_PACKETS;
        const duration = Math.min(i + 1, KEY_PACKETS) * 160;
        this.#sendEvent(new TelephoneEvent({ event, end, volume: 10, duration }).serialize(), i === 0);
        await sleep(started + 20 * (i + 1) - performance.now());
      }
      this.#timestamp = (this.#timestamp + KEY_SLOT_MS * 8) >>> 0;
      await sleep(started + KEY_SLOT_MS - performance.now());
    }
  }

  /** Sends the last protected packet again: an SRTP replay (RFC 3711 §3.3.2), to be discarded and counted. */
  replayLast(): void {
    if (!this.#lastSent) throw new Error('nothing sent yet');
    this.#socket.send(this.#lastSent, this.#to, '127.0.0.1');
  }

  /** Sends a packet with the next sequence number whose payload was altered after protection: its tag cannot verify. */
  sendTampered(): void {
    const protect = this.#protect;
    if (!protect) throw new Error('no answer yet');
    const packet = new RtpPacket({ payloadType: 0, sequenceNumber: this.#sequence++ & 0xffff, timestamp: this.#timestamp, ssrc: SSRC, payload: Buffer.alloc(160, 0xff) });
    const wire = Buffer.from(protect.protect(packet.serialize()));
    wire[12] = (wire[12]! ^ 0x01) & 0xff;
    this.#socket.send(wire, this.#to, '127.0.0.1');
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.#socket.close(() => resolve()));
  }

  #sendEvent(payload: Buffer, marker: boolean): void {
    const protect = this.#protect;
    if (!protect) throw new Error('no answer yet');
    const sequenceNumber = this.#sequence++ & 0xffff;
    const packet = new RtpPacket({ marker, payloadType: SRTP_PHONE_EVENT_PT, sequenceNumber, timestamp: this.#timestamp, ssrc: SSRC, payload });
    this.sentEvents.push({ sequenceNumber, payload });
    this.#lastSent = Buffer.from(protect.protect(packet.serialize()));
    this.#socket.send(this.#lastSent, this.#to, '127.0.0.1');
  }
}
