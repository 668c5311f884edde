import { createCipheriv, createHmac, timingSafeEqual } from 'node:crypto';
import { RTP_FIXED_HEADER_LENGTH, RtpBits, RtpOffset } from '../media/rtp-packet.js';
import { deriveSrtpSessionKeys, type SrtpSessionKeys } from './srtp-key-derivation.js';
import { SrtpReplayWindow } from './srtp-replay-window.js';

/** The SDES crypto-suites this stack offers and accepts (RFC 4568 §6.2): AES-CM with an 80- or 32-bit HMAC-SHA1 tag. */
export type SrtpCryptoSuite = 'AES_CM_128_HMAC_SHA1_80' | 'AES_CM_128_HMAC_SHA1_32';

export const SRTP_CRYPTO_SUITES: readonly SrtpCryptoSuite[] = ['AES_CM_128_HMAC_SHA1_80', 'AES_CM_128_HMAC_SHA1_32'];

/** RFC 3711 §4.2.1 / RFC 4568 §6.2: the authentication tag's length in octets. */
const TAG_BYTES: Readonly<Record<SrtpCryptoSuite, number>> = { AES_CM_128_HMAC_SHA1_80: 10, AES_CM_128_HMAC_SHA1_32: 4 };

/** The longest tag: what a send buffer reserves after the RTP packet. */
export const SRTP_MAX_TAG_BYTES = 10;

/** Why an SRTP packet was discarded (RFC 3711 §3.3: "the packet MUST be discarded"). */
export type SrtpRejection = 'too-short' | 'authentication' | 'replayed' | 'too-old';

/** An SRTP packet that must be discarded; `reason` says why (never any of its bytes). */
export class SrtpError extends Error {
  override readonly name = 'SrtpError';
  constructor(readonly reason: SrtpRejection) {
    super(`SRTP packet discarded: ${reason}`);
  }
}

/** What one direction keeps per SSRC (RFC 3711 §3.2.1): the rollover counter, the highest sequence number, the replay list. */
interface SsrcState {
  roc: number;
  /** s_l: the highest sequence number accepted (with `roc`, the highest index). */
  highestSeq: number;
  readonly replay: SrtpReplayWindow | undefined;
}

const MAX_ROC = 2 ** 32;

/**
 * The first AES-CM counter block of a packet (RFC 3711 §4.1.1):
 * IV = (k_s · 2^16) XOR (SSRC · 2^64) XOR (i · 2^16), i = ROC · 2^16 + SEQ;
 * the keystream is AES(k_e, IV), AES(k_e, IV + 1), … Written into `into`.
 */
export function srtpCounterBlock(salt: Buffer, ssrc: number, roc: number, seq: number, into: Buffer = Buffer.alloc(16)): Buffer {
  into.fill(0);
  salt.copy(into, 0);
  into.writeUInt32BE((into.readUInt32BE(4) ^ ssrc) >>> 0, 4);
  into.writeUInt32BE((into.readUInt32BE(8) ^ roc) >>> 0, 8);
  into.writeUInt16BE(into.readUInt16BE(12) ^ seq, 12);
  return into;
}

/** Header length of an RTP packet, CSRC list and extension included (RFC 3550 §5.1, §5.3.1); -1 if it overruns. */
function headerLength(packet: Buffer): number {
  const flags = packet[RtpOffset.FLAGS] as number;
  let length = RTP_FIXED_HEADER_LENGTH + 4 * (flags & RtpBits.CSRC_COUNT);
  if ((flags & RtpBits.EXTENSION) !== 0) {
    if (length + 4 > packet.length) return -1;
    length += 4 + 4 * packet.readUInt16BE(length + 2);
  }
  return length > packet.length ? -1 : length;
}

/** `length` octets of `into` (a view, no copy), or a new buffer. */
function output(into: Buffer | undefined, length: number): Buffer {
  if (!into) return Buffer.allocUnsafe(length);
  if (into.length < length) throw new RangeError(`the output buffer holds ${into.length} octets, ${length} are needed`);
  return into.length === length ? into : into.subarray(0, length);
}

/**
 * One direction of an SRTP stream (RFC 3711), AES-CM with HMAC-SHA1 and a
 * key derivation rate of 0: `protect` for what we send under our key,
 * `unprotect` for what the peer sends under theirs. Each SSRC keeps its
 * own rollover counter and, when receiving, its replay list. SRTCP is not
 * handled here: the embedded media server sends no RTCP.
 */
export class SrtpContext {
  readonly suite: SrtpCryptoSuite;
  readonly #keys: SrtpSessionKeys;
  readonly #tagBytes: number;
  readonly #receiving: boolean;
  readonly #streams = new Map<number, SsrcState>();
  readonly #roc = Buffer.alloc(4);
  readonly #iv = Buffer.alloc(16);

  /** `direction` 'inbound' keeps replay lists; 'outbound' only counts rollovers. */
  constructor(suite: SrtpCryptoSuite, masterKey: Buffer, masterSalt: Buffer, direction: 'inbound' | 'outbound') {
    this.suite = suite;
    this.#keys = deriveSrtpSessionKeys(masterKey, masterSalt);
    this.#tagBytes = TAG_BYTES[suite];
    this.#receiving = direction === 'inbound';
  }

  /**
   * Encrypts an RTP packet's payload and appends the tag (§3.3). Writes into
   * `into` when given (at least the packet's length plus the tag's; it may
   * be the packet's own buffer, for protection in place), else a new buffer;
   * returns the SRTP packet.
   */
  protect(packet: Buffer, into?: Buffer): Buffer {
    const header = headerLength(packet);
    if (packet.length < RTP_FIXED_HEADER_LENGTH || header < 0) throw new SrtpError('too-short');
    const out = output(into, packet.length + this.#tagBytes);
    const ssrc = packet.readUInt32BE(RtpOffset.SSRC);
    const seq = packet.readUInt16BE(RtpOffset.SEQUENCE_NUMBER);
    const state = this.#state(ssrc, seq);
    const roc = this.#estimateRoc(state, seq);
    const length = packet.length;
    packet.copy(out, 0, 0, header);
    this.#keystream(ssrc, roc, seq).update(packet.subarray(header)).copy(out, header);
    this.#tag(out.subarray(0, length), roc).copy(out, length, 0, this.#tagBytes);
    this.#advance(state, roc, seq);
    return out;
  }

  /**
   * Checks and decrypts an SRTP packet (§3.3): the index from the rollover
   * counter estimate (§3.3.1), the replay list (§3.3.2), the tag, then the
   * payload; the counter and the list move only for a packet that
   * authenticated. Writes the RTP packet into `into` when given (it may be
   * the SRTP packet itself: decryption in place), else a new buffer, and
   * returns it. Throws `SrtpError` for one to discard.
   */
  unprotect(packet: Buffer, into?: Buffer): Buffer {
    const header = packet.length < RTP_FIXED_HEADER_LENGTH ? -1 : headerLength(packet);
    const end = packet.length - this.#tagBytes;
    if (header < 0 || end < header) throw new SrtpError('too-short');
    const ssrc = packet.readUInt32BE(RtpOffset.SSRC);
    const seq = packet.readUInt16BE(RtpOffset.SEQUENCE_NUMBER);
    const state = this.#state(ssrc, seq);
    const roc = this.#estimateRoc(state, seq);
    const index = roc * 0x10000 + seq;
    const replay = state.replay?.check(index) ?? 'ok';
    if (replay !== 'ok') throw new SrtpError(replay);
    const expected = this.#tag(packet.subarray(0, end), roc);
    if (!timingSafeEqual(expected.subarray(0, this.#tagBytes), packet.subarray(end))) throw new SrtpError('authentication');
    const out = output(into, end);
    packet.copy(out, 0, 0, header);
    this.#keystream(ssrc, roc, seq).update(packet.subarray(header, end)).copy(out, header);
    state.replay?.accept(index);
    this.#advance(state, roc, seq);
    return out;
  }

  #state(ssrc: number, seq: number): SsrcState {
    let state = this.#streams.get(ssrc);
    if (!state) {
      // §3.3.1: the first packet of an SSRC sets s_l; its ROC is 0 (SDES signals no other).
      state = { roc: 0, highestSeq: seq, replay: this.#receiving ? new SrtpReplayWindow() : undefined };
      this.#streams.set(ssrc, state);
    }
    return state;
  }

  /** §3.3.1 (Appendix A): v = ROC - 1, ROC or ROC + 1, whichever puts SEQ nearest s_l. */
  #estimateRoc(state: SsrcState, seq: number): number {
    const { roc, highestSeq } = state;
    if (highestSeq < 0x8000) return seq - highestSeq > 0x8000 && roc > 0 ? roc - 1 : roc;
    return highestSeq - 0x8000 > seq ? (roc + 1) % MAX_ROC : roc;
  }

  /** "ROC and s_l are updated" to the packet's if its index is the highest yet (§3.3.1). */
  #advance(state: SsrcState, roc: number, seq: number): void {
    if (roc > state.roc || (roc === state.roc && seq > state.highestSeq)) {
      state.roc = roc;
      state.highestSeq = seq;
    }
  }

  #keystream(ssrc: number, roc: number, seq: number): ReturnType<typeof createCipheriv> {
    return createCipheriv('aes-128-ctr', this.#keys.encryption, srtpCounterBlock(this.#keys.salt, ssrc, roc, seq, this.#iv));
  }

  /** §4.2: HMAC-SHA1(k_a, authenticated portion || ROC); the caller truncates. */
  #tag(authenticated: Buffer, roc: number): Buffer {
    this.#roc.writeUInt32BE(roc, 0);
    return createHmac('sha1', this.#keys.authentication).update(authenticated).update(this.#roc).digest();
  }
}
