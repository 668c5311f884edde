import { endOfQuotedString, formatHeaderParams, parseHeaderParams, type SipParams } from './header-params.js';
import { isSpaceOrTab, isToken } from './sip-grammar.js';
import { SipSyntaxError } from './sip-syntax-error.js';
import { parseSipUri } from './sip-uri.js';

/**
 * The value of From, To, Contact, Route, Record-Route, Refer-To…: RFC 3261
 * §25.1 `( name-addr / addr-spec ) *( SEMI generic-param )`.
 */
export interface NameAddr {
  /** Unquoted and unescaped; undefined when absent. */
  displayName?: string | undefined;
  /** The URI as written. `parseSipUri` reads a sip/sips one; other schemes (tel:) are kept as text. */
  uri: string;
  /** Header parameters (`tag`, `expires`, `q`…), names lower-cased. The From/To tag is `params.get('tag')`. */
  params: SipParams;
}

function fail(message: string): never {
  throw new SipSyntaxError('name-addr', message);
}

function checkUri(uri: string): void {
  const colon = uri.indexOf(':');
  if (colon <= 0 || !isToken(uri.slice(0, colon)) || colon === uri.length - 1) fail('URI has no scheme');
  for (let i = 0; i < uri.length; i++) {
    const c = uri.charCodeAt(i);
    if (c <= 0x20 || c === 0x7f || c === 0x3c || c === 0x3e || c === 0x22) fail('URI holds a space, quote or bracket');
  }
  const scheme = uri.slice(0, colon).toLowerCase();
  if (scheme === 'sip' || scheme === 'sips') parseSipUri(uri);
}

function unquote(quoted: string): string {
  return quoted.slice(1, -1).replace(/\\(.)/gs, '$1');
}

/**
 * Parses one name-addr or addr-spec with its parameters. In the addr-spec
 * form (no angle brackets) the first ";" starts the header parameters, not
 * URI parameters (RFC 3261 §20: a URI with ";", "," or "?" must be enclosed
 * in brackets). A display name without quotes may be any text before "<":
 * UAs send unquoted UTF-8 names the grammar forbids, and refusing them would
 * refuse their calls.
 */
export function parseNameAddr(value: string): NameAddr {
  const s = value.trim();
  let displayName: string | undefined;
  let rest: number;
  let uri: string;
  if (s.charCodeAt(0) === 0x22) {
    const end = endOfQuotedString(s, 0);
    if (end === -1) fail('unterminated display name');
    displayName = unquote(s.slice(0, end));
    let i = end;
    while (i < s.length && isSpaceOrTab(s.charCodeAt(i))) i++;
    if (s.charCodeAt(i) !== 0x3c) fail('expected "<" after the display name');
    const close = s.indexOf('>', i);
    if (close === -1) fail('missing ">"');
    uri = s.slice(i + 1, close);
    rest = close + 1;
  } else {
    const open = s.indexOf('<');
    if (open !== -1) {
      const name = s.slice(0, open).trim();
      if (name.includes('"')) fail('stray quote in display name');
      if (name.length > 0) displayName = name.replace(/[ \t]+/g, ' ');
      const close = s.indexOf('>', open);
      if (close === -1) fail('missing ">"');
      uri = s.slice(open + 1, close);
      rest = close + 1;
    } else {
      const semicolon = s.indexOf(';');
      rest = semicolon === -1 ? s.length : semicolon;
      uri = s.slice(0, rest).trimEnd();
    }
  }
  checkUri(uri);
  return { displayName, uri, params: parseHeaderParams(s, rest) };
}

/** Writes the name-addr form: quoted display name, URI in brackets, parameters. */
export function formatNameAddr(nameAddr: NameAddr): string {
  const name =
    nameAddr.displayName === undefined ? '' : `"${nameAddr.displayName.replace(/(["\\])/g, '\\$1')}" `;
  return `${name}<${nameAddr.uri}>${formatHeaderParams(nameAddr.params)}`;
}
