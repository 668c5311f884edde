import { describe, expect, it } from 'vitest';
import { BRANCH_MAGIC_COOKIE, formatVia, parseVia, SipSyntaxError } from '../../../media-server/embedded/sip/message/index.js';

describe('parseVia', () => {
  it('reads SIPp\'s Via', () => {
    const via = parseVia('SIP/2.0/UDP 127.0.0.1:15270;branch=z9hG4bK-11692-1-0');
    expect(via).toEqual({
      transport: 'UDP',
      host: '127.0.0.1',
      port: 15270,
      params: new Map([['branch', 'z9hG4bK-11692-1-0']]),
    });
    expect(via.params.get('branch')?.startsWith(BRANCH_MAGIC_COOKIE)).toBe(true);
  });

  it('reads received and rport, with and without a value (RFC 3581)', () => {
    const asked = parseVia('SIP/2.0/UDP pc33.example.com;rport;branch=z9hG4bKx');
    expect(asked.params.get('rport')).toBeNull();
    expect(asked.port).toBeUndefined();
    const filled = parseVia('SIP/2.0/UDP pc33.example.com;rport=5066;received=192.0.2.1;branch=z9hG4bKx');
    expect(filled.params.get('rport')).toBe('5066');
    expect(filled.params.get('received')).toBe('192.0.2.1');
    expect(parseVia('SIP/2.0/TCP h.example.com;received=2001:db8::9').params.get('received')).toBe('2001:db8::9');
  });

  it('takes whitespace around slashes and colon, lower-case transports and IPv6 hosts', () => {
    const via = parseVia('SIP / 2.0 / tcp   [2001:db8::1] : 5061 ;branch=z9hG4bKy');
    expect(via).toMatchObject({ transport: 'TCP', host: '2001:db8::1', port: 5061 });
    expect(formatVia(via)).toBe('SIP/2.0/TCP [2001:db8::1]:5061;branch=z9hG4bKy');
  });

  it('keeps other parameters in order, names lower-cased', () => {
    const via = parseVia('SIP/2.0/UDP 192.0.2.1;Branch=z9hG4bKz;maddr=239.0.0.1;ttl=16;x-extra="quoted; value"');
    expect([...via.params.keys()]).toEqual(['branch', 'maddr', 'ttl', 'x-extra']);
    expect(via.params.get('x-extra')).toBe('"quoted; value"');
  });

  it('round-trips through formatVia', () => {
    const text = 'SIP/2.0/WSS example.com:443;rport=1234;received=198.51.100.7;branch=z9hG4bK123';
    expect(formatVia(parseVia(text))).toBe(text);
  });

  it.each([
    ['no sent-by', 'SIP/2.0/UDP'],
    ['no space before sent-by', 'SIP/2.0/UDP192.0.2.1'],
    ['version 3.0', 'SIP/3.0/UDP 192.0.2.1'],
    ['not SIP', 'HTTP/2.0/UDP 192.0.2.1'],
    ['two slashes only', 'SIP/2.0 192.0.2.1'],
    ['bad host', 'SIP/2.0/UDP bad_host'],
    ['port out of range', 'SIP/2.0/UDP 192.0.2.1:70000'],
    ['received not an IP', 'SIP/2.0/UDP 192.0.2.1;received=example.com'],
    ['rport not a port', 'SIP/2.0/UDP 192.0.2.1;rport=abc'],
    ['branch without value', 'SIP/2.0/UDP 192.0.2.1;branch'],
    ['branch not a token', 'SIP/2.0/UDP 192.0.2.1;branch="z9hG4bK"'],
    ['garbage after sent-by', 'SIP/2.0/UDP 192.0.2.1 extra'],
    ['unterminated IPv6', 'SIP/2.0/UDP [2001:db8::1'],
    ['hostname in brackets', 'SIP/2.0/UDP [example.com]:5060'],
  ])('refuses %s', (_, text) => {
    expect(() => parseVia(text)).toThrow(SipSyntaxError);
  });
});
