import { describe, expect, it } from 'vitest';
import { formatCSeq, MAX_CSEQ, parseCSeq, SipSyntaxError } from '../../../media-server/embedded/sip/message/index.js';

describe('parseCSeq', () => {
  it('reads number and method, whitespace of any width between', () => {
    expect(parseCSeq('1 INVITE')).toEqual({ seq: 1, method: 'INVITE' });
    expect(parseCSeq('  2 \t BYE ')).toEqual({ seq: 2, method: 'BYE' });
  });

  it('accepts 0, leading zeros and 2**32 - 1 (RFC 3261 §8.1.1.5)', () => {
    expect(parseCSeq('0 ACK').seq).toBe(0);
    expect(parseCSeq('000000000007 INFO').seq).toBe(7);
    expect(parseCSeq(`${MAX_CSEQ} OPTIONS`).seq).toBe(4294967295);
  });

  it('keeps the method case (methods are case-sensitive)', () => {
    expect(parseCSeq('5 invite').method).toBe('invite');
  });

  it.each(['', 'INVITE', '1', '1INVITE', '-1 INVITE', '4294967296 INVITE', '99999999999 INVITE', '1 IN VITE', '1 INV@ITE', '1.5 INVITE'])(
    'refuses %j',
    (text) => {
      expect(() => parseCSeq(text)).toThrow(SipSyntaxError);
    },
  );

  it('round-trips through formatCSeq', () => {
    expect(formatCSeq(parseCSeq('314159   INVITE'))).toBe('314159 INVITE');
  });
});
