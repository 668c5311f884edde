import { isGenericValue, isSpaceOrTab, isToken } from './sip-grammar.js';
import { SipSyntaxError } from './sip-syntax-error.js';

/**
 * Parameters in the order written. Names are lower-cased (RFC 3261 §7.3.1:
 * parameter names are case-insensitive); a flag parameter (`;lr`, `;rport`)
 * has the value `null`; a quoted-string value keeps its quotes.
 */
export type SipParams = Map<string, string | null>;

const SEMICOLON = 0x3b;
const EQUALS = 0x3d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

function skipSpace(s: string, i: number): number {
  while (i < s.length && isSpaceOrTab(s.charCodeAt(i))) i++;
  return i;
}

/** Index just past the closing quote of the quoted-string opening at `start` (RFC 3261 §25.1 quoted-pair). */
export function endOfQuotedString(s: string, start: number): number {
  for (let i = start + 1; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === BACKSLASH) i++;
    else if (c === QUOTE) return i + 1;
  }
  return -1;
}

function readToken(s: string, i: number): number {
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (c === SEMICOLON || c === EQUALS || isSpaceOrTab(c)) break;
    i++;
  }
  return i;
}

/**
 * Reads `*( SEMI generic-param )` from `start` to the end of `s`
 * (RFC 3261 §25.1: generic-param = token [ EQUAL gen-value ], with SWS
 * allowed around ";" and "="). Anything else is a syntax error.
 */
export function parseHeaderParams(s: string, start = 0): SipParams {
  const params: SipParams = new Map();
  let i = skipSpace(s, start);
  while (i < s.length) {
    if (s.charCodeAt(i) !== SEMICOLON) throw new SipSyntaxError('params', 'expected ";"');
    i = skipSpace(s, i + 1);
    const nameEnd = readToken(s, i);
    const name = s.slice(i, nameEnd);
    if (!isToken(name)) throw new SipSyntaxError('params', 'parameter name is not a token');
    i = skipSpace(s, nameEnd);
    let value: string | null = null;
    if (i < s.length && s.charCodeAt(i) === EQUALS) {
      i = skipSpace(s, i + 1);
      if (s.charCodeAt(i) === QUOTE) {
        const end = endOfQuotedString(s, i);
        if (end === -1) throw new SipSyntaxError('params', 'unterminated quoted string');
        value = s.slice(i, end);
        i = end;
      } else {
        const end = readToken(s, i);
        value = s.slice(i, end);
        if (!isGenericValue(value)) throw new SipSyntaxError('params', 'parameter value is not a token, host or quoted string');
        i = end;
      }
      i = skipSpace(s, i);
    }
    params.set(name.toLowerCase(), value);
  }
  return params;
}

/** Writes parameters as `;name` or `;name=value`, in map order. */
export function formatHeaderParams(params: SipParams): string {
  let out = '';
  for (const [name, value] of params) out += value === null ? `;${name}` : `;${name}=${value}`;
  return out;
}
