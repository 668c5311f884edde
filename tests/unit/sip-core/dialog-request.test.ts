import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  buildDialogRequest,
  checkExtraHeaders,
  dialogRouting,
  uacDialogState,
  uasDialogState,
  type DialogState,
} from '../../../media-server/embedded/sip/dialog/index.js';
import { parseSipMessage, parseVia, serializeSipMessage, type SipRequest, type SipResponse } from '../../../media-server/embedded/sip/message/index.js';
import { SipUnsupportedError } from '../../../media-server/embedded/sip/transaction/index.js';
import { request, responseTo } from './sip-builders.js';

const FIXTURES = join(import.meta.dirname, '../../fixtures/sip');
const fixture = <T>(name: string): T => parseSipMessage(readFileSync(join(FIXTURES, name))) as T;
const ORIGIN = { viaHost: '127.0.0.1', viaPort: 5080, contact: '<sip:127.0.0.1:5080>', userAgent: 'payment-ivr' };

describe('dialog state (RFC 3261 §12.1)', () => {
  it('UAS, from SIPp\'s INVITE: remote target = Contact, remote seq = CSeq, local seq empty, tags from From/our To', () => {
    const invite = fixture<SipRequest>('uac-invite.sip');
    const state = uasDialogState(invite, 'ourtag', 1);
    expect(state).toMatchObject({
      callId: '1-11692@127.0.0.1',
      localTag: 'ourtag',
      remoteTag: '11692SIPpTag001',
      localParty: 'service <sip:service@127.0.0.1:15260>;tag=ourtag',
      remoteParty: 'sipp <sip:sipp@127.0.0.1:15270>;tag=11692SIPpTag001',
      localSeq: undefined,
      remoteSeq: 1,
      remoteTarget: 'sip:sipp@127.0.0.1:15270',
      routeSet: [],
    });
  });

  it('UAC, from SIPp\'s 200: remote target = its Contact, remote tag = its To tag, local seq = the INVITE\'s', () => {
    const invite = fixture<SipRequest>('uac-invite.sip');
    const ok = fixture<SipResponse>('uas-200-ok-invite.sip');
    const state = uacDialogState(invite, ok, 1);
    expect(state).toMatchObject({
      localTag: '11692SIPpTag001',
      remoteTag: '11690SIPpTag011',
      localSeq: 1,
      remoteSeq: undefined,
      remoteTarget: 'sip:127.0.0.1:15260;transport=UDP',
    });
  });

  it('route set: the request\'s Record-Route in order for a UAS, the response\'s reversed for a UAC', () => {
    const rr = ['Record-Route: <sip:p1.example;lr>, <sip:p2.example;lr>', 'Record-Route: <sip:p3.example;lr>'];
    const invite = request({ extra: rr });
    expect(uasDialogState(invite, 't', 1).routeSet).toEqual(['<sip:p1.example;lr>', '<sip:p2.example;lr>', '<sip:p3.example;lr>']);
    const ok = responseTo(invite, 200, { toTag: 'u', extra: [...rr, 'Contact: <sip:uas@10.0.0.2>'] });
    expect(uacDialogState(invite, ok, 1).routeSet).toEqual(['<sip:p3.example;lr>', '<sip:p2.example;lr>', '<sip:p1.example;lr>']);
  });

  it('an INVITE without Contact cannot make a UAS dialog', () => {
    const invite = request();
    invite.headers.delete('Contact');
    expect(() => uasDialogState(invite, 't', 1)).toThrow(RangeError);
  });
});

describe('requests within a dialog (RFC 3261 §12.2.1.1)', () => {
  const state = (routeSet: string[] = []): DialogState => ({
    callId: 'abc@127.0.0.1',
    localTag: 'l',
    remoteTag: 'r',
    localParty: '<sip:pay@127.0.0.1:5080>;tag=l',
    remoteParty: '"Caller" <sip:sipp@127.0.0.1:5070>;tag=r',
    localSeq: 4,
    remoteSeq: 1,
    remoteTarget: 'sip:sipp@127.0.0.1:5070',
    routeSet,
    secure: false,
  });

  it('builds a BYE: Request-URI = remote target, To/From with tags, CSeq given, new Via branch with rport, Max-Forwards 70, Contact', () => {
    const bye = buildDialogRequest(state(), ORIGIN, 'BYE', { cseq: 5, branch: 'z9hG4bKnew', protocol: 'udp' });
    expect(bye.uri).toBe('sip:sipp@127.0.0.1:5070');
    expect(bye.headers.entries()).toEqual([
      ['Via', 'SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bKnew;rport'],
      ['Max-Forwards', '70'],
      ['From', '<sip:pay@127.0.0.1:5080>;tag=l'],
      ['To', '"Caller" <sip:sipp@127.0.0.1:5070>;tag=r'],
      ['Call-ID', 'abc@127.0.0.1'],
      ['CSeq', '5 BYE'],
      ['Contact', '<sip:127.0.0.1:5080>'],
      ['User-Agent', 'payment-ivr'],
    ]);
    expect(parseVia(bye.headers.get('Via') as string).params.get('branch')).toBe('z9hG4bKnew');
  });

  it('adds headers and a body with its Content-Type; the result parses back', () => {
    const info = buildDialogRequest(state(), ORIGIN, 'INFO', {
      cseq: 6,
      branch: 'z9hG4bK6',
      protocol: 'tcp',
      headers: { 'X-Test': 'yes' },
      body: Buffer.from('Signal=5\r\nDuration=160\r\n'),
      contentType: 'application/dtmf-relay',
    });
    expect(info.headers.get('Via')).toMatch(/^SIP\/2.0\/TCP /);
    expect(info.headers.get('X-Test')).toBe('yes');
    expect(info.headers.get('Content-Type')).toBe('application/dtmf-relay');
    const back = parseSipMessage(serializeSipMessage(info), { transport: 'tcp' }) as SipRequest;
    expect(back.body.toString()).toBe('Signal=5\r\nDuration=160\r\n');
  });

  it('loose routing: Route = the route set, Request-URI = remote target', () => {
    const routes = ['<sip:p1.example;lr>', '<sip:p2.example;lr>'];
    const req = buildDialogRequest(state(routes), ORIGIN, 'INFO', { cseq: 5, branch: 'z9hG4bK1', protocol: 'udp' });
    expect(req.uri).toBe('sip:sipp@127.0.0.1:5070');
    expect(req.headers.getAll('Route')).toEqual(routes);
  });

  it('strict routing: Request-URI = first route, remote target appended to Route', () => {
    const routing = dialogRouting({ remoteTarget: 'sip:ua@10.0.0.5', routeSet: ['<sip:strict.example>', '<sip:p2.example;lr>'] });
    expect(routing).toEqual({ uri: 'sip:strict.example', routes: ['<sip:p2.example;lr>', '<sip:ua@10.0.0.5>'] });
  });

  it('refuses extra headers the stack writes, and a body without a type', () => {
    expect(() => checkExtraHeaders({ 'call-id': 'x' })).toThrow(SipUnsupportedError);
    expect(() => checkExtraHeaders({ v: 'x' })).toThrow(SipUnsupportedError);
    expect(() => buildDialogRequest(state(), ORIGIN, 'INFO', { cseq: 1, branch: 'z9hG4bK1', protocol: 'udp', body: Buffer.from('x') })).toThrow(
      SipUnsupportedError,
    );
  });
});
