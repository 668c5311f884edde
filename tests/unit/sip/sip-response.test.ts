import { describe, expect, it } from 'vitest';
import {
  createParseErrorResponse,
  createSipResponse,
  parseNameAddr,
  parseSipMessage,
  reasonPhrase,
  REASON_PHRASES,
  serializeSipMessage,
  SipParseError,
  type SipRequest,
  type SipResponse,
} from '../../../media-server/embedded/sip/message/index.js';
import { invite, INVITE_HEADERS, replaceHeader, wire } from './sip-test-messages.js';

const twoViaLines = [
  'Via: SIP/2.0/UDP proxy.example.com;branch=z9hG4bKp1, SIP/2.0/UDP edge.example.com;branch=z9hG4bKe1',
  ...INVITE_HEADERS,
  'Timestamp: 54.21',
  'Subject: not copied',
];

function parsedInvite(headers: string[] = twoViaLines): SipRequest {
  return parseSipMessage(invite(headers, 'v=0\r\n')) as SipRequest;
}

function parseFailure(buf: Buffer): SipParseError {
  try {
    parseSipMessage(buf);
  } catch (err) {
    if (err instanceof SipParseError) return err;
    throw err;
  }
  return expect.unreachable('parsed');
}

describe('createSipResponse (RFC 3261 §8.2.6.2)', () => {
  it('copies Via lines in order, From, To, Call-ID and CSeq, nothing else', () => {
    const req = parsedInvite();
    const res = createSipResponse(req, 180, { toTag: 'as83kd9bs' });
    expect(res).toMatchObject({ kind: 'response', status: 180, reason: 'Ringing' });
    expect(res.headers.getLines('Via')).toEqual(req.headers.getLines('Via'));
    expect(res.headers.getAll('Via')).toHaveLength(3);
    for (const name of ['From', 'Call-ID', 'CSeq']) expect(res.headers.get(name)).toBe(req.headers.get(name));
    expect(res.headers.has('Subject')).toBe(false);
    expect(res.headers.has('Timestamp')).toBe(false);
    expect(res.headers.has('Max-Forwards')).toBe(false);
    expect(res.body.length).toBe(0);
  });

  it('adds the tag to a To without one, keeping the rest of the text', () => {
    const res = createSipResponse(parsedInvite(), 200, { toTag: 'as83kd9bs' });
    expect(res.headers.get('To')).toBe('Bob <sip:bob@example.com>;tag=as83kd9bs');
    expect(parseNameAddr(res.headers.get('To') as string).params.get('tag')).toBe('as83kd9bs');
  });

  it('copies a To that already has a tag unchanged (in-dialog request)', () => {
    const req = parsedInvite(replaceHeader('To', 'To: Bob <sip:bob@example.com>;TAG=existing'));
    expect(createSipResponse(req, 200, { toTag: 'other' }).headers.get('To')).toBe('Bob <sip:bob@example.com>;TAG=existing');
  });

  it('leaves To without a tag when none is given', () => {
    expect(createSipResponse(parsedInvite(), 100).headers.get('To')).toBe('Bob <sip:bob@example.com>');
  });

  it('copies Timestamp into a 100 Trying (RFC 3261 §8.2.6.1)', () => {
    expect(createSipResponse(parsedInvite(), 100).headers.get('Timestamp')).toBe('54.21');
  });

  it('takes a reason, extra headers and a body, and serialises with the right Content-Length', () => {
    const res = createSipResponse(parsedInvite(), 200, {
      reason: 'Fine',
      toTag: 't1',
      headers: [
        ['Contact', '<sip:ivr@192.0.2.99:5060>'],
        ['Content-Type', 'application/sdp'],
      ],
      body: Buffer.from('v=0\r\n'),
    });
    const reparsed = parseSipMessage(serializeSipMessage(res)) as SipResponse;
    expect(reparsed).toMatchObject({ status: 200, reason: 'Fine' });
    expect(reparsed.headers.get('Content-Length')).toBe('5');
    expect(reparsed.headers.get('Contact')).toBe('<sip:ivr@192.0.2.99:5060>');
  });
});

describe('reasonPhrase', () => {
  it('knows the common codes', () => {
    expect(reasonPhrase(100)).toBe('Trying');
    expect(reasonPhrase(183)).toBe('Session Progress');
    expect(reasonPhrase(481)).toBe('Call/Transaction Does Not Exist');
    expect(reasonPhrase(487)).toBe('Request Terminated');
    expect(reasonPhrase(488)).toBe('Not Acceptable Here');
    expect(Object.keys(REASON_PHRASES).length).toBeGreaterThan(50);
  });

  it('falls back to the class name', () => {
    expect(reasonPhrase(299)).toBe('Success');
    expect(reasonPhrase(499)).toBe('Client Error');
    expect(reasonPhrase(699)).toBe('Global Failure');
  });
});

describe('createParseErrorResponse', () => {
  it('answers a bad request with 400, the reason in the phrase', () => {
    const err = parseFailure(invite(replaceHeader('Max-Forwards', 'Max-Forwards: 300')));
    const res = createParseErrorResponse(err, { toTag: 'x1' });
    expect(res?.status).toBe(400);
    expect(res?.reason).toBe('Bad Request (invalid-header-value: Max-Forwards)');
    expect(res?.headers.get('To')).toBe('Bob <sip:bob@example.com>;tag=x1');
    expect(res?.headers.get('CSeq')).toBe('314159 INVITE');
    expect(() => parseSipMessage(serializeSipMessage(res as SipResponse))).not.toThrow();
  });

  it('answers a request with an unparseable To, tagging it as text', () => {
    const err = parseFailure(invite(replaceHeader('To', 'To: Bob <sip:bob@example.com')));
    expect(err.reason).toBe('invalid-header-value');
    const res = createParseErrorResponse(err, { toTag: 'x2' });
    expect(res?.headers.get('To')).toBe('Bob <sip:bob@example.com;tag=x2');
  });

  it('answers another version with 505 Version Not Supported', () => {
    const err = parseFailure(wire('INVITE sip:bob@example.com SIP/3.0', [...INVITE_HEADERS, 'Content-Length: 0']));
    expect(createParseErrorResponse(err)).toMatchObject({ status: 505, reason: 'Version Not Supported' });
  });

  it('gives nothing for what must be dropped: no Call-ID, a response, an ACK', () => {
    expect(createParseErrorResponse(parseFailure(invite(replaceHeader('Call-ID', undefined))))).toBeUndefined();
    expect(createParseErrorResponse(parseFailure(wire('SIP/2.0 999 Nope', INVITE_HEADERS)))).toBeUndefined();
    const ack = wire('ACK sip:bob@example.com SIP/2.0', [...replaceHeader('CSeq', 'CSeq: 314159 ACK'), 'Content-Length: 5']);
    expect(createParseErrorResponse(parseFailure(ack))).toBeUndefined();
    expect(createParseErrorResponse(parseFailure(Buffer.from('garbage')))).toBeUndefined();
  });
});
