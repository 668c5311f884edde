import * as sdpTransform from 'sdp-transform';

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
  const media = session.media?.find((m) => m.type === 'audio' && m.port > 0 && /RTP\/AVP/.test(m.protocol));
  if (!media) throw new SdpError('no active RTP/AVP audio stream in the SDP');
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
  return { address, port: media.port, formats, telephoneEventPayloadType: telephoneEvent?.payloadType, direction, onHold };
}

/**
 * Answers an offer (RFC 3264 §6): the first of the offer's codecs we carry,
 * telephone-event at the payload type the offer used, and the mirrored
 * direction. An offer without telephone-event is fine: digits then come
 * in-band or by INFO.
 */
export function answerOffer(offerSdp: string, local: LocalMedia): { sdp: string; negotiated: NegotiatedAudio } {
  const offer = describeAudio(offerSdp);
  const chosen = offer.formats.find((f) => (f.codec === 'PCMU' || f.codec === 'PCMA') && f.rate === 8000);
  if (!chosen) throw new NoCommonCodecError('the offer has neither PCMU nor PCMA');
  const direction = mirror(offer.direction);
  const negotiated: NegotiatedAudio = {
    codec: chosen.codec as AudioCodec,
    payloadType: chosen.payloadType,
    telephoneEventPayloadType: offer.telephoneEventPayloadType,
    remoteAddress: offer.address,
    remotePort: offer.port,
    direction,
    onHold: offer.onHold,
  };
  return { sdp: writeSdp(local, [chosen], offer.telephoneEventPayloadType, direction), negotiated };
}

/** Our offer for an outbound leg: PCMU, PCMA and telephone-event. */
export function createOffer(local: LocalMedia, direction: MediaDirection = 'sendrecv'): string {
  return writeSdp(
    local,
    [
      { payloadType: 0, codec: 'PCMU' },
      { payloadType: 8, codec: 'PCMA' },
    ],
    OFFER_TELEPHONE_EVENT_PT,
    direction,
  );
}

/** Reads the answer to our offer: its first codec is the one used (RFC 3264 §7). */
export function readAnswer(answerSdp: string): NegotiatedAudio {
  const answer = describeAudio(answerSdp);
  const chosen = answer.formats.find((f) => f.codec === 'PCMU' || f.codec === 'PCMA');
  if (!chosen) throw new NoCommonCodecError('the answer has neither PCMU nor PCMA');
  return {
    codec: chosen.codec as AudioCodec,
    payloadType: chosen.payloadType,
    telephoneEventPayloadType: answer.telephoneEventPayloadType,
    remoteAddress: answer.address,
    remotePort: answer.port,
    direction: answer.direction,
    onHold: answer.onHold,
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
        protocol: 'RTP/AVP',
        payloads: rtp.map((r) => r.payload).join(' '),
        rtp,
        fmtp,
        ptime: 20,
        direction,
      },
    ],
  } as sdpTransform.SessionDescription);
}
