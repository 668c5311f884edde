import {
  BRANCH_MAGIC_COOKIE,
  formatVia,
  parseCSeq,
  parseNameAddr,
  parseVia,
  SipHeaders,
  type CSeq,
  type SipRequest,
  type Via,
} from '../message/index.js';
import { isStreamProtocol, type TransportAddress } from '../transport/sip-transport.js';

/**
 * A parsed request as the transaction layer needs it: its top Via and CSeq
 * read once, the address its responses go to (§18.2.2) and the key that
 * matches it to a server transaction (§17.2.3, with the CSeq number).
 */
export interface IncomingRequest {
  readonly message: SipRequest;
  readonly source: TransportAddress;
  /** The top Via, with `received`/`rport` already stamped (§18.2.1, RFC 3581 §4). */
  readonly via: Via;
  readonly cseq: CSeq;
  /** Where responses to this request go (§18.2.2, RFC 3581 §4). */
  readonly responseAddress: TransportAddress;
  /** Server transaction key (`serverTransactionKey`: §17.2.3 plus the CSeq number); an ACK gets its INVITE's key. */
  readonly transactionKey: string;
}

const DEFAULT_SIP_PORT = 5060;

/**
 * Where a response to a request with this top Via goes (RFC 3261 §18.2.2):
 * over a reliable transport, back on the connection the request came on;
 * over UDP, to the source address (the `received` address) and the sent-by
 * port, or the source port when the client asked for `rport` (RFC 3581 §4).
 */
export function responseAddressOf(via: Via, source: TransportAddress): TransportAddress {
  if (isStreamProtocol(source.protocol)) return source;
  const port = via.params.has('rport') ? source.port : (via.port ?? DEFAULT_SIP_PORT);
  return port === source.port ? source : { protocol: source.protocol, address: source.address, port };
}

/**
 * The §17.2.3 match proper for an RFC 3261 branch (magic cookie): branch,
 * sent-by and method, ACK counted as INVITE ("the method of the request
 * matches the one that created the transaction, except for ACK, where the
 * method of the request that created the transaction is INVITE").
 * Undefined for an RFC 2543 branch, or none.
 */
export function branchMatchKey(method: string, via: Via): string | undefined {
  const branch = via.params.get('branch');
  if (!branch || !branch.startsWith(BRANCH_MAGIC_COOKIE)) return undefined;
  return `${branch}|${via.host.toLowerCase()}:${via.port ?? ''}|${method === 'ACK' ? 'INVITE' : method}`;
}

/**
 * The server transaction key. With an RFC 3261 branch: the §17.2.3 match
 * (`branchMatchKey`) plus the CSeq number. A retransmission is the same
 * request byte for byte, so a request whose CSeq number differs cannot be
 * one, whatever its branch: a client that reuses a branch for a new request
 * (SIPp's `[branch]` is per scenario message, so a loop resends it with a
 * new CSeq) gets a new transaction, as sofia-sip's nta matches Call-ID and
 * CSeq number before the branch. The ACK of a non-2xx and a CANCEL carry
 * their INVITE's CSeq number (§17.1.1.3, §9.1), so they still find it.
 * Without the magic cookie (RFC 2543 peers) the fallback compares
 * Request-URI, From tag, Call-ID, CSeq number and top Via; the To tag is
 * left out, so an ACK for a non-2xx still finds its INVITE.
 */
export function serverTransactionKey(request: SipRequest, via: Via, cseq: CSeq): string {
  const matched = branchMatchKey(request.method, via);
  if (matched !== undefined) return `${matched}|${cseq.seq}`;
  const method = request.method === 'ACK' ? 'INVITE' : request.method;
  const branch = via.params.get('branch');
  let fromTag = '';
  try {
    fromTag = parseNameAddr(request.headers.get('From') ?? '').params.get('tag') ?? '';
  } catch {
    // The parser checked From; unreachable in practice.
  }
  const sentBy = `${via.host.toLowerCase()}:${via.port ?? ''};${branch ?? ''}`;
  return `2543|${request.uri}|${fromTag}|${request.headers.get('Call-ID')}|${cseq.seq}|${sentBy}|${method}`;
}

/** The key of the INVITE a CANCEL cancels (§9.2: matched "using the procedures of Section 17.2.3"). */
export function cancelledInviteKey(cancel: IncomingRequest): string {
  return serverTransactionKey({ ...cancel.message, method: 'INVITE' }, cancel.via, cancel.cseq);
}

/**
 * Reads what the transaction layer needs of a request that
 * `parseSipMessage` accepted (so its top Via and CSeq parse), and stamps the
 * top Via as RFC 3261 §18.2.1 says: `received` when the sent-by host is not
 * the packet's source address, and (RFC 3581 §4) `rport` with the source
 * port, plus `received`, when the client asked for it.
 */
export function readIncomingRequest(request: SipRequest, source: TransportAddress): IncomingRequest {
  const via = parseVia(request.headers.get('Via') as string);
  const cseq = parseCSeq(request.headers.get('CSeq') as string);
  const rport = via.params.has('rport');
  if (rport || via.host !== source.address) {
    via.params.set('received', source.address);
    if (rport) via.params.set('rport', String(source.port));
    request.headers.replaceFirst('Via', formatVia(via));
  }
  return {
    message: request,
    source,
    via,
    cseq,
    responseAddress: responseAddressOf(via, source),
    transactionKey: serverTransactionKey(request, via, cseq),
  };
}

/** A copy of `text` that shares no memory with it (a slice of a 64 KiB header section would keep all of it alive). */
function detachedString(text: string): string {
  return Buffer.from(text, 'utf8').toString('utf8');
}

/** The headers a transaction's request keeps once its final response has gone: enough to name it in logs and tests. */
const KEPT_HEADERS = ['Via', 'From', 'To', 'Call-ID', 'CSeq'] as const;

/**
 * What a server transaction keeps of its request after the final response:
 * the start line, top Via, From, To, Call-ID and CSeq, in memory of their
 * own, and no body. RFC 3261 §17.2 needs only the response to answer
 * retransmissions in Completed, yet the transaction lives on for 64·T1
 * (32 s): holding the whole request would let a peer pin up to 64 KiB per
 * request it sends for that long.
 */
export function compactIncomingRequest(incoming: IncomingRequest): IncomingRequest {
  const source = incoming.message;
  const headers = new SipHeaders();
  for (const name of KEPT_HEADERS) {
    const value = source.headers.getLines(name)[0];
    if (value !== undefined) headers.append(name, detachedString(value));
  }
  const message = {
    kind: 'request' as const,
    method: detachedString(source.method),
    uri: detachedString(source.uri),
    headers,
    body: Buffer.alloc(0),
  };
  return {
    message,
    source: incoming.source,
    via: parseVia(headers.get('Via') as string),
    cseq: parseCSeq(headers.get('CSeq') as string),
    responseAddress: incoming.responseAddress,
    transactionKey: detachedString(incoming.transactionKey),
  };
}
