import { formatHeaderParams, parseHeaderParams, type SipParams } from './header-params.js';
import { formatHost, isHost, isIPv4, isIPv6, isSpaceOrTab, isToken, parsePort } from './sip-grammar.js';
import { SipSyntaxError } from './sip-syntax-error.js';

/** The magic cookie that starts every RFC 3261 branch (§8.1.1.7). */
export const BRANCH_MAGIC_COOKIE = 'z9hG4bK';

/**
 * One via-parm (RFC 3261 §20.42): `SIP/2.0/UDP host:port;branch=…`.
 * `branch`, `received`, `maddr`, `ttl` and `rport` (RFC 3581) live in
 * `params` like any other: `via.params.get('branch')`; `rport` is `null`
 * when asked for without a value.
 */
export interface Via {
  /** Upper-cased: UDP, TCP, TLS, SCTP, WS, WSS or another token. */
  transport: string;
  /** sent-by host; an IPv6 address without its brackets. */
  host: string;
  port?: number | undefined;
  params: SipParams;
}

function fail(message: string): never {
  throw new SipSyntaxError('via', message);
}

function skipSpace(s: string, i: number): number {
  while (i < s.length && isSpaceOrTab(s.charCodeAt(i))) i++;
  return i;
}

/** Reads up to the next "/", space or end. */
function readWord(s: string, i: number): number {
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (c === 0x2f || isSpaceOrTab(c)) break;
    i++;
  }
  return i;
}

/**
 * Parses one via-parm: `sent-protocol LWS sent-by *( SEMI via-params )`,
 * with SWS allowed around the slashes and the sent-by colon (RFC 3261 §25.1).
 * Only SIP/2.0 is accepted.
 */
export function parseVia(value: string): Via {
  const s = value.trim();
  let i = 0;
  const parts: string[] = [];
  let end = 0;
  for (;;) {
    end = readWord(s, i);
    parts.push(s.slice(i, end));
    i = skipSpace(s, end);
    if (parts.length === 3) break;
    if (s.charCodeAt(i) !== 0x2f) fail('sent-protocol is not name/version/transport');
    i = skipSpace(s, i + 1);
  }
  const [name, version, transport] = parts as [string, string, string];
  if (name.toUpperCase() !== 'SIP' || version !== '2.0') fail('sent-protocol is not SIP/2.0');
  if (!isToken(transport)) fail('transport is not a token');
  if (i === end || i === s.length) fail('no LWS and sent-by after the transport');

  let host: string;
  if (s.charCodeAt(i) === 0x5b) {
    const close = s.indexOf(']', i);
    if (close === -1) fail('unterminated IPv6 reference');
    host = s.slice(i + 1, close);
    if (!isIPv6(host)) fail('brackets hold no IPv6 address');
    i = close + 1;
  } else {
    const start = i;
    while (i < s.length) {
      const c = s.charCodeAt(i);
      if (c === 0x3a || c === 0x3b || isSpaceOrTab(c)) break;
      i++;
    }
    host = s.slice(start, i);
  }
  if (!isHost(host)) fail('invalid sent-by host');
  i = skipSpace(s, i);

  let port: number | undefined;
  if (s.charCodeAt(i) === 0x3a) {
    i = skipSpace(s, i + 1);
    const start = i;
    while (i < s.length && s.charCodeAt(i) >= 0x30 && s.charCodeAt(i) <= 0x39) i++;
    port = parsePort(s.slice(start, i));
    if (port === undefined) fail('invalid sent-by port');
  }

  let params: SipParams;
  try {
    params = parseHeaderParams(s, i);
  } catch (err) {
    if (err instanceof SipSyntaxError) fail(`parameters: ${err.message}`);
    throw err;
  }
  const received = params.get('received');
  if (received !== undefined && (received === null || !(isIPv4(received) || isIPv6(received)))) {
    fail('received is not an IP address');
  }
  const rport = params.get('rport');
  if (rport !== undefined && rport !== null && parsePort(rport) === undefined) fail('rport is not a port');
  const branch = params.get('branch');
  if (branch !== undefined && (branch === null || !isToken(branch))) fail('branch is not a token');

  return { transport: transport.toUpperCase(), host, port, params };
}

export function formatVia(via: Via): string {
  const port = via.port === undefined ? '' : `:${via.port}`;
  return `SIP/2.0/${via.transport} ${formatHost(via.host)}${port}${formatHeaderParams(via.params)}`;
}
