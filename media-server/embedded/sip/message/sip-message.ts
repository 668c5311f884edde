import type { SipHeaders } from './sip-headers.js';

/** The only protocol version this stack speaks (RFC 3261 §7.1). */
export const SIP_VERSION = 'SIP/2.0';

/** Request-Line = Method SP Request-URI SP SIP-Version CRLF, headers, body (RFC 3261 §7.1). */
export interface SipRequest {
  readonly kind: 'request';
  /** Case-sensitive token (RFC 3261 §7.1): `INVITE`, `ACK`, `INFO`… */
  method: string;
  /** The Request-URI as written; `parseSipUri` reads a sip/sips one. */
  uri: string;
  headers: SipHeaders;
  /** Empty when there is none. A parsed body is a view into the received buffer. */
  body: Buffer;
}

/** Status-Line = SIP-Version SP Status-Code SP Reason-Phrase CRLF, headers, body (RFC 3261 §7.2). */
export interface SipResponse {
  readonly kind: 'response';
  /** 100–699. */
  status: number;
  reason: string;
  headers: SipHeaders;
  body: Buffer;
}

export type SipMessage = SipRequest | SipResponse;

export function isSipRequest(message: SipMessage): message is SipRequest {
  return message.kind === 'request';
}

export function isSipResponse(message: SipMessage): message is SipResponse {
  return message.kind === 'response';
}
