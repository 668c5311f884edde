import { isSpaceOrTab, isToken } from './sip-grammar.js';
import { SipSyntaxError } from './sip-syntax-error.js';

/** The largest CSeq number a receiver accepts: RFC 3261 §8.1.1.5, a 32-bit unsigned integer. */
export const MAX_CSEQ = 0xffffffff;

/** CSeq = 1*DIGIT LWS Method (RFC 3261 §20.16). */
export interface CSeq {
  seq: number;
  method: string;
}

function fail(message: string): never {
  throw new SipSyntaxError('cseq', message);
}

export function parseCSeq(value: string): CSeq {
  const s = value.trim();
  let i = 0;
  let significant = -1;
  while (i < s.length && s.charCodeAt(i) >= 0x30 && s.charCodeAt(i) <= 0x39) {
    if (significant === -1 && s.charCodeAt(i) !== 0x30) significant = i;
    i++;
  }
  if (i === 0) fail('no sequence number');
  // Ten digits hold any 32-bit value; longer numbers are refused before Number() rounds them.
  if (significant !== -1 && i - significant > 10) fail('sequence number above 2**32 - 1');
  const seq = Number(s.slice(0, i));
  if (seq > MAX_CSEQ) fail('sequence number above 2**32 - 1');
  let j = i;
  while (j < s.length && isSpaceOrTab(s.charCodeAt(j))) j++;
  if (j === i) fail('no space between number and method');
  const method = s.slice(j);
  if (!isToken(method)) fail('method is not a token');
  return { seq, method };
}

export function formatCSeq(cseq: CSeq): string {
  return `${cseq.seq} ${cseq.method}`;
}
