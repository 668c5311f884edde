import { parseNameAddr, parseSipUri, SipHeaders, type SipRequest } from '../message/index.js';
import { SipUnsupportedError } from '../transaction/transaction-errors.js';
import type { TransportProtocol } from '../transport/sip-transport.js';
import type { DialogState } from './dialog-state.js';

/** Where our requests come from: what goes in Via, Contact and User-Agent. */
export interface RequestOrigin {
  /** Via sent-by host and port (§18.1.1). */
  readonly viaHost: string;
  readonly viaPort: number;
  /** Contact header value (a name-addr); undefined leaves Contact out. */
  readonly contact?: string | undefined;
  /** User-Agent header value (§20.41); undefined leaves it out. */
  readonly userAgent?: string | undefined;
}

export interface DialogRequestBuildOptions {
  readonly cseq: number;
  /** A new branch (§8.1.1.7); the dialog draws one per request. */
  readonly branch: string;
  /** The transport the request goes over: the Via's sent-protocol. */
  readonly protocol: TransportProtocol;
  /** Extra header lines, after the ones the stack writes. */
  readonly headers?: Readonly<Record<string, string>> | undefined;
  readonly body?: Buffer | undefined;
  /** Content-Type of the body; required with a body. */
  readonly contentType?: string | undefined;
}

/** Headers that carry the dialog's identity and routing: the stack writes them, callers may not. */
const RESERVED_HEADERS = new Set([
  'via',
  'v',
  'from',
  'f',
  'to',
  't',
  'call-id',
  'i',
  'cseq',
  'max-forwards',
  'route',
  'record-route',
  'content-length',
  'l',
  'content-type',
  'c',
]);

/** Refuses extra headers the stack owns (a second From or Call-ID would break the dialog). */
export function checkExtraHeaders(headers: Readonly<Record<string, string>> | undefined): void {
  if (!headers) return;
  for (const name of Object.keys(headers)) {
    if (RESERVED_HEADERS.has(name.toLowerCase())) throw new SipUnsupportedError(`header ${name} is written by the SIP stack`);
  }
}

const EMPTY = Buffer.alloc(0);

/** Our Via: `SIP/2.0/UDP host:port;branch=…;rport` (rport: RFC 3581 §3, the response comes back to our source port). */
export function formatOwnVia(origin: RequestOrigin, protocol: TransportProtocol, branch: string): string {
  const host = origin.viaHost.includes(':') ? `[${origin.viaHost}]` : origin.viaHost;
  return `SIP/2.0/${protocol.toUpperCase()} ${host}:${origin.viaPort};branch=${branch};rport`;
}

/** A route-set entry with `;lr` is a loose router (RFC 3261 §16.12, §19.1.1). */
function isLooseRoute(route: string): boolean {
  try {
    return parseSipUri(parseNameAddr(route).uri).params.has('lr');
  } catch {
    // A non-SIP or unparsable route: treat as loose, which leaves the Request-URI alone.
    return true;
  }
}

/**
 * Request-URI and Route set of a request within a dialog (RFC 3261
 * §12.2.1.1): with an empty route set, or a first route that is a loose
 * router, the Request-URI is the remote target and the Route lines are the
 * route set; with a strict router first, the Request-URI is that route's URI
 * and the remote target goes last in the Route lines.
 */
export function dialogRouting(state: Pick<DialogState, 'remoteTarget' | 'routeSet'>): { uri: string; routes: readonly string[] } {
  const first = state.routeSet[0];
  if (first === undefined || isLooseRoute(first)) return { uri: state.remoteTarget, routes: state.routeSet };
  // "the UAC MUST place the first URI from the route set into the Request-URI, stripping any parameters that are not allowed in a Request-URI"
  const uri = parseNameAddr(first).uri.split('?')[0] as string;
  return { uri, routes: [...state.routeSet.slice(1), `<${state.remoteTarget}>`] };
}

/**
 * Builds a request within a dialog (RFC 3261 §12.2.1.1): Request-URI and
 * Route from the route set and remote target; To = remote party with its
 * tag, From = local party with ours; the dialog's Call-ID; the given CSeq;
 * a Via with a new branch; Max-Forwards 70 (§8.1.1.6); Contact (§12.2.1.1:
 * "A UAC SHOULD include a Contact header field in any target refresh
 * requests"); then the caller's headers and body.
 */
export function buildDialogRequest(
  state: DialogState,
  origin: RequestOrigin,
  method: string,
  options: DialogRequestBuildOptions,
): SipRequest {
  checkExtraHeaders(options.headers);
  const { uri, routes } = dialogRouting(state);
  const headers = new SipHeaders();
  headers.append('Via', formatOwnVia(origin, options.protocol, options.branch));
  for (const route of routes) headers.append('Route', route);
  headers.append('Max-Forwards', '70');
  headers.append('From', state.localParty);
  headers.append('To', state.remoteParty);
  headers.append('Call-ID', state.callId);
  headers.append('CSeq', `${options.cseq} ${method}`);
  if (origin.contact !== undefined) headers.append('Contact', origin.contact);
  if (origin.userAgent !== undefined) headers.append('User-Agent', origin.userAgent);
  if (options.headers) for (const [name, value] of Object.entries(options.headers)) headers.append(name, value);
  const body = options.body ?? EMPTY;
  if (body.length > 0) {
    if (options.contentType === undefined) throw new SipUnsupportedError('a body needs a Content-Type (RFC 3261 §20.15)');
    headers.append('Content-Type', options.contentType);
  }
  return { kind: 'request', method, uri, headers, body };
}
