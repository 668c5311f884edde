import { describe, expect, it } from 'vitest';
import {
  parseSipMessage,
  SipFramingError,
  SipStreamFramer,
  type SipFramingErrorReason,
  type SipRequest,
  type SipStreamFramerOptions,
} from '../../../media-server/embedded/sip/message/index.js';
import { invite, INVITE_HEADERS, wire } from './sip-test-messages.js';

type Event =
  | { type: 'message'; text: string; data: Buffer }
  | { type: 'ping' }
  | { type: 'pong' }
  | { type: 'error'; reason: SipFramingErrorReason; error: SipFramingError };

function harness(options?: SipStreamFramerOptions): { framer: SipStreamFramer; events: Event[]; kinds: () => string[] } {
  const events: Event[] = [];
  const framer = new SipStreamFramer(
    {
      message: (data) => events.push({ type: 'message', text: data.toString('utf8'), data }),
      ping: () => events.push({ type: 'ping' }),
      pong: () => events.push({ type: 'pong' }),
      error: (reason, error) => events.push({ type: 'error', reason, error }),
    },
    options,
  );
  return { framer, events, kinds: () => events.map((e) => e.type) };
}

const A = invite(INVITE_HEADERS, 'v=0\r\n');
const B = wire('BYE sip:bob@example.com SIP/2.0', [...INVITE_HEADERS.slice(0, -2), 'CSeq: 314160 BYE', 'l: 0']);
const CRLF = Buffer.from('\r\n');
const PING = Buffer.from('\r\n\r\n');

function messages(events: Event[]): string[] {
  return events.flatMap((e) => (e.type === 'message' ? [e.text] : []));
}

describe('SipStreamFramer', () => {
  it('hands out each message of a chunk, body included (Content-Length, RFC 3261 §18.3)', () => {
    const { framer, events } = harness();
    framer.push(Buffer.concat([A, B, A]));
    expect(messages(events)).toEqual([A.toString(), B.toString(), A.toString()]);
    expect((parseSipMessage((events[0] as { data: Buffer }).data, { transport: 'tcp' }) as SipRequest).body.toString()).toBe('v=0\r\n');
    expect(framer.bufferedBytes).toBe(0);
  });

  it('reassembles messages cut at every possible point', () => {
    const stream = Buffer.concat([A, B]);
    for (let cut = 1; cut < stream.length; cut++) {
      const { framer, events } = harness();
      framer.push(stream.subarray(0, cut));
      framer.push(stream.subarray(cut));
      expect(messages(events)).toEqual([A.toString(), B.toString()]);
    }
  });

  it('reassembles a stream fed one byte at a time, holding only the pending bytes', () => {
    const { framer, events } = harness();
    const stream = Buffer.concat([A, B]);
    for (let i = 0; i < stream.length; i++) {
      framer.push(stream.subarray(i, i + 1));
      if (i === A.length - 2) expect(framer.bufferedBytes).toBe(A.length - 1);
    }
    expect(messages(events)).toEqual([A.toString(), B.toString()]);
    expect(framer.bufferedBytes).toBe(0);
  });

  it('keeps handed-out messages intact while it goes on buffering', () => {
    const { framer, events } = harness();
    framer.push(A.subarray(0, 10));
    framer.push(Buffer.concat([A.subarray(10), B.subarray(0, 20)]));
    const first = (events[0] as { data: Buffer }).data;
    for (let i = 20; i < B.length; i++) framer.push(B.subarray(i, i + 1));
    expect(first.toString()).toBe(A.toString());
    expect(messages(events)).toEqual([A.toString(), B.toString()]);
  });

  it('reports a double-CRLF ping (RFC 5626 §3.5.1) between messages', () => {
    const { framer, events, kinds } = harness();
    framer.push(Buffer.concat([PING, A, PING, PING, B]));
    expect(kinds()).toEqual(['ping', 'message', 'ping', 'ping', 'message']);
    expect(messages(events)).toEqual([A.toString(), B.toString()]);
  });

  it('reports a lone CRLF as a pong (RFC 5626 §4.4.1)', () => {
    const { framer, kinds } = harness();
    framer.push(CRLF);
    expect(kinds()).toEqual(['pong']);
    framer.push(A);
    framer.push(CRLF);
    expect(kinds()).toEqual(['pong', 'message', 'pong']);
  });

  it('treats a CRLF right before a message as a stray line, not a ping (RFC 3261 §7.5)', () => {
    const { framer, events, kinds } = harness();
    framer.push(Buffer.concat([CRLF, A]));
    expect(kinds()).toEqual(['pong', 'message']);
    expect(messages(events)).toEqual([A.toString()]);
  });

  it('recognises a ping split across chunks, however it is cut', () => {
    const halves = harness();
    halves.framer.push(CRLF);
    halves.framer.push(CRLF);
    expect(halves.kinds()).toEqual(['pong', 'ping']);

    const bytes = harness();
    for (const b of PING) bytes.framer.push(Buffer.from([b]));
    expect(bytes.kinds()).toEqual(['pong', 'ping']);

    const threeOne = harness();
    threeOne.framer.push(PING.subarray(0, 3));
    expect(threeOne.kinds()).toEqual([]);
    threeOne.framer.push(PING.subarray(3));
    expect(threeOne.kinds()).toEqual(['ping']);
  });

  it('reports an error once and ignores the rest when Content-Length is missing', () => {
    const { framer, events, kinds } = harness();
    const noLength = wire('OPTIONS sip:bob@example.com SIP/2.0', INVITE_HEADERS);
    framer.push(Buffer.concat([A, noLength, B]));
    expect(kinds()).toEqual(['message', 'error']);
    const error = events[1] as Extract<Event, { type: 'error' }>;
    expect(error.reason).toBe('missing-content-length');
    expect(error.error).toBeInstanceOf(SipFramingError);
    expect(framer.failed).toBe(true);
    framer.push(B);
    expect(kinds()).toEqual(['message', 'error']);
    expect(framer.bufferedBytes).toBe(0);
  });

  it.each([
    ['not a number', ['Content-Length: abc']],
    ['negative', ['Content-Length: -5']],
    ['conflicting', ['Content-Length: 5', 'l: 6']],
    ['empty', ['Content-Length:']],
  ])('refuses a Content-Length that is %s', (_, lines) => {
    const { framer, events } = harness();
    framer.push(wire('OPTIONS sip:bob@example.com SIP/2.0', [...INVITE_HEADERS, ...lines], 'hello'));
    expect(events).toMatchObject([{ type: 'error', reason: 'invalid-content-length' }]);
  });

  it('frames by a compact or folded Content-Length, and lets equal repeats through to the parser', () => {
    const folded = wire('OPTIONS sip:bob@example.com SIP/2.0', [...INVITE_HEADERS, 'Content-Length:', '   5'], 'hello');
    const repeated = wire('OPTIONS sip:bob@example.com SIP/2.0', [...INVITE_HEADERS, 'l: 5', 'content-length : 5'], 'hello');
    const { framer, events } = harness();
    framer.push(Buffer.concat([folded, repeated]));
    expect(messages(events)).toEqual([folded.toString(), repeated.toString()]);
  });

  it('refuses headers that never end within the limit', () => {
    const { framer, events } = harness({ maxMessageSize: 1000 });
    framer.push(Buffer.from(`INVITE sip:bob@example.com SIP/2.0\r\nSubject: ${'x'.repeat(500)}\r\n`));
    expect(events).toEqual([]);
    framer.push(Buffer.from(`X-Filler: ${'y'.repeat(500)}\r\n`));
    expect(events).toMatchObject([{ type: 'error', reason: 'message-too-large' }]);
  });

  it('refuses a Content-Length that would take it past the limit, before the body arrives', () => {
    const { framer, events } = harness({ maxMessageSize: 1000 });
    framer.push(wire('MESSAGE sip:bob@example.com SIP/2.0', [...INVITE_HEADERS, 'Content-Length: 5000']));
    expect(events).toMatchObject([{ type: 'error', reason: 'message-too-large' }]);
  });

  it('accepts a message of exactly the limit', () => {
    const { framer, events } = harness({ maxMessageSize: A.length });
    framer.push(A);
    expect(messages(events)).toEqual([A.toString()]);
  });

  it('delivers the frames of a chunk before a listener error reaches the caller, keeping its state', () => {
    let calls = 0;
    const framer = new SipStreamFramer({
      message: () => {
        calls++;
        if (calls === 1) throw new Error('listener bug');
      },
      ping: () => undefined,
      error: () => expect.unreachable(),
    });
    expect(() => framer.push(Buffer.concat([A, B.subarray(0, 30)]))).toThrow('listener bug');
    framer.push(B.subarray(30));
    expect(calls).toBe(2);
  });

  it('ignores empty chunks', () => {
    const { framer, events } = harness();
    framer.push(Buffer.alloc(0));
    expect(events).toEqual([]);
  });
});
