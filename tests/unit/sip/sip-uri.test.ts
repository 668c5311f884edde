import { describe, expect, it } from 'vitest';
import { formatSipUri, parseSipUri, SipSyntaxError } from '../../../media-server/embedded/sip/message/index.js';

describe('parseSipUri', () => {
  it('reads user, host and port', () => {
    expect(parseSipUri('sip:service@127.0.0.1:15260')).toEqual({
      scheme: 'sip',
      user: 'service',
      password: undefined,
      host: '127.0.0.1',
      port: 15260,
      params: new Map(),
      headers: new Map(),
    });
  });

  it('reads a URI without user or port, the scheme in any case', () => {
    expect(parseSipUri('SIPS:example.com')).toMatchObject({ scheme: 'sips', user: undefined, host: 'example.com', port: undefined });
  });

  it('reads an IPv6 host in brackets, stored without them', () => {
    const uri = parseSipUri('sip:alice@[2001:db8::10]:5070;transport=tcp');
    expect(uri).toMatchObject({ host: '2001:db8::10', port: 5070 });
    expect(formatSipUri(uri)).toBe('sip:alice@[2001:db8::10]:5070;transport=tcp');
    expect(parseSipUri('sip:[::ffff:192.0.2.1]').host).toBe('::ffff:192.0.2.1');
  });

  it('reads parameters (names lower-cased, flags null) and headers in order', () => {
    const uri = parseSipUri('sip:p1.example.com;LR;Transport=UDP;maddr=239.255.255.1?Subject=hi%20there&Priority=urgent');
    expect([...uri.params]).toEqual([
      ['lr', null],
      ['transport', 'UDP'],
      ['maddr', '239.255.255.1'],
    ]);
    expect([...uri.headers]).toEqual([
      ['Subject', 'hi%20there'],
      ['Priority', 'urgent'],
    ]);
  });

  it('keeps escapes and user-part punctuation as written (telephone-subscriber with ;)', () => {
    const uri = parseSipUri('sip:+44%2020;phone-context=example.com@gw.example.com;user=phone');
    expect(uri.user).toBe('+44%2020;phone-context=example.com');
    expect(uri.params.get('user')).toBe('phone');
  });

  it('parses a password rather than refusing the URI (RFC 3261 §19.1.1 discourages it)', () => {
    expect(parseSipUri('sip:alice:secret@example.com')).toMatchObject({ user: 'alice', password: 'secret' });
  });

  it.each([
    'sip:alice:secret@example.com',
    'sips:bob@example.com:5061;transport=tls;lr?Replaces=abc%40def',
    'sip:[2001:db8::1]',
    'sip:1.2.3.4:5060;rport',
  ])('round-trips %s', (text) => {
    expect(formatSipUri(parseSipUri(text))).toBe(text);
  });

  it.each([
    ['tel scheme', 'tel:+441234'],
    ['no scheme', 'alice@example.com'],
    ['empty user', 'sip:@example.com'],
    ['empty host', 'sip:alice@'],
    ['space in host', 'sip:alice@exa mple.com'],
    ['bad escape', 'sip:al%zzice@example.com'],
    ['port too large', 'sip:example.com:65536'],
    ['port not numeric', 'sip:example.com:50a'],
    ['unterminated IPv6', 'sip:[2001:db8::1'],
    ['IPv6 without brackets', 'sip:2001:db8::1'],
    ['bad IPv4', 'sip:256.1.1.1'],
    ['label ending in hyphen', 'sip:bad-.example.com'],
    ['header without value', 'sip:example.com?Subject'],
    ['bad parameter char', 'sip:example.com;a"b=1'],
  ])('refuses %s', (_, text) => {
    expect(() => parseSipUri(text)).toThrow(SipSyntaxError);
  });
});
