import { describe, expect, it } from 'vitest';
import {
  canonicalHeaderName,
  COMPACT_HEADER_FORMS,
  isListHeader,
  SipHeaders,
  splitHeaderValues,
} from '../../../media-server/embedded/sip/message/index.js';

describe('canonicalHeaderName', () => {
  it('expands the 15 compact forms in either case', () => {
    expect(Object.keys(COMPACT_HEADER_FORMS).sort()).toEqual('bcefiklmorstuvx'.split(''));
    expect(canonicalHeaderName('i')).toBe('Call-ID');
    expect(canonicalHeaderName('V')).toBe('Via');
    expect(canonicalHeaderName('u')).toBe('Allow-Events');
  });

  it('spells known headers the RFC way and leaves extension headers alone', () => {
    expect(canonicalHeaderName('CALL-ID')).toBe('Call-ID');
    expect(canonicalHeaderName('cseq')).toBe('CSeq');
    expect(canonicalHeaderName('www-authenticate')).toBe('WWW-Authenticate');
    expect(canonicalHeaderName('X-Payment-Session')).toBe('X-Payment-Session');
    expect(canonicalHeaderName('a')).toBe('a');
  });

  it('knows which headers are comma lists', () => {
    expect(isListHeader('v')).toBe(true);
    expect(isListHeader('record-route')).toBe(true);
    expect(isListHeader('Authorization')).toBe(false);
    expect(isListHeader('Date')).toBe(false);
  });
});

describe('splitHeaderValues', () => {
  it('splits on commas outside quotes (with escaped quotes) and angle brackets', () => {
    expect(splitHeaderValues('"a \\", b" <sip:x@y>, <sip:p,q@r>;x="1,2" , sip:z@w')).toEqual([
      '"a \\", b" <sip:x@y>',
      '<sip:p,q@r>;x="1,2"',
      'sip:z@w',
    ]);
  });

  it('drops empty elements', () => {
    expect(splitHeaderValues(' INVITE, ,ACK,')).toEqual(['INVITE', 'ACK']);
    expect(splitHeaderValues('')).toEqual([]);
  });
});

describe('SipHeaders', () => {
  const make = (): SipHeaders =>
    new SipHeaders([
      ['v', 'SIP/2.0/UDP a.example;branch=z9hG4bK1, SIP/2.0/UDP b.example;branch=z9hG4bK2'],
      ['Via', 'SIP/2.0/UDP c.example;branch=z9hG4bK3'],
      ['call-id', 'abc@x'],
      ['Subject', '  spaced  '],
    ]);

  it('stores canonical names in order, trimmed values', () => {
    expect(make().entries()).toEqual([
      ['Via', 'SIP/2.0/UDP a.example;branch=z9hG4bK1, SIP/2.0/UDP b.example;branch=z9hG4bK2'],
      ['Via', 'SIP/2.0/UDP c.example;branch=z9hG4bK3'],
      ['Call-ID', 'abc@x'],
      ['Subject', 'spaced'],
    ]);
    expect([...make()].map((f) => f.name)).toEqual(['Via', 'Via', 'Call-ID', 'Subject']);
    expect(make().size).toBe(4);
  });

  it('gets the first element and all elements of a list header, lines as they came', () => {
    const h = make();
    expect(h.get('VIA')).toBe('SIP/2.0/UDP a.example;branch=z9hG4bK1');
    expect(h.getAll('v')).toHaveLength(3);
    expect(h.getLines('Via')).toHaveLength(2);
    expect(h.get('i')).toBe('abc@x');
    expect(h.get('Contact')).toBeUndefined();
    expect(h.getAll('Contact')).toEqual([]);
    expect(h.has('CALL-ID')).toBe(true);
  });

  it('prepends before the first line of a name, appends otherwise', () => {
    const h = make();
    h.prepend('Via', 'SIP/2.0/TCP top.example;branch=z9hG4bK0');
    h.prepend('Route', '<sip:p.example;lr>');
    expect(h.getAll('Via')[0]).toBe('SIP/2.0/TCP top.example;branch=z9hG4bK0');
    expect(h.entries().map(([n]) => n)).toEqual(['Via', 'Via', 'Via', 'Call-ID', 'Subject', 'Route']);
  });

  it('set replaces every line in place of the first; delete removes all', () => {
    const h = make();
    h.set('via', 'SIP/2.0/UDP only.example;branch=z9hG4bKo');
    expect(h.entries().map(([n]) => n)).toEqual(['Via', 'Call-ID', 'Subject']);
    expect(h.getAll('Via')).toEqual(['SIP/2.0/UDP only.example;branch=z9hG4bKo']);
    h.set('Max-Forwards', '70');
    expect(h.entries().at(-1)).toEqual(['Max-Forwards', '70']);
    expect(h.delete('subject')).toBe(1);
    expect(h.delete('Subject')).toBe(0);
  });

  it('replaceFirst rewrites the top Via inside a combined line (RFC 3261 §18.2.1 received)', () => {
    const h = make();
    expect(h.replaceFirst('Via', 'SIP/2.0/UDP a.example;branch=z9hG4bK1;received=192.0.2.1')).toBe(true);
    expect(h.getAll('Via')).toEqual([
      'SIP/2.0/UDP a.example;branch=z9hG4bK1;received=192.0.2.1',
      'SIP/2.0/UDP b.example;branch=z9hG4bK2',
      'SIP/2.0/UDP c.example;branch=z9hG4bK3',
    ]);
    expect(h.replaceFirst('Subject', 'new')).toBe(true);
    expect(h.get('Subject')).toBe('new');
    expect(h.replaceFirst('Contact', 'x')).toBe(false);
  });

  it('removeFirst takes the top element off, dropping the line when empty', () => {
    const h = make();
    expect(h.removeFirst('Via')).toBe('SIP/2.0/UDP a.example;branch=z9hG4bK1');
    expect(h.removeFirst('Via')).toBe('SIP/2.0/UDP b.example;branch=z9hG4bK2');
    expect(h.getLines('Via')).toEqual(['SIP/2.0/UDP c.example;branch=z9hG4bK3']);
    expect(h.removeFirst('Call-ID')).toBe('abc@x');
    expect(h.has('Call-ID')).toBe(false);
    expect(h.removeFirst('Route')).toBeUndefined();
  });

  it('clone is independent', () => {
    const h = make();
    const copy = h.clone();
    copy.set('Subject', 'changed');
    copy.replaceFirst('Via', 'SIP/2.0/UDP z.example;branch=z9hG4bKz');
    expect(h.get('Subject')).toBe('spaced');
    expect(h.get('Via')).toBe('SIP/2.0/UDP a.example;branch=z9hG4bK1');
  });
});
