import { describe, expect, it } from 'vitest';
import {
  DEFAULT_MAX_MESSAGE_SIZE,
  parseSipMessage,
  serializeSipMessage,
  SipParseError,
  type SipMessage,
  type SipParseErrorReason,
  type SipParseOptions,
  type SipRequest,
  type SipResponse,
} from '../../../media-server/embedded/sip/message/index.js';
import { fixture, invite, INVITE_HEADERS, replaceHeader, wire } from './sip-test-messages.js';

function parseError(buf: Buffer, options?: SipParseOptions): SipParseError {
  try {
    parseSipMessage(buf, options);
  } catch (err) {
    expect(err).toBeInstanceOf(SipParseError);
    return err as SipParseError;
  }
  return expect.unreachable('parsed without error');
}

function expectReason(buf: Buffer, reason: SipParseErrorReason, options?: SipParseOptions): SipParseError {
  const err = parseError(buf, options);
  expect(err.reason).toBe(reason);
  return err;
}

function parseRequest(buf: Buffer, options?: SipParseOptions): SipRequest {
  const message = parseSipMessage(buf, options);
  expect(message.kind).toBe('request');
  return message as SipRequest;
}

function comparable(message: SipMessage): unknown {
  const { headers, body, ...line } = message;
  return { ...line, headers: headers.entries(), body: body.toString('hex') };
}

const RESPONSE_HEADERS = [
  'Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds',
  'To: Bob <sip:bob@example.com>;tag=a6c85cf',
  'From: Alice <sip:alice@example.org>;tag=1928301774',
  'Call-ID: a84b4c76e66710@pc33.example.org',
  'CSeq: 314159 INVITE',
  'Content-Length: 0',
];

describe('parseSipMessage: requests and responses', () => {
  it('reads a request line, headers in order and an empty body', () => {
    const req = parseRequest(invite());
    expect(req.method).toBe('INVITE');
    expect(req.uri).toBe('sip:bob@example.com');
    expect(req.headers.size).toBe(INVITE_HEADERS.length + 1);
    expect(req.headers.get('CSeq')).toBe('314159 INVITE');
    expect(req.body.length).toBe(0);
  });

  it('reads a status line, a reason phrase with spaces and UTF-8, and an empty reason', () => {
    const res = parseSipMessage(wire('SIP/2.0 486 Busy Here — très occupé', RESPONSE_HEADERS)) as SipResponse;
    expect(res).toMatchObject({ kind: 'response', status: 486, reason: 'Busy Here — très occupé' });
    expect((parseSipMessage(wire('SIP/2.0 200 ', RESPONSE_HEADERS)) as SipResponse).reason).toBe('');
    expect((parseSipMessage(wire('SIP/2.0 200', RESPONSE_HEADERS)) as SipResponse).reason).toBe('');
  });

  it('accepts the version in any case (RFC 3261 §7.1) and methods it does not know', () => {
    const buf = wire('PUBLISH sip:bob@example.com sip/2.0', [...replaceHeader('CSeq', 'CSeq: 1 PUBLISH'), 'Content-Length: 0']);
    expect(parseRequest(buf).method).toBe('PUBLISH');
  });

  it('accepts a non-SIP Request-URI scheme as an absolute URI', () => {
    const buf = wire('INVITE tel:+442079460000 SIP/2.0', [...INVITE_HEADERS, 'Content-Length: 0']);
    expect(parseRequest(buf).uri).toBe('tel:+442079460000');
  });

  it('skips CRLFs before the start line (RFC 3261 §7.5)', () => {
    expect(parseRequest(Buffer.concat([Buffer.from('\r\n\r\n'), invite()])).method).toBe('INVITE');
  });

  it('tolerates a missing Max-Forwards', () => {
    expect(parseRequest(invite(replaceHeader('Max-Forwards', undefined))).headers.has('Max-Forwards')).toBe(false);
  });

  it('keeps a body that is not UTF-8 and holds NUL bytes', () => {
    const body = Buffer.from([0x00, 0xff, 0xfe, 0x0d, 0x0a, 0x0d, 0x0a, 0x41]);
    const head = wire('MESSAGE sip:bob@example.com SIP/2.0', [
      ...replaceHeader('CSeq', 'CSeq: 2 MESSAGE'),
      'Content-Type: application/octet-stream',
      `Content-Length: ${body.length}`,
    ]);
    expect(parseRequest(Buffer.concat([head, body])).body).toEqual(body);
  });
});

describe('parseSipMessage: header forms', () => {
  it('expands every compact form to its full name', () => {
    const headers = [
      'v: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKcompact',
      't: <sip:bob@example.com>',
      'f: <sip:alice@example.org>;tag=1',
      'i: compact@example.org',
      'CSeq: 1 INVITE',
      'm: <sip:alice@192.0.2.10>',
      'c: text/plain',
      'e: gzip',
      's: hello',
      'k: timer',
      'o: dialog',
      'r: <sip:carol@example.com>',
      'b: <sip:alice@example.org>',
      'x: 1800',
      'u: talk',
      'l: 2',
    ];
    const req = parseRequest(wire('INVITE sip:bob@example.com SIP/2.0', headers, 'hi'));
    expect(req.headers.entries().map(([name]) => name)).toEqual([
      'Via',
      'To',
      'From',
      'Call-ID',
      'CSeq',
      'Contact',
      'Content-Type',
      'Content-Encoding',
      'Subject',
      'Supported',
      'Event',
      'Refer-To',
      'Referred-By',
      'Session-Expires',
      'Allow-Events',
      'Content-Length',
    ]);
    expect(req.body.toString()).toBe('hi');
    expect(req.headers.get('Call-ID')).toBe('compact@example.org');
  });

  it('stores known headers under their RFC spelling and looks them up in any case', () => {
    const headers = INVITE_HEADERS.map((h) => h.replace(/^Call-ID/, 'call-id').replace(/^CSeq/, 'CSEQ'));
    const req = parseRequest(invite([...headers, 'X-Session-Code: 123456', 'max-forwards: 69'].filter((h) => !h.startsWith('Max-Forwards'))));
    const names = req.headers.entries().map(([name]) => name);
    expect(names).toContain('Call-ID');
    expect(names).toContain('CSeq');
    expect(names).toContain('Max-Forwards');
    expect(names).toContain('X-Session-Code');
    expect(req.headers.get('x-session-code')).toBe('123456');
    expect(req.headers.get('I')).toBe('a84b4c76e66710@pc33.example.org');
  });

  it('trims padded values (SIPp writes `Content-Length:    24`) and allows space before the colon', () => {
    const req = parseRequest(invite([...INVITE_HEADERS, 'Subject   :   padded  ', 'Content-Length:    4'], 'abcd'));
    expect(req.headers.get('Subject')).toBe('padded');
    expect(req.headers.get('Content-Length')).toBe('4');
  });

  it('unfolds continuation lines into one value (RFC 3261 §7.3.1)', () => {
    const headers = [
      'Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKfold,',
      ' SIP/2.0/UDP 192.0.2.20:5060;branch=z9hG4bKfold2',
      ...INVITE_HEADERS.slice(1),
      'Subject: I know you are there,',
      '         pick up the phone',
      '\tand talk to me!',
    ];
    const req = parseRequest(invite(headers));
    expect(req.headers.get('Subject')).toBe('I know you are there, pick up the phone and talk to me!');
    expect(req.headers.getAll('Via')).toEqual([
      'SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKfold',
      'SIP/2.0/UDP 192.0.2.20:5060;branch=z9hG4bKfold2',
    ]);
  });

  it('splits list headers on commas outside quotes and brackets, across lines', () => {
    const req = parseRequest(
      invite([
        ...replaceHeader('Contact', 'Contact: "Smith, John" <sip:john@example.com>, <sip:x,y@example.com;lr>'),
        'Via: SIP/2.0/TCP 192.0.2.30;branch=z9hG4bKa, SIP/2.0/TLS [2001:db8::1]:5061;branch=z9hG4bKb',
        'Allow: INVITE, ACK,CANCEL ,BYE',
        'Route: <sip:p1.example.com;lr>,<sip:p2.example.com;lr>',
        'Record-Route: <sip:p3.example.com;lr>',
        'Date: Sat, 13 Nov 2010 23:29:00 GMT',
      ]),
    );
    expect(req.headers.getAll('Contact')).toEqual(['"Smith, John" <sip:john@example.com>', '<sip:x,y@example.com;lr>']);
    expect(req.headers.getAll('Via')).toHaveLength(3);
    expect(req.headers.get('Via')).toBe('SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds');
    expect(req.headers.getAll('Allow')).toEqual(['INVITE', 'ACK', 'CANCEL', 'BYE']);
    expect(req.headers.getAll('Route')).toEqual(['<sip:p1.example.com;lr>', '<sip:p2.example.com;lr>']);
    expect(req.headers.getAll('Record-Route')).toEqual(['<sip:p3.example.com;lr>']);
    expect(req.headers.getAll('Date')).toEqual(['Sat, 13 Nov 2010 23:29:00 GMT']);
  });
});

describe('parseSipMessage: Content-Length and the body', () => {
  const info = (contentLength: string | undefined, body: string): Buffer =>
    wire(
      'INFO sip:bob@example.com SIP/2.0',
      [
        ...replaceHeader('CSeq', 'CSeq: 2 INFO'),
        'Content-Type: application/dtmf-relay',
        ...(contentLength === undefined ? [] : [`Content-Length: ${contentLength}`]),
      ],
      body,
    );

  it('over UDP takes the rest of the datagram when Content-Length is missing', () => {
    expect(parseRequest(info(undefined, 'Signal=5\r\nDuration=160\r\n')).body.toString()).toBe('Signal=5\r\nDuration=160\r\n');
  });

  it('discards bytes past Content-Length (RFC 3261 §18.3)', () => {
    expect(parseRequest(info('8', 'Signal=5\r\nDuration=160\r\n')).body.toString()).toBe('Signal=5');
  });

  it('refuses a body shorter than Content-Length, answerably, without echoing the body', () => {
    const err = expectReason(info('25', 'Signal=5\r\nDuration=160\r\n'), 'body-shorter-than-content-length');
    expect(err.answerable).toBe(true);
    expect(err.header).toBe('Content-Length');
    expect(err.message).not.toContain('Signal');
  });

  it('requires Content-Length over TCP and TLS', () => {
    for (const transport of ['tcp', 'tls'] as const) {
      expect(expectReason(info(undefined, ''), 'missing-content-length', { transport }).answerable).toBe(true);
    }
    expect(parseRequest(info('0', ''), { transport: 'tcp' }).body.length).toBe(0);
  });

  it.each(['abc', '-1', '1.5', '12345678901', ''])('refuses Content-Length %j', (value) => {
    expectReason(info(value, ''), 'invalid-content-length');
  });
});

describe('parseSipMessage: limits', () => {
  it('refuses a message over the size limit before reading it (default 64 KiB)', () => {
    const big = invite(INVITE_HEADERS, 'x'.repeat(DEFAULT_MAX_MESSAGE_SIZE));
    const err = expectReason(big, 'message-too-large');
    expect(err.headers).toBeUndefined();
    expect(err.answerable).toBe(false);
    const small = invite();
    expectReason(small, 'message-too-large', { maxMessageSize: small.length - 1 });
    expect(parseRequest(small, { maxMessageSize: small.length }).method).toBe('INVITE');
  });

  it('refuses more header lines than the limit, folded lines counting once', () => {
    const headers = [...INVITE_HEADERS, 'Subject: a', ' b', 'Content-Length: 0'];
    expect(parseRequest(invite(headers), { maxHeaderCount: 9 }).headers.size).toBe(9);
    const err = expectReason(invite(headers), 'too-many-headers', { maxHeaderCount: 8 });
    expect(err.headers?.size).toBe(8);
  });
});

describe('parseSipMessage: errors', () => {
  it('refuses an empty or CRLF-only buffer', () => {
    expectReason(Buffer.alloc(0), 'empty-message');
    expectReason(Buffer.from('\r\n\r\n'), 'empty-message');
  });

  it('refuses a message without the empty line that ends the headers', () => {
    expectReason(Buffer.from('OPTIONS sip:bob@example.com SIP/2.0\r\nVia: x\r\n'), 'missing-header-end');
  });

  it('refuses NUL and invalid UTF-8 in the header section', () => {
    expectReason(invite([...INVITE_HEADERS, 'Subject: a\0b']), 'nul-byte');
    const head = wire('INVITE sip:bob@example.com SIP/2.0', INVITE_HEADERS).subarray(0, -4);
    const bad = Buffer.concat([head, Buffer.from('\r\nSubject: \xc3\x28\r\n\r\n', 'latin1')]);
    expectReason(bad, 'invalid-utf8');
  });

  it.each([
    ['two parts', 'INVITE sip:bob@example.com'],
    ['double space', 'INVITE  sip:bob@example.com SIP/2.0'],
    ['trailing space', 'INVITE sip:bob@example.com SIP/2.0 '],
    ['garbage version', 'INVITE sip:bob@example.com HTTP/1.1'],
    ['tab separator', 'INVITE\tsip:bob@example.com SIP/2.0'],
  ])('refuses a malformed request line (%s)', (_, line) => {
    expectReason(wire(line, [...INVITE_HEADERS, 'Content-Length: 0']), 'invalid-start-line');
  });

  it('answers another SIP version with 505 (RFC 3261 §21.5.7)', () => {
    const err = expectReason(wire('INVITE sip:bob@example.com SIP/7.0', [...INVITE_HEADERS, 'Content-Length: 0']), 'unsupported-version');
    expect(err.responseStatus).toBe(505);
    expect(err.answerable).toBe(true);
    expect(err.method).toBe('INVITE');
  });

  it('refuses a method that is not a token', () => {
    const err = expectReason(wire('INV@ITE sip:bob@example.com SIP/2.0', [...INVITE_HEADERS, 'Content-Length: 0']), 'invalid-method');
    expect(err.isRequest).toBe(true);
    expect(err.responseStatus).toBe(400);
  });

  it.each(['sip:bob@', 'sip:bob@exa mple.com', 'bob@example.com', 'sip:[::1', 'sip:bob@example.com:99999', ':x'])(
    'refuses the Request-URI %j',
    (uri) => {
      const line = `INVITE ${uri} SIP/2.0`;
      const reason = uri.includes(' ') ? 'invalid-start-line' : 'invalid-request-uri';
      expectReason(wire(line, [...INVITE_HEADERS, 'Content-Length: 0']), reason);
    },
  );

  it.each(['SIP/2.0 99 Too Low', 'SIP/2.0 700 Too High', 'SIP/2.0 2000 OK', 'SIP/2.0 20 OK', 'SIP/2.0 abc OK', 'SIP/2.0  200 OK'])(
    'refuses the status line %j, unanswerably',
    (line) => {
      const err = expectReason(wire(line, RESPONSE_HEADERS), 'invalid-status-code');
      expect(err.isRequest).toBe(false);
      expect(err.answerable).toBe(false);
    },
  );

  it('refuses a response of another version as unsupported, never answerable', () => {
    const err = expectReason(wire('SIP/3.0 200 OK', RESPONSE_HEADERS), 'unsupported-version');
    expect(err.answerable).toBe(false);
  });

  it.each([
    ['no colon', 'Subject hello'],
    ['name not a token', 'Sub ject: hello'],
    ['empty name', ': hello'],
    ['control character', 'Subject: a\x07b'],
    ['bare LF', 'Subject: a\nb'],
    ['bare CR', 'Subject: a\rb'],
  ])('refuses a bad header line (%s) but keeps the others for the 400', (_, line) => {
    const err = expectReason(invite([...INVITE_HEADERS.slice(0, 2), line, ...INVITE_HEADERS.slice(2)]), 'invalid-header-line');
    expect(err.answerable).toBe(true);
    expect(err.headers?.get('CSeq')).toBe('314159 INVITE');
    expect(err.headers?.has('Subject')).toBe(false);
  });

  it('refuses a continuation line before any header', () => {
    expectReason(invite([' folded', ...INVITE_HEADERS]), 'invalid-header-line');
  });

  it.each(['Via', 'From', 'To', 'Call-ID', 'CSeq'])('refuses a request without %s', (name) => {
    const err = expectReason(invite(replaceHeader(name, undefined)), 'missing-header');
    expect(err.header).toBe(name);
    expect(err.answerable).toBe(false);
  });

  it('refuses a response without a mandatory header', () => {
    expectReason(wire('SIP/2.0 200 OK', RESPONSE_HEADERS.filter((h) => !h.startsWith('Call-ID'))), 'missing-header');
  });

  it.each([
    ['From', 'From: <sip:carol@example.org>;tag=2'],
    ['To', 'To: <sip:carol@example.org>'],
    ['Call-ID', 'i: other@example.org'],
    ['CSeq', 'CSeq: 314159 INVITE'],
    ['Max-Forwards', 'Max-Forwards: 70'],
    ['Content-Length', 'l: 0'],
  ])('refuses a second %s', (name, extra) => {
    const err = expectReason(invite([...INVITE_HEADERS, 'Content-Length: 0', extra]), 'duplicate-header');
    expect(err.header).toBe(name);
    expect(err.answerable).toBe(true);
  });

  it.each([
    ['CSeq: INVITE'],
    ['CSeq: 1INVITE'],
    ['CSeq: -1 INVITE'],
    ['CSeq: 4294967296 INVITE'],
    ['CSeq: 36893488147419103232 INVITE'],
    ['CSeq: 1 IN VITE'],
  ])('refuses %s', (line) => {
    expect(expectReason(invite(replaceHeader('CSeq', line)), 'invalid-cseq').header).toBe('CSeq');
  });

  it('accepts the largest CSeq number, 2**32 - 1', () => {
    expect(parseRequest(invite(replaceHeader('CSeq', 'CSeq: 4294967295 INVITE'))).headers.get('CSeq')).toBe('4294967295 INVITE');
  });

  it('refuses a CSeq method that differs from the request method, case included (RFC 3261 §8.1.1.5)', () => {
    expectReason(invite(replaceHeader('CSeq', 'CSeq: 1 OPTIONS')), 'cseq-method-mismatch');
    expectReason(invite(replaceHeader('CSeq', 'CSeq: 1 invite')), 'cseq-method-mismatch');
  });

  it.each([
    ['Via', 'Via: SIP/2.0/UDP'],
    ['Via', 'Via: SIP/3.0/UDP 192.0.2.10'],
    ['Via', 'Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bK1, garbage'],
    ['Via', 'Via: SIP/2.0/UDP 192.0.2.10;received=not-an-ip'],
    ['Via', 'Via: '],
    ['From', 'From: Alice <sip:alice@example.org;tag=1'],
    ['From', 'From: alice@example.org'],
    ['To', 'To: "Bob <sip:bob@example.com>'],
    ['Call-ID', 'Call-ID: two words'],
    ['Max-Forwards', 'Max-Forwards: 256'],
    ['Max-Forwards', 'Max-Forwards: seventy'],
  ])('refuses a malformed %s value', (name, line) => {
    const err = expectReason(invite(replaceHeader(name, line)), 'invalid-header-value');
    expect(err.header).toBe(name);
  });

  it('never answers a malformed ACK (RFC 3261 §17.2.1)', () => {
    const headers = replaceHeader('CSeq', 'CSeq: 314159 ACK');
    const ack = (extra: string[]): Buffer => wire('ACK sip:bob@example.com SIP/2.0', [...headers, ...extra]);
    const err = expectReason(ack(['Content-Length: 10']), 'body-shorter-than-content-length');
    expect(err.isRequest).toBe(true);
    expect(err.answerable).toBe(false);
    expect(parseError(wire('ACK sip:bob@example.com SIP/9.9', headers)).answerable).toBe(false);
  });

  it('does not say answerable when the request line is unrecognisable', () => {
    const err = expectReason(wire('hello', [...INVITE_HEADERS, 'Content-Length: 0']), 'invalid-start-line');
    expect(err.isRequest).toBeUndefined();
    expect(err.answerable).toBe(false);
    expect(err.headers?.get('Call-ID')).toBe('a84b4c76e66710@pc33.example.org');
  });
});

describe('parseSipMessage → serializeSipMessage → parseSipMessage', () => {
  const cases: Array<[string, Buffer]> = [
    [
      'compact and padded',
      wire('OPTIONS sip:bob@example.com SIP/2.0', [
        'v:  SIP/2.0/UDP 192.0.2.10;branch=z9hG4bKrt',
        'f: <sip:a@example.org>;tag=x',
        't: <sip:bob@example.com>',
        'i: rt@x',
        'CSeq: 7 OPTIONS',
        'l:   0',
      ]),
    ],
    ['folded and multi-value', invite([...INVITE_HEADERS, 'Subject: one', '  two', 'Allow: INVITE, ACK', 'Allow: BYE'])],
    [
      'UTF-8 display name and body',
      invite([...replaceHeader('From', 'From: "Zoë Ångström" <sip:zoe@example.org>;tag=9'), 'Content-Type: text/plain'], 'héllo'),
    ],
    ['SIPp INFO', fixture('uac-info-dtmf-relay.sip')],
    ['response', wire('SIP/2.0 183 Session Progress', [...RESPONSE_HEADERS.slice(0, -1), 'Content-Length: 3'], 'abc')],
  ];

  it.each(cases)('%s', (_, buf) => {
    const first = parseSipMessage(buf);
    const second = parseSipMessage(serializeSipMessage(first));
    expect(comparable(second)).toEqual(comparable(first));
    expect(serializeSipMessage(second)).toEqual(serializeSipMessage(first));
  });
});
