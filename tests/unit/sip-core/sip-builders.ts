import { parseSipMessage, type SipRequest, type SipResponse } from '../../../media-server/embedded/sip/message/index.js';
import { readIncomingRequest, type IncomingRequest } from '../../../media-server/embedded/sip/transaction/incoming-request.js';
import type { TransportAddress } from '../../../media-server/embedded/sip/transport/sip-transport.js';

export const PEER: TransportAddress = { protocol: 'udp', address: '127.0.0.1', port: 5070 };
export const PEER_TCP: TransportAddress = { protocol: 'tcp', address: '127.0.0.1', port: 40123 };

export interface RequestSpec {
  readonly method?: string;
  readonly uri?: string;
  readonly branch?: string;
  readonly sentBy?: string;
  readonly transport?: 'UDP' | 'TCP';
  readonly cseq?: number;
  readonly cseqMethod?: string;
  readonly fromTag?: string;
  readonly toTag?: string;
  readonly callId?: string;
  readonly extra?: readonly string[];
  readonly body?: string;
  /** Default application/sdp when there is a body. */
  readonly contentType?: string;
  /** Default 70. */
  readonly maxForwards?: string;
}

/** A request as a peer would send it (SIPp's shape). */
export function requestText(spec: RequestSpec = {}): string {
  const method = spec.method ?? 'INVITE';
  const body = spec.body ?? '';
  const lines = [
    `${method} ${spec.uri ?? 'sip:pay@127.0.0.1:5080'} SIP/2.0`,
    `Via: SIP/2.0/${spec.transport ?? 'UDP'} ${spec.sentBy ?? '127.0.0.1:5070'};branch=${spec.branch ?? 'z9hG4bK-1'}`,
    `From: sipp <sip:sipp@127.0.0.1:5070>;tag=${spec.fromTag ?? 'caller'}`,
    `To: <sip:pay@127.0.0.1:5080>${spec.toTag ? `;tag=${spec.toTag}` : ''}`,
    `Call-ID: ${spec.callId ?? 'call-1@127.0.0.1'}`,
    `CSeq: ${spec.cseq ?? 1} ${spec.cseqMethod ?? method}`,
    'Contact: <sip:sipp@127.0.0.1:5070>',
    `Max-Forwards: ${spec.maxForwards ?? '70'}`,
    ...(spec.extra ?? []),
    ...(body ? [`Content-Type: ${spec.contentType ?? 'application/sdp'}`] : []),
    `Content-Length: ${Buffer.byteLength(body)}`,
    '',
    body,
  ];
  return lines.join('\r\n');
}

export function request(spec: RequestSpec = {}): SipRequest {
  return parseSipMessage(Buffer.from(requestText(spec))) as SipRequest;
}

export function incoming(spec: RequestSpec = {}, source: TransportAddress = PEER): IncomingRequest {
  return readIncomingRequest(request(spec), source);
}

/** A response to `req` as a peer would send it. */
export function responseTo(req: SipRequest, status: number, options: { toTag?: string; extra?: readonly string[]; body?: string } = {}): SipResponse {
  const to = req.headers.get('To') as string;
  const body = options.body ?? '';
  const lines = [
    `SIP/2.0 ${status} Whatever`,
    ...req.headers.getLines('Via').map((v) => `Via: ${v}`),
    `From: ${req.headers.get('From')}`,
    `To: ${options.toTag && !to.includes('tag=') ? `${to};tag=${options.toTag}` : to}`,
    `Call-ID: ${req.headers.get('Call-ID')}`,
    `CSeq: ${req.headers.get('CSeq')}`,
    ...(options.extra ?? []),
    ...(body ? ['Content-Type: application/sdp'] : []),
    `Content-Length: ${Buffer.byteLength(body)}`,
    '',
    body,
  ];
  return parseSipMessage(Buffer.from(lines.join('\r\n'))) as SipResponse;
}

export const SDP_OFFER = ['v=0', 'o=- 1 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', 'm=audio 16000 RTP/AVP 0', 'a=rtpmap:0 PCMU/8000', ''].join('\r\n');
export const SDP_ANSWER = SDP_OFFER.replace('16000', '20000').replace('o=- 1 1', 'o=- 2 2');
