import * as sdpTransform from 'sdp-transform';
import { SRTP_CRYPTO_SUITES, type SrtpCryptoSuite } from '../rtp/srtp-context.js';
import { newSdesCrypto, parseSdesCrypto, SdesCryptoError, UnsupportedSdesCryptoError, writeSdesCrypto, type SdesCrypto } from './sdes-crypto.js';

/** G.711 variants we carry (RFC 3551 static payload types 0 and 8). */
export type AudioCodec = 'PCMU' | 'PCMA';

export type MediaDirection = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';

/** What one side's SDP says about its audio stream. */
export interface AudioDescription {
  /** Where the peer wants RTP sent. */
  readonly address: string;
  readonly port: number;
  /** Payload types in the peer's order of preference, resolved to codecs where known. */
  readonly formats: readonly { readonly payloadType: number; readonly codec: string; readonly rate: number }[];
  /** RFC 4733 telephone-event payload type, if offered. */
  readonly telephoneEventPayloadType: number | undefined;
  readonly direction: MediaDirection;
  /** RFC 3264 §8.4: c=0.0.0.0 or a direction without send from the peer means hold. */
  readonly onHold: boolean;
  /** The stream's profile is RTP/SAVP (RFC 3711 §12). */
  readonly savp: boolean;
  /** The values of its `a=crypto` lines, in the peer's order of preference (RFC 4568 §4). */
  readonly crypto: readonly string[];
}

/** SRTP=off|optional|mandatory: whether our media is SRTP (RFC 3711) with SDES keys (RFC 4568). */
export type SrtpPolicy = 'off' | 'optional' | 'mandatory';

/** The keys of an SRTP stream, one per direction (RFC 4568 §6.1: each side's a=crypto keys what it sends). */
export interface NegotiatedSrtp {
  readonly suite: SrtpCryptoSuite;
  /** Ours, sent in our SDP: what we protect with. */
  readonly local: SdesCrypto;
  /** The peer's: what we unprotect with. */
  readonly remote: SdesCrypto;
}

/** How an offer may be answered with SRTP. */
export interface SrtpAnswerOptions {
  readonly policy: SrtpPolicy;
  /**
   * The offer came over TLS. RFC 4568 §8.3: SDES keys travel in the clear
   * in SDP, so they are used only when the signalling is encrypted.
   */
  readonly overTls: boolean;
  /** The stream's keys so far (a re-offer): our key is kept while the suite is (§7.1.4). */
  readonly previous?: NegotiatedSrtp | undefined;
}

/** Why an offer or answer does not get SRTP. */
export type SrtpRefusal =
  /** SRTP=mandatory and the offer is RTP/AVP. */
  | 'plain-offer'
  /** a=crypto over UDP or TCP: its keys were readable on the way (RFC 4568 §8.3). */
  | 'insecure-transport'
  /** RTP/SAVP, but no a=crypto line we support (RFC 4568 §7.1.1). */
  | 'no-supported-crypto'
  /** SRTP=off and the offer is RTP/SAVP. */
  | 'srtp-off';

/** The SRTP policy refuses the offer (488, RFC 4568 §7.1.1), or the answer to our RTP/SAVP offer has no key we offered. */
export class SrtpRefusedError extends Error {
  override readonly name = 'SrtpRefusedError';
  constructor(readonly reason: SrtpRefusal) {
    super(`SRTP refused: ${reason}`);
  }
}

/** The codec both sides use, and where to send. */
export interface NegotiatedAudio {
  readonly codec: AudioCodec;
  readonly payloadType: number;
  readonly telephoneEventPayloadType: number | undefined;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly direction: MediaDirection;
  readonly onHold: boolean;
  /** Present when the stream is SRTP. */
  readonly srtp?: NegotiatedSrtp;
}

/** An answer, and why the offer's SRTP was declined when it was answered plain (for the log). */
export interface OfferAnswer {
  readonly sdp: string;
  readonly negotiated: NegotiatedAudio;
  readonly srtpDeclined?: SrtpRefusal;
}

export interface LocalMedia {
  readonly address: string;
  readonly port: number;
  /** o= session id; the version goes up by one on each new offer or answer (RFC 3264 §8). */
  readonly sessionId: number;
  readonly sessionVersion: number;
}

/** The SDP could not be read, or holds no audio stream. */
export class SdpError extends Error {
  override readonly name = 'SdpError';
}

/** No codec in common: the INVITE is answered 488 (RFC 3261 §21.4.26). */
export class NoCommonCodecError extends Error {
  override readonly name = 'NoCommonCodecError';
}

const STATIC_PAYLOADS: Readonly<Record<number, { codec: string; rate: number }>> = {
  0: { codec: 'PCMU', rate: 8000 },
  8: { codec: 'PCMA', rate: 8000 },
  13: { codec: 'CN', rate: 8000 },
};

/** Our own payload type for telephone-event in offers we make. */
export const OFFER_TELEPHONE_EVENT_PT = 101;

export function describeAudio(sdp: string): AudioDescription {
  let session: sdpTransform.SessionDescription;
  try {
    session = sdpTransform.parse(sdp);
  } catch (err) {
    throw new SdpError(`unreadable SDP: ${(err as Error).message}`);
  }
  const media = session.media?.find((m) => m.type === 'audio' && m.port > 0 && (m.protocol === 'RTP/AVP' || m.protocol === 'RTP/SAVP'));
  if (!media) throw new SdpError('no active RTP/AVP or RTP/SAVP audio stream in the SDP');
  const address = media.connection?.ip ?? session.connection?.ip;
  if (!address) throw new SdpError('no connection address (c=) for the audio stream');
  const payloadTypes = String(media.payloads ?? '')
    .trim()
    .split(/\s+/)
    .map(Number)
    .filter((n) => Number.isInteger(n) && n >= 0 && n <= 127);
  const formats = payloadTypes.map((payloadType) => {
    const mapped = media.rtp.find((r) => r.payload === payloadType);
    if (mapped) return { payloadType, codec: mapped.codec, rate: mapped.rate ?? 8000 };
    return { payloadType, ...(STATIC_PAYLOADS[payloadType] ?? { codec: 'unknown', rate: 0 }) };
  });
  const telephoneEvent = formats.find((f) => f.codec.toLowerCase() === 'telephone-event' && f.rate === 8000);
  const direction = (media.direction ?? session.direction ?? 'sendrecv') as MediaDirection;
  const onHold = address === '0.0.0.0' || direction === 'sendonly' || direction === 'inactive';
  // sdp-transform keeps one session parameter; any is refused (sdes-crypto.ts), so none is lost that matters.
  const crypto = (media.crypto ?? []).map((c) => [c.id, c.suite, c.config, c.sessionConfig].filter((v) => v !== undefined).join(' '));
  return {
    address,
    port: media.port,
    formats,
    telephoneEventPayloadType: telephoneEvent?.payloadType,
    direction,
    onHold,
    savp: media.protocol === 'RTP/SAVP',
    crypto,
  };
}

/**
 * Answers an offer (RFC 3264 §6): the first of the offer's codecs we carry,
 * telephone-event at the payload type the offer used, and the mirrored
 * direction. An offer without telephone-event is fine: digits then come
 * in-band or by INFO.
 *
 * SRTP (RFC 4568 §7.1.2): an RTP/SAVP offer over TLS is answered RTP/SAVP
 * with the first of its a=crypto lines we support, under its tag, with our
 * own key. Otherwise `mandatory` refuses the offer; `optional` answers
 * RTP/AVP and says why in `srtpDeclined`; `off` refuses an RTP/SAVP offer.
 * Throws `NoCommonCodecError`, `SdpError` or `SrtpRefusedError` (all 488).
 */
export function answerOffer(offerSdp: string, local: LocalMedia, srtp: SrtpAnswerOptions = { policy: 'off', overTls: false }): OfferAnswer {
  const offer = describeAudio(offerSdp);
  const chosen = offer.formats.find((f) => (f.codec === 'PCMU' || f.codec === 'PCMA') && f.rate === 8000);
  if (!chosen) throw new NoCommonCodecError('the offer has neither PCMU nor PCMA');
  const keys = answerKeys(offer, srtp);
  const direction = mirror(offer.direction);
  const negotiated: NegotiatedAudio = {
    codec: chosen.codec as AudioCodec,
    payloadType: chosen.payloadType,
    telephoneEventPayloadType: offer.telephoneEventPayloadType,
    remoteAddress: offer.address,
    remotePort: offer.port,
    direction,
    onHold: offer.onHold,
    ...(keys.srtp ? { srtp: keys.srtp } : {}),
  };
  const sdp = writeSdp(local, [chosen], offer.telephoneEventPayloadType, direction, keys.srtp ? [keys.srtp.local] : []);
  return keys.declined ? { sdp, negotiated, srtpDeclined: keys.declined } : { sdp, negotiated };
}

/** The SRTP part of an answer: keys, a plain answer with the reason, or a refusal. */
function answerKeys(offer: AudioDescription, options: SrtpAnswerOptions): { srtp?: NegotiatedSrtp; declined?: SrtpRefusal } {
  const { policy, overTls, previous } = options;
  let declined: SrtpRefusal | undefined;
  if (offer.crypto.length > 0 && !overTls) declined = 'insecure-transport';
  else if (!offer.savp) declined = policy === 'mandatory' ? 'plain-offer' : undefined;
  else if (policy === 'off') declined = 'srtp-off';
  else {
    const remote = firstSupported(offer.crypto);
    if (!remote) declined = 'no-supported-crypto';
    else {
      const local = previous && previous.suite === remote.suite ? { ...previous.local, tag: remote.tag } : newSdesCrypto(remote.tag, remote.suite);
      return { srtp: { suite: remote.suite, local, remote } };
    }
  }
  if (declined === undefined) return {};
  // An RTP/SAVP offer answered RTP/AVP only where the operator allows plain media.
  if (policy === 'mandatory' || (offer.savp && policy === 'off')) throw new SrtpRefusedError(declined);
  return { declined };
}

function firstSupported(lines: readonly string[]): SdesCrypto | undefined {
  for (const line of lines) {
    try {
      return parseSdesCrypto(line);
    } catch (err) {
      // §7.1.1: a line the answerer cannot use is skipped for the next one.
      if (!(err instanceof SdesCryptoError || err instanceof UnsupportedSdesCryptoError)) throw err;
    }
  }
  return undefined;
}

/**
 * Our offer for an outbound leg: PCMU, PCMA and telephone-event; RTP/SAVP
 * with these a=crypto lines when there are any (see `offerCrypto`).
 */
export function createOffer(local: LocalMedia, direction: MediaDirection = 'sendrecv', crypto: readonly SdesCrypto[] = []): string {
  return writeSdp(
    local,
    [
      { payloadType: 0, codec: 'PCMU' },
      { payloadType: 8, codec: 'PCMA' },
    ],
    OFFER_TELEPHONE_EVENT_PT,
    direction,
    crypto,
  );
}

/** Fresh keys for an RTP/SAVP offer: one a=crypto line per suite we support, the 80-bit tag first. */
export function offerCrypto(): SdesCrypto[] {
  return SRTP_CRYPTO_SUITES.map((suite, i) => newSdesCrypto(i + 1, suite));
}

/**
 * Reads the answer to our offer: its first codec is the one used (RFC 3264
 * §7). To an RTP/SAVP offer (`offered` keys) the answer must be RTP/SAVP
 * with one of our tags and its suite (RFC 4568 §7.1.3); throws
 * `SrtpRefusedError` otherwise.
 */
export function readAnswer(answerSdp: string, offered: readonly SdesCrypto[] = []): NegotiatedAudio {
  const answer = describeAudio(answerSdp);
  const chosen = answer.formats.find((f) => f.codec === 'PCMU' || f.codec === 'PCMA');
  if (!chosen) throw new NoCommonCodecError('the answer has neither PCMU nor PCMA');
  let srtp: NegotiatedSrtp | undefined;
  if (offered.length > 0) {
    const remote = answer.savp ? firstSupported(answer.crypto) : undefined;
    const local = offered.find((c) => c.tag === remote?.tag && c.suite === remote.suite);
    if (!remote || !local) throw new SrtpRefusedError('no-supported-crypto');
    srtp = { suite: local.suite, local, remote };
  } else if (answer.savp) {
    throw new SdpError('an RTP/SAVP answer to an RTP/AVP offer');
  }
  return {
    codec: chosen.codec as AudioCodec,
    payloadType: chosen.payloadType,
    telephoneEventPayloadType: answer.telephoneEventPayloadType,
    remoteAddress: answer.address,
    remotePort: answer.port,
    direction: answer.direction,
    onHold: answer.onHold,
    ...(srtp ? { srtp } : {}),
  };
}

function mirror(direction: MediaDirection): MediaDirection {
  if (direction === 'sendonly') return 'recvonly';
  if (direction === 'recvonly') return 'sendonly';
  return direction;
}

function writeSdp(
  local: LocalMedia,
  codecs: readonly { payloadType: number; codec: string }[],
  telephoneEventPt: number | undefined,
  direction: MediaDirection,
  crypto: readonly SdesCrypto[],
): string {
  const ipVer = local.address.includes(':') ? 6 : 4;
  const rtp = codecs.map((c) => ({ payload: c.payloadType, codec: c.codec, rate: 8000 }));
  const fmtp: { payload: number; config: string }[] = [];
  if (telephoneEventPt !== undefined) {
    rtp.push({ payload: telephoneEventPt, codec: 'telephone-event', rate: 8000 });
    fmtp.push({ payload: telephoneEventPt, config: '0-15' });
  }
  return sdpTransform.write({
    version: 0,
    origin: {
      username: '-',
      sessionId: local.sessionId,
      sessionVersion: local.sessionVersion,
      netType: 'IN',
      ipVer,
      address: local.address,
    },
    name: '-',
    connection: { version: ipVer, ip: local.address },
    timing: { start: 0, stop: 0 },
    media: [
      {
        type: 'audio',
        port: local.port,
        protocol: crypto.length > 0 ? 'RTP/SAVP' : 'RTP/AVP',
        payloads: rtp.map((r) => r.payload).join(' '),
        rtp,
        fmtp,
        ...(crypto.length > 0 ? { crypto: crypto.map(cryptoLine) } : {}),
        ptime: 20,
        direction,
      },
    ],
  } as sdpTransform.SessionDescription);
}

/** sdp-transform's shape of an a=crypto line. */
function cryptoLine(crypto: SdesCrypto): { id: number; suite: string; config: string } {
  const [, suite, config] = writeSdesCrypto(crypto).split(' ') as [string, string, string];
  return { id: crypto.tag, suite, config };
}
