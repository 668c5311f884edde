import { describe, expect, it } from 'vitest';
import {
  parseSipMessage,
  serializeSipMessage,
  SipHeaders,
  SipSerializeError,
  type SipRequest,
  type SipResponse,
} from '../../../media-server/embedded/sip/message/index.js';
import { INVITE_HEADERS } from './sip-test-messages.js';

function headers(extra: Array<[string, string]> = []): SipHeaders {
  const h = new SipHeaders(INVITE_HEADERS.map((line) => line.split(/:\s*(.*)/s, 2) as [string, string]));
  for (const [name, value] of extra) h.append(name, value);
  return h;
}

function request(body: Buffer, extra: Array<[string, string]> = []): SipRequest {
  return { kind: 'request', method: 'INVITE', uri: 'sip:bob@example.com', headers: headers(extra), body };
}

describe('serializeSipMessage', () => {
  it('writes start line, headers in order, CRLFs and the body', () => {
    const text = serializeSipMessage(request(Buffer.from('v=0\r\n'))).toString('utf8');
    expect(text).toBe(`INVITE sip:bob@example.com SIP/2.0\r\n${INVITE_HEADERS.join('\r\n')}\r\nContent-Length: 5\r\n\r\nv=0\r\n`);
  });

  it('corrects a stale Content-Length where it stands and drops repeats', () => {
    const msg = request(Buffer.from('abc'), [
      ['l', '999'],
      ['Subject', 'after'],
      ['Content-Length', '7'],
    ]);
    const text = serializeSipMessage(msg).toString();
    expect(text.match(/Content-Length: \d+/g)).toEqual(['Content-Length: 3']);
    expect(text.indexOf('Content-Length')).toBeLessThan(text.indexOf('Subject: after'));
  });

  it('counts body bytes, not characters, and writes UTF-8 headers', () => {
    const body = Buffer.from('Zoë — ☎', 'utf8');
    const msg = request(body, [['Subject', 'Café']]);
    const out = serializeSipMessage(msg);
    expect(out.toString('utf8')).toContain(`Content-Length: ${body.length}\r\n`);
    expect(out.subarray(out.length - body.length)).toEqual(body);
    const parsed = parseSipMessage(out) as SipRequest;
    expect(parsed.headers.get('Subject')).toBe('Café');
    expect(parsed.body).toEqual(body);
  });

  it('writes a response with an empty reason phrase and a binary body', () => {
    const body = Buffer.from([0, 1, 2, 0xff]);
    const res: SipResponse = { kind: 'response', status: 200, reason: '', headers: headers(), body };
    const out = serializeSipMessage(res);
    expect(out.subarray(0, 14).toString()).toBe('SIP/2.0 200 \r\n');
    expect((parseSipMessage(out) as SipResponse).body).toEqual(body);
  });

  it.each([
    ['CRLF in a value (header injection)', request(Buffer.alloc(0), [['Subject', 'x\r\nVia: evil']])],
    ['LF in a value', request(Buffer.alloc(0), [['Subject', 'x\ny']])],
    ['NUL in a value', request(Buffer.alloc(0), [['Subject', 'x\0y']])],
    ['header name not a token', request(Buffer.alloc(0), [['Bad Name', 'x']])],
    ['method not a token', { ...request(Buffer.alloc(0)), method: 'IN VITE' }],
    ['empty Request-URI', { ...request(Buffer.alloc(0)), uri: '' }],
    ['space in Request-URI', { ...request(Buffer.alloc(0)), uri: 'sip:a b' }],
  ])('refuses a request with %s', (_, msg) => {
    expect(() => serializeSipMessage(msg)).toThrow(SipSerializeError);
  });

  it.each([99, 700, 200.5])('refuses status %d', (status) => {
    expect(() => serializeSipMessage({ kind: 'response', status, reason: 'x', headers: headers(), body: Buffer.alloc(0) })).toThrow(
      SipSerializeError,
    );
  });

  it('refuses a reason phrase with a line break', () => {
    const res: SipResponse = { kind: 'response', status: 200, reason: 'OK\r\nX: y', headers: headers(), body: Buffer.alloc(0) };
    expect(() => serializeSipMessage(res)).toThrow(SipSerializeError);
  });
});
