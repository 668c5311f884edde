import { endOfQuotedString } from './header-params.js';
import { isSpaceOrTab, isToken } from './sip-grammar.js';
import { SipSyntaxError } from './sip-syntax-error.js';

/**
 * One WWW-Authenticate or Proxy-Authenticate value (RFC 3261 §25.1
 * `challenge`, §22): the scheme and its auth-params, names lower-cased,
 * quoted values unquoted and unescaped (`qop="auth,auth-int"` → `auth,auth-int`).
 */
export interface AuthChallenge {
  readonly scheme: string;
  readonly params: ReadonlyMap<string, string>;
}

function fail(message: string): never {
  throw new SipSyntaxError('challenge', message);
}

function skipSpace(s: string, i: number): number {
  while (i < s.length && isSpaceOrTab(s.charCodeAt(i))) i++;
  return i;
}

/** Parses `scheme LWS auth-param *(COMMA auth-param)`; throws `SipSyntaxError`. */
export function parseAuthChallenge(value: string): AuthChallenge {
  const s = value.trim();
  let i = 0;
  while (i < s.length && !isSpaceOrTab(s.charCodeAt(i))) i++;
  const scheme = s.slice(0, i);
  if (!isToken(scheme)) fail('scheme is not a token');
  const params = new Map<string, string>();
  i = skipSpace(s, i);
  while (i < s.length) {
    const eq = s.indexOf('=', i);
    if (eq === -1) fail('auth-param without "="');
    const name = s.slice(i, eq).trim().toLowerCase();
    if (!isToken(name)) fail('auth-param name is not a token');
    i = skipSpace(s, eq + 1);
    let paramValue: string;
    if (s.charCodeAt(i) === 0x22) {
      const end = endOfQuotedString(s, i);
      if (end === -1) fail('unterminated quoted string');
      paramValue = s.slice(i + 1, end - 1).replace(/\\(.)/g, '$1');
      i = end;
    } else {
      const start = i;
      while (i < s.length && s.charCodeAt(i) !== 0x2c && !isSpaceOrTab(s.charCodeAt(i))) i++;
      // Liberal: a token by the grammar, but some servers leave a base64 nonce unquoted.
      paramValue = s.slice(start, i);
      if (paramValue === '') fail('auth-param without a value');
    }
    params.set(name, paramValue);
    i = skipSpace(s, i);
    if (i < s.length) {
      if (s.charCodeAt(i) !== 0x2c) fail('auth-params are not separated by ","');
      i = skipSpace(s, i + 1);
    }
  }
  return { scheme, params };
}
