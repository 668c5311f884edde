/**
 * Character classes and small recognisers from the RFC 3261 §25.1 ABNF,
 * shared by the parsers of this folder. Tables indexed by char code keep the
 * per-character tests branch-free; everything outside ASCII is rejected.
 */

function charTable(chars: string, alphanumeric = true): Uint8Array {
  const table = new Uint8Array(128);
  if (alphanumeric) {
    for (let c = 0x30; c <= 0x39; c++) table[c] = 1;
    for (let c = 0x41; c <= 0x5a; c++) table[c] = 1;
    for (let c = 0x61; c <= 0x7a; c++) table[c] = 1;
  }
  for (let i = 0; i < chars.length; i++) table[chars.charCodeAt(i)] = 1;
  return table;
}

/** token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~") */
const TOKEN = charTable("-.!%*_+`'~");
/** unreserved = alphanum / mark; mark = "-" / "_" / "." / "!" / "~" / "*" / "'" / "(" / ")" */
const UNRESERVED = "-_.!~*'()";
/** user = 1*( unreserved / escaped / user-unreserved ); user-unreserved = "&" / "=" / "+" / "$" / "," / ";" / "?" / "/" */
const USER = charTable(`${UNRESERVED}&=+$,;?/%`);
/** password = *( unreserved / escaped / "&" / "=" / "+" / "$" / "," ) */
const PASSWORD = charTable(`${UNRESERVED}&=+$,%`);
/** paramchar = param-unreserved / unreserved / escaped; param-unreserved = "[" / "]" / "/" / ":" / "&" / "+" / "$" */
const PARAM_CHAR = charTable(`${UNRESERVED}[]/:&+$%`);
/** hname / hvalue = 1*( hnv-unreserved / unreserved / escaped ); hnv-unreserved = "[" / "]" / "/" / "?" / ":" / "+" / "$" */
const HEADER_CHAR = charTable(`${UNRESERVED}[]/?:+$%`);
/** gen-value = token / host / quoted-string: a token or a host (IPv6 references included). */
const GEN_VALUE = charTable("-.!%*_+`'~:[]");
const HOSTNAME = charTable('-.');
const HEX = charTable('', false);
for (const c of '0123456789abcdefABCDEF') HEX[c.charCodeAt(0)] = 1;

function allIn(table: Uint8Array, s: string, allowEmpty = false): boolean {
  if (s.length === 0) return allowEmpty;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128 || table[c] !== 1) return false;
  }
  return true;
}

/** Every %-escape is "%" HEXDIG HEXDIG (RFC 3261 §25.1 escaped). */
function escapesValid(s: string): boolean {
  for (let i = s.indexOf('%'); i !== -1; i = s.indexOf('%', i + 1)) {
    const a = s.charCodeAt(i + 1);
    const b = s.charCodeAt(i + 2);
    if (!(a < 128 && HEX[a] === 1 && b < 128 && HEX[b] === 1)) return false;
  }
  return true;
}

export const isToken = (s: string): boolean => allIn(TOKEN, s);
export const isUser = (s: string): boolean => allIn(USER, s) && escapesValid(s);
export const isPassword = (s: string): boolean => allIn(PASSWORD, s, true) && escapesValid(s);
export const isParamText = (s: string): boolean => allIn(PARAM_CHAR, s) && escapesValid(s);
export const isHeaderText = (s: string, allowEmpty = false): boolean =>
  allIn(HEADER_CHAR, s, allowEmpty) && escapesValid(s);
export const isGenericValue = (s: string): boolean => allIn(GEN_VALUE, s);

export function isSpaceOrTab(code: number): boolean {
  return code === 0x20 || code === 0x09;
}

/** IPv4address = 1*3DIGIT "." 1*3DIGIT "." 1*3DIGIT "." 1*3DIGIT, each 0–255. */
export function isIPv4(s: string): boolean {
  const parts = s.split('.');
  if (parts.length !== 4) return false;
  for (const part of parts) {
    if (part.length === 0 || part.length > 3) return false;
    for (let i = 0; i < part.length; i++) {
      const c = part.charCodeAt(i);
      if (c < 0x30 || c > 0x39) return false;
    }
    if (Number(part) > 255) return false;
  }
  return true;
}

/** IPv6address (RFC 3261 §25.1, as RFC 4291 §2.2): hex groups, one "::" at most, an IPv4 tail allowed. */
export function isIPv6(s: string): boolean {
  if (s.length < 2 || s.length > 45) return false;
  const double = s.indexOf('::');
  if (double !== -1 && s.indexOf('::', double + 1) !== -1) return false;
  const groups = s.split(':');
  let count = 0;
  for (let i = 0; i < groups.length; i++) {
    const g = groups[i] as string;
    if (g.length === 0) continue;
    if (i === groups.length - 1 && g.includes('.')) {
      if (!isIPv4(g)) return false;
      count += 2;
      continue;
    }
    if (g.length > 4 || !allIn(HEX, g)) return false;
    count++;
  }
  if (double === -1) return count === 8 && !s.startsWith(':') && !s.endsWith(':');
  if ((s.startsWith(':') && !s.startsWith('::')) || (s.endsWith(':') && !s.endsWith('::'))) return false;
  return count <= 7;
}

/**
 * hostname = *( domainlabel "." ) toplabel [ "." ]; labels of alphanumerics
 * and inner hyphens; the top label starts with a letter, which is what tells
 * a hostname from a malformed IPv4 address.
 */
export function isHostname(s: string): boolean {
  if (s.length === 0 || s.length > 255 || !allIn(HOSTNAME, s)) return false;
  const labels = (s.endsWith('.') ? s.slice(0, -1) : s).split('.');
  for (const label of labels) {
    if (label.length === 0 || label.length > 63 || label.startsWith('-') || label.endsWith('-')) return false;
  }
  const top = (labels[labels.length - 1] as string).charCodeAt(0);
  return (top >= 0x41 && top <= 0x5a) || (top >= 0x61 && top <= 0x7a);
}

/** host = hostname / IPv4address / IPv6reference; IPv6 given here without its brackets. */
export function isHost(s: string): boolean {
  return s.includes(':') ? isIPv6(s) : isIPv4(s) || isHostname(s);
}

/** A port as written in a URI or Via: 1–5 digits, 0–65535. */
export function parsePort(s: string): number | undefined {
  if (s.length === 0 || s.length > 5) return undefined;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return undefined;
  }
  const port = Number(s);
  return port <= 65535 ? port : undefined;
}

/** Writes a host as it appears in a URI or Via: IPv6 in brackets (RFC 3261 §25.1 IPv6reference). */
export function formatHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/**
 * Splits `[host]:port` or `host:port` (port optional). The host comes back
 * without brackets; undefined when the text is not a host and port.
 */
export function splitHostPort(s: string): { host: string; port: number | undefined } | undefined {
  let host: string;
  let rest: string;
  if (s.startsWith('[')) {
    const close = s.indexOf(']');
    if (close === -1) return undefined;
    host = s.slice(1, close);
    if (!isIPv6(host)) return undefined;
    rest = s.slice(close + 1);
  } else {
    const colon = s.indexOf(':');
    host = colon === -1 ? s : s.slice(0, colon);
    if (!isIPv4(host) && !isHostname(host)) return undefined;
    rest = colon === -1 ? '' : s.slice(colon);
  }
  if (rest.length === 0) return { host, port: undefined };
  if (rest.charCodeAt(0) !== 0x3a) return undefined;
  const port = parsePort(rest.slice(1));
  return port === undefined ? undefined : { host, port };
}
