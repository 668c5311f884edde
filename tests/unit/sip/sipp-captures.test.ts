import { describe, expect, it } from 'vitest';
import {
  createSipResponse,
  parseCSeq,
  parseNameAddr,
  parseSipMessage,
  parseSipUri,
  parseVia,
  serializeSipMessage,
  SipStreamFramer,
  type SipMessage,
  type SipRequest,
  type SipResponse,
} from '../../../media-server/embedded/sip/message/index.js';
import { fixture } from './sip-test-messages.js';

function request(name: string): SipRequest {
  const message = parseSipMessage(fixture(name));
  if (message.kind !== 'request') throw new Error(`${name} is not a request`);
  return message;
}

function response(name: string): SipResponse {
  const message = parseSipMessage(fixture(name));
  if (message.kind !== 'response') throw new Error(`${name} is not a response`);
  return message;
}

/** SIPp pads Content-Length values (`Content-Length:   130`); we write them unpadded, the rest byte for byte. */
function unpadded(buf: Buffer): Buffer {
  return Buffer.from(buf.toString('latin1').replace(/^Content-Length: +/m, 'Content-Length: '), 'latin1');
}

function comparable(message: SipMessage): unknown {
  const { headers, body, ...line } = message;
  return { ...line, headers: headers.entries(), body: body.toString('hex') };
}

const ALL = [
  'uac-invite.sip',
  'uas-180-ringing.sip',
  'uas-200-ok-invite.sip',
  'uac-ack.sip',
  'uac-info-dtmf-relay.sip',
  'uas-200-ok-info.sip',
  'uac-bye.sip',
  'uas-200-ok-bye.sip',
];

describe('SIPp 3.6.1 captures', () => {
  it.each(ALL)('%s: serialises back to the captured bytes, Content-Length padding aside', (name) => {
    const bytes = fixture(name);
    const message = parseSipMessage(bytes);
    expect(serializeSipMessage(message)).toEqual(unpadded(bytes));
    expect(comparable(parseSipMessage(serializeSipMessage(message)))).toEqual(comparable(message));
  });

  it('reads the UAC INVITE: request line, every header, the SDP body', () => {
    const invite = request('uac-invite.sip');
    expect(invite.method).toBe('INVITE');
    expect(invite.uri).toBe('sip:service@127.0.0.1:15260');
    expect(invite.headers.entries().map(([name]) => name)).toEqual([
      'Via',
      'From',
      'To',
      'Call-ID',
      'CSeq',
      'Contact',
      'Max-Forwards',
      'Subject',
      'Content-Type',
      'Content-Length',
    ]);
    expect(invite.headers.get('Content-Length')).toBe('130');
    expect(invite.headers.get('content-type')).toBe('application/sdp');
    expect(invite.headers.get('i')).toBe('1-11692@127.0.0.1');
    expect(invite.headers.get('Subject')).toBe('Performance Test');
    expect(invite.headers.get('Max-Forwards')).toBe('70');
    expect(invite.body.length).toBe(130);
    expect(invite.body.toString('latin1')).toMatch(/^v=0\r\no=user1 53655765 2353687637 IN IP4 127\.0\.0\.1\r\n/);
    expect(invite.body.toString('latin1')).toMatch(/m=audio 16270 RTP\/AVP 0\r\na=rtpmap:0 PCMU\/8000\r\n$/);

    const via = parseVia(invite.headers.get('Via') as string);
    expect(via).toMatchObject({ transport: 'UDP', host: '127.0.0.1', port: 15270 });
    expect(via.params.get('branch')).toBe('z9hG4bK-11692-1-0');
    const from = parseNameAddr(invite.headers.get('From') as string);
    expect(from.displayName).toBe('sipp');
    expect(from.uri).toBe('sip:sipp@127.0.0.1:15270');
    expect(from.params.get('tag')).toBe('11692SIPpTag001');
    const to = parseNameAddr(invite.headers.get('To') as string);
    expect(to.displayName).toBe('service');
    expect(to.params.has('tag')).toBe(false);
    expect(parseCSeq(invite.headers.get('CSeq') as string)).toEqual({ seq: 1, method: 'INVITE' });
    // SIPp writes the Contact as a bare addr-spec.
    expect(parseNameAddr(invite.headers.get('Contact') as string)).toMatchObject({
      displayName: undefined,
      uri: 'sip:sipp@127.0.0.1:15270',
    });
    expect(parseSipUri(invite.uri)).toMatchObject({ scheme: 'sip', user: 'service', host: '127.0.0.1', port: 15260 });
  });

  it('reads the UAS 200 OK to the INVITE: To tag, Contact with transport parameter, SDP answer', () => {
    const ok = response('uas-200-ok-invite.sip');
    expect(ok.status).toBe(200);
    expect(ok.reason).toBe('OK');
    expect(parseNameAddr(ok.headers.get('To') as string).params.get('tag')).toBe('11690SIPpTag011');
    const contact = parseSipUri(parseNameAddr(ok.headers.get('Contact') as string).uri);
    expect(contact).toMatchObject({ user: undefined, host: '127.0.0.1', port: 15260 });
    expect(contact.params.get('transport')).toBe('UDP');
    expect(ok.body.toString('latin1')).toContain('m=audio 16260 RTP/AVP 0\r\n');
  });

  it('reads the ACK and BYE: same dialog as the INVITE, new transactions', () => {
    const invite = request('uac-invite.sip');
    const ack = request('uac-ack.sip');
    const bye = request('uac-bye.sip');
    expect(ack.body.length).toBe(0);
    expect(parseCSeq(ack.headers.get('CSeq') as string)).toEqual({ seq: 1, method: 'ACK' });
    expect(parseCSeq(bye.headers.get('CSeq') as string)).toEqual({ seq: 2, method: 'BYE' });
    for (const m of [ack, bye]) {
      expect(m.headers.get('Call-ID')).toBe(invite.headers.get('Call-ID'));
      expect(parseNameAddr(m.headers.get('To') as string).params.get('tag')).toBe('11690SIPpTag011');
    }
    // RFC 3261 §17.1.1.3: the ACK to a 2xx is its own transaction, with its own branch.
    const branch = (m: SipRequest): string | null | undefined => parseVia(m.headers.get('Via') as string).params.get('branch');
    expect(new Set([branch(invite), branch(ack), branch(bye)]).size).toBe(3);
  });

  it('reads the INFO application/dtmf-relay key press and its padded Content-Length', () => {
    expect(fixture('uac-info-dtmf-relay.sip').toString('latin1')).toContain('Content-Length:    24\r\n');
    const info = request('uac-info-dtmf-relay.sip');
    expect(info.method).toBe('INFO');
    expect(info.headers.get('Content-Type')).toBe('application/dtmf-relay');
    expect(info.headers.get('Content-Length')).toBe('24');
    expect(info.body.toString('latin1')).toBe('Signal=5\r\nDuration=160\r\n');
    expect(parseCSeq(info.headers.get('CSeq') as string)).toEqual({ seq: 2, method: 'INFO' });
  });

  it('builds from the INVITE the same Via, From, To, Call-ID and CSeq SIPp wrote in its 180', () => {
    const invite = request('uac-invite.sip');
    const ringing = response('uas-180-ringing.sip');
    const ours = createSipResponse(invite, 180, { toTag: '11690SIPpTag011' });
    expect(ours.reason).toBe('Ringing');
    for (const name of ['Via', 'From', 'To', 'Call-ID', 'CSeq']) {
      expect(ours.headers.getLines(name)).toEqual(ringing.headers.getLines(name));
    }
  });

  describe('over TCP (one connection, both directions)', () => {
    const uacStream = fixture('tcp-uac-to-uas.stream');
    const uasStream = fixture('tcp-uas-to-uac.stream');

    function frame(stream: Buffer, chunkSize: number): Buffer[] {
      const messages: Buffer[] = [];
      const framer = new SipStreamFramer({
        message: (m) => messages.push(Buffer.from(m)),
        ping: () => expect.unreachable('no keep-alives in this capture'),
        error: (reason) => expect.unreachable(reason),
      });
      for (let i = 0; i < stream.length; i += chunkSize) framer.push(stream.subarray(i, i + chunkSize));
      expect(framer.bufferedBytes).toBe(0);
      return messages;
    }

    it.each([1, 2, 3, 7, 64, 515, 516, 4096])('frames INVITE, ACK, BYE whatever the chunk size (%i)', (size) => {
      const messages = frame(uacStream, size);
      expect(messages.map((m) => m.length)).toEqual([515, 364, 364]);
      expect(Buffer.concat(messages)).toEqual(uacStream);
      const methods = messages.map((m) => (parseSipMessage(m, { transport: 'tcp' }) as SipRequest).method);
      expect(methods).toEqual(['INVITE', 'ACK', 'BYE']);
    });

    it('frames the answers 180, 200 with SDP, 200 and parses them as TCP', () => {
      const messages = frame(uasStream, 100);
      const parsed = messages.map((m) => parseSipMessage(m, { transport: 'tcp' }) as SipResponse);
      expect(parsed.map((m) => m.status)).toEqual([180, 200, 200]);
      expect(parsed[1]?.body.length).toBe(130);
      expect(parseVia(parsed[0]?.headers.get('Via') as string).transport).toBe('TCP');
    });
  });
});
