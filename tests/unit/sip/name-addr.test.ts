import { describe, expect, it } from 'vitest';
import { formatNameAddr, parseNameAddr, SipSyntaxError } from '../../../media-server/embedded/sip/message/index.js';

describe('parseNameAddr', () => {
  it('reads a token display name, URI and tag (SIPp From)', () => {
    const from = parseNameAddr('sipp <sip:sipp@127.0.0.1:15270>;tag=11692SIPpTag001');
    expect(from).toEqual({
      displayName: 'sipp',
      uri: 'sip:sipp@127.0.0.1:15270',
      params: new Map([['tag', '11692SIPpTag001']]),
    });
  });

  it('reads a quoted display name with escapes and commas', () => {
    const to = parseNameAddr('"Smith, \\"JJ\\" \\\\ John" <sip:john@example.com>');
    expect(to.displayName).toBe('Smith, "JJ" \\ John');
    expect(to.params.size).toBe(0);
  });

  it('reads a multi-word unquoted display name, collapsing whitespace', () => {
    expect(parseNameAddr('Alice   Liddell\t<sip:alice@example.org>').displayName).toBe('Alice Liddell');
  });

  it('accepts an unquoted UTF-8 display name the grammar forbids but UAs send', () => {
    expect(parseNameAddr('Zoë <sip:zoe@example.org>').displayName).toBe('Zoë');
  });

  it('reads a bare addr-spec: the ";" after it starts header parameters, not URI parameters', () => {
    const to = parseNameAddr('sip:bob@example.com;tag=abc;expires=60');
    expect(to).toMatchObject({ displayName: undefined, uri: 'sip:bob@example.com' });
    expect([...to.params]).toEqual([
      ['tag', 'abc'],
      ['expires', '60'],
    ]);
  });

  it('keeps URI parameters inside the brackets apart from header parameters', () => {
    const contact = parseNameAddr('<sip:127.0.0.1:15260;transport=UDP>;expires=3600;+sip.instance="<urn:uuid:f81d>"');
    expect(contact.uri).toBe('sip:127.0.0.1:15260;transport=UDP');
    expect(contact.params.get('expires')).toBe('3600');
    expect(contact.params.get('+sip.instance')).toBe('"<urn:uuid:f81d>"');
  });

  it('takes whitespace around ";" and "=" (RFC 3261 SEMI, EQUAL) and flag parameters', () => {
    expect([...parseNameAddr('<sip:a@b.example> ; tag = x ;lr').params]).toEqual([
      ['tag', 'x'],
      ['lr', null],
    ]);
  });

  it('keeps a non-SIP URI as text', () => {
    expect(parseNameAddr('<tel:+442079460000>;tag=1').uri).toBe('tel:+442079460000');
  });

  it.each([
    ['missing >', 'Alice <sip:alice@example.org'],
    ['unterminated quote', '"Alice <sip:alice@example.org>'],
    ['text between quote and <', '"Alice" x <sip:alice@example.org>'],
    ['no scheme', '<alice@example.org>'],
    ['invalid SIP URI', '<sip:alice@>'],
    ['wildcard Contact', '*'],
    ['garbage after >', '<sip:alice@example.org> junk'],
    ['bad parameter name', '<sip:alice@example.org>;t@g=1'],
    ['space in addr-spec', 'sip:alice @example.org'],
    ['empty', ''],
  ])('refuses %s', (_, text) => {
    expect(() => parseNameAddr(text)).toThrow(SipSyntaxError);
  });
});

describe('formatNameAddr', () => {
  it('quotes and escapes the display name and brackets the URI', () => {
    const text = formatNameAddr({
      displayName: 'Smith, "JJ"',
      uri: 'sip:john@example.com;transport=tcp',
      params: new Map([['tag', 'abc']]),
    });
    expect(text).toBe('"Smith, \\"JJ\\"" <sip:john@example.com;transport=tcp>;tag=abc');
    expect(parseNameAddr(text)).toEqual({
      displayName: 'Smith, "JJ"',
      uri: 'sip:john@example.com;transport=tcp',
      params: new Map([['tag', 'abc']]),
    });
  });

  it('writes an addr-spec with parameters in brackets', () => {
    const parsed = parseNameAddr('sip:bob@example.com;tag=1');
    expect(formatNameAddr(parsed)).toBe('<sip:bob@example.com>;tag=1');
  });
});
