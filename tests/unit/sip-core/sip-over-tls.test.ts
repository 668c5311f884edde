import { describe, expect, it } from 'vitest';
import { parseVia, type SipRequest } from '../../../media-server/embedded/sip/message/index.js';
import { uasDialogState } from '../../../media-server/embedded/sip/dialog/dialog-state.js';
import { nextHopOf } from '../../../media-server/embedded/sip/transaction/next-hop.js';
import { SipUnsupportedError } from '../../../media-server/embedded/sip/transaction/transaction-errors.js';
import { readIncomingRequest } from '../../../media-server/embedded/sip/transaction/incoming-request.js';
import { SipUserAgent, type IncomingInvite, type InviteSession } from '../../../media-server/embedded/sip/user-agent/index.js';
import { FakeClock } from './fake-clock.js';
import { flush, memoryPair } from './memory-wire.js';
import { request, SDP_ANSWER, SDP_OFFER } from './sip-builders.js';

// SIP over TLS in the stack above the transport (RFC 3261 §26.2, RFC 5630):
// where a sips: or transport=tls URI goes, the Via and Contact we write for
// it, the dialog's 'secure' flag, and in-dialog requests on the TLS flow.

describe('next hop of a URI (RFC 3263 §4 without DNS, RFC 5630)', () => {
  it('sips: goes over TLS, to 5061 by default; transport=tcp on a sips: URI is TLS over TCP', () => {
    expect(nextHopOf('sips:agent@pbx.example')).toEqual({ protocol: 'tls', address: 'pbx.example', port: 5061 });
    expect(nextHopOf('sips:agent@10.0.0.5:5071;transport=tcp')).toEqual({ protocol: 'tls', address: '10.0.0.5', port: 5071 });
  });

  it('transport=tls on a sip: URI goes over TLS; UDP and TCP as before', () => {
    expect(nextHopOf('sip:agent@10.0.0.5;transport=TLS')).toEqual({ protocol: 'tls', address: '10.0.0.5', port: 5061 });
    expect(nextHopOf('sip:agent@10.0.0.5;transport=tcp')).toEqual({ protocol: 'tcp', address: '10.0.0.5', port: 5060 });
    expect(nextHopOf('sip:agent@10.0.0.5')).toEqual({ protocol: 'udp', address: '10.0.0.5', port: 5060 });
  });

  it('refuses a sips: URI over UDP, and transports it does not offer', () => {
    expect(() => nextHopOf('sips:agent@10.0.0.5;transport=udp')).toThrow(SipUnsupportedError);
    expect(() => nextHopOf('sip:agent@10.0.0.5;transport=sctp')).toThrow(SipUnsupportedError);
  });
});

describe("the dialog's secure flag (RFC 3261 §12.1.1)", () => {
  const invite = (uri: string): SipRequest => request({ uri, transport: 'TCP' });

  it('is set only for a SIPS Request-URI that arrived over TLS', () => {
    expect(uasDialogState(invite('sips:pay@127.0.0.1:5081'), 't', 1, true).secure).toBe(true);
    expect(uasDialogState(invite('sips:pay@127.0.0.1:5081'), 't', 1, false).secure).toBe(false);
    expect(uasDialogState(invite('sip:pay@127.0.0.1:5081;transport=tls'), 't', 1, true).secure).toBe(false);
  });

  it('a response to a request over TLS goes back on its connection (§18.2.2), rport or not', () => {
    const source = { protocol: 'tls', address: '127.0.0.1', port: 40999 } as const;
    const invite = request({ transport: 'TCP', sentBy: '127.0.0.1:5061' });
    expect(readIncomingRequest(invite, source).responseAddress).toEqual(source);
  });
});

/** Two user agents on an in-memory wire; b listens for TLS on 5081 besides 5080. */
async function tlsPair(): Promise<{ a: SipUserAgent; b: SipUserAgent; wireA: ReturnType<typeof memoryPair>[0]; wireB: ReturnType<typeof memoryPair>[1] }> {
  const clock = new FakeClock();
  const [wireA, wireB] = memoryPair(clock);
  const common = { allow: { allows: () => true }, clock, timers: { t1: 500, t2: 4_000, t4: 5_000 } };
  const a = new SipUserAgent({ ...common, transport: wireA, contactHost: '127.0.0.1', contactPort: 5070, contactTlsPort: 5071 });
  const b = new SipUserAgent({ ...common, transport: wireB, contactHost: '127.0.0.1', contactPort: 5080, contactTlsPort: 5081 });
  await a.start();
  await b.start();
  return { a, b, wireA, wireB };
}

async function call(target: string): Promise<{ p: Awaited<ReturnType<typeof tlsPair>>; uac: InviteSession; uas: InviteSession; invite: IncomingInvite }> {
  const p = await tlsPair();
  let invite!: IncomingInvite;
  let accepted!: Promise<InviteSession>;
  p.b.once('invite', (inv) => {
    invite = inv;
    accepted = inv.accept({ sdp: SDP_ANSWER });
  });
  const outgoing = p.a.invite(target, { sdp: SDP_OFFER });
  await flush();
  const [uac, uas] = await Promise.all([outgoing.dialog, accepted]);
  return { p, uac, uas, invite };
}

describe('a call over TLS between two user agents', () => {
  it('sips: target: Via TLS with the TLS port, SIPS Contacts both ways (§8.1.1.8, §12.1.1), both dialogs secure', async () => {
    const { p, uac, uas, invite } = await call('sips:pay@127.0.0.1:5081');
    const sent = p.wireA.requests('INVITE')[0]!;
    expect(sent.to).toEqual({ protocol: 'tls', address: '127.0.0.1', port: 5081 });
    const via = parseVia(sent.message.headers.get('Via') as string);
    expect([via.transport, via.port]).toEqual(['TLS', 5071]);
    expect(sent.message.headers.get('Contact')).toBe('<sips:127.0.0.1:5071>');
    expect(invite.source.protocol).toBe('tls');
    expect(p.wireB.responses(200)[0]!.message.headers.get('Contact')).toBe('<sips:127.0.0.1:5081>');
    expect([uac.secure, uas.secure]).toEqual([true, true]);
    // The ACK goes to the SIPS Contact of the 200: over TLS.
    expect(p.wireA.requests('ACK')[0]!.to.protocol).toBe('tls');
  });

  it('transport=tls target: a sip: Contact with transport=tls, not secure; the callee\'s BYE goes back on the TLS flow', async () => {
    const { p, uac, uas } = await call('sip:pay@127.0.0.1:5081;transport=tls');
    expect(p.wireA.requests('INVITE')[0]!.message.headers.get('Contact')).toBe('<sip:127.0.0.1:5071;transport=tls>');
    expect(p.wireB.responses(200)[0]!.message.headers.get('Contact')).toBe('<sip:127.0.0.1:5081;transport=tls>');
    expect([uac.secure, uas.secure]).toEqual([false, false]);
    await uas.bye();
    const bye = p.wireB.requests('BYE')[0]!;
    expect(bye.to).toEqual({ protocol: 'tls', address: '127.0.0.1', port: 5070 });
    expect(parseVia(bye.message.headers.get('Via') as string).transport).toBe('TLS');
  });
});
