import { describe, expect, it, vi } from 'vitest';
import type { SipRequest } from '../../../media-server/embedded/sip/message/index.js';
import {
  createNonSuccessAck,
  InviteClientTransaction,
  NonInviteClientTransaction,
  TransactionLayer,
  type ClientTransactionUser,
} from '../../../media-server/embedded/sip/transaction/index.js';
import type { TransportAddress } from '../../../media-server/embedded/sip/transport/sip-transport.js';
import { FakeClock } from './fake-clock.js';
import { MemoryTransport, flush } from './memory-wire.js';
import { request, responseTo } from './sip-builders.js';

const T1 = 500;
const T2 = 4_000;
const T4 = 5_000;
const UAS: TransportAddress = { protocol: 'udp', address: '127.0.0.1', port: 5080 };
const UAS_TCP: TransportAddress = { protocol: 'tcp', address: '127.0.0.1', port: 5080 };

function setup() {
  const clock = new FakeClock();
  const wire = new MemoryTransport({ protocol: 'udp', address: '127.0.0.1', port: 5070 }, clock);
  const layer = new TransactionLayer({ send: (b, to) => wire.send(b, to), clock, timers: { t1: T1, t2: T2, t4: T4 } });
  const user = { onResponse: vi.fn(), onTimeout: vi.fn(), onTransportError: vi.fn(), onTerminated: vi.fn() } satisfies ClientTransactionUser;
  return { clock, wire, layer, user };
}

function sendInvite(s: ReturnType<typeof setup>, tcp = false): { tx: InviteClientTransaction; invite: SipRequest } {
  const invite = request({ transport: tcp ? 'TCP' : 'UDP', extra: ['Route: <sip:proxy.example;lr>'] });
  return { tx: s.layer.sendRequest(invite, tcp ? UAS_TCP : UAS, s.user) as InviteClientTransaction, invite };
}

function sendBye(s: ReturnType<typeof setup>, tcp = false): { tx: NonInviteClientTransaction; bye: SipRequest } {
  const bye = request({ method: 'BYE', toTag: 'uas', transport: tcp ? 'TCP' : 'UDP' });
  return { tx: s.layer.sendRequest(bye, tcp ? UAS_TCP : UAS, s.user) as NonInviteClientTransaction, bye };
}

describe('InviteClientTransaction (RFC 3261 §17.1.1, RFC 6026 §7.2)', () => {
  it('calling: Timer A retransmits at T1 doubling (no T2 cap) until Timer B at 64·T1 reports a timeout', () => {
    const s = setup();
    const { tx } = sendInvite(s);
    expect(tx.state).toBe('calling');
    s.clock.advance(64 * T1);
    expect(s.wire.requests('INVITE').map((r) => r.at)).toEqual([0, 500, 1500, 3500, 7500, 15500, 31500]);
    expect(tx.state).toBe('terminated');
    expect(s.user.onTimeout).toHaveBeenCalledOnce();
    expect(s.layer.clientCount).toBe(0);
    expect(s.clock.pending).toBe(0);
  });

  it('calling → proceeding on 1xx: retransmissions and Timer B stop, every 1xx reaches the TU', () => {
    const s = setup();
    const { tx, invite } = sendInvite(s);
    s.clock.advance(T1);
    expect(s.layer.receiveResponse(responseTo(invite, 100))).toBe(true);
    expect(tx.state).toBe('proceeding');
    s.layer.receiveResponse(responseTo(invite, 180, { toTag: 'uas' }));
    s.clock.advance(128 * T1);
    expect(s.wire.requests('INVITE')).toHaveLength(2);
    expect(tx.state).toBe('proceeding');
    expect(s.user.onTimeout).not.toHaveBeenCalled();
    expect(s.user.onResponse.mock.calls.map(([r]) => r.status)).toEqual([100, 180]);
  });

  it('→ accepted on 2xx: each retransmitted 2xx reaches the TU (it re-ACKs), Timer M ends it; no ACK from the transaction', () => {
    const s = setup();
    const { tx, invite } = sendInvite(s);
    const ok = responseTo(invite, 200, { toTag: 'uas' });
    s.layer.receiveResponse(ok);
    expect(tx.state).toBe('accepted');
    s.layer.receiveResponse(ok);
    s.layer.receiveResponse(responseTo(invite, 486, { toTag: 'uas' }));
    expect(s.user.onResponse.mock.calls.map(([r]) => r.status)).toEqual([200, 200]);
    expect(s.wire.requests('ACK')).toHaveLength(0);
    s.clock.advance(64 * T1);
    expect(tx.state).toBe('terminated');
  });

  it('→ completed on 486: sends the §17.1.1.3 ACK, re-sends it for each retransmission, Timer D ends it', () => {
    const s = setup();
    const { tx, invite } = sendInvite(s);
    const busy = responseTo(invite, 486, { toTag: 'uas' });
    s.layer.receiveResponse(busy);
    expect(tx.state).toBe('completed');
    s.layer.receiveResponse(busy);
    expect(s.user.onResponse).toHaveBeenCalledOnce();
    const acks = s.wire.requests('ACK');
    expect(acks).toHaveLength(2);
    const ack = acks[0]!.message;
    expect(ack.uri).toBe(invite.uri);
    expect(ack.headers.getAll('Via')).toEqual([invite.headers.get('Via')]);
    expect(ack.headers.get('To')).toBe(busy.headers.get('To'));
    expect(ack.headers.get('From')).toBe(invite.headers.get('From'));
    expect(ack.headers.get('CSeq')).toBe('1 ACK');
    expect(ack.headers.getAll('Route')).toEqual(['<sip:proxy.example;lr>']);
    s.clock.advance(64 * T1 - 1);
    expect(tx.state).toBe('completed');
    s.clock.advance(1);
    expect(tx.state).toBe('terminated');
  });

  it('over TCP: no Timer A, and Timer D is zero', () => {
    const s = setup();
    const { tx, invite } = sendInvite(s, true);
    s.clock.advance(32 * T1);
    expect(s.wire.requests('INVITE')).toHaveLength(1);
    s.layer.receiveResponse(responseTo(invite, 404, { toTag: 'uas' }));
    expect(tx.state).toBe('terminated');
    expect(s.wire.requests('ACK')).toHaveLength(1);
  });

  it('a transport error ends it and tells the TU', async () => {
    const s = setup();
    s.wire.failSends = true;
    const { tx } = sendInvite(s);
    await flush(1);
    expect(tx.state).toBe('terminated');
    expect(s.user.onTransportError).toHaveBeenCalledOnce();
  });

  it('abandon() ends a transaction still waiting for its final response (§9.1)', () => {
    const s = setup();
    const { tx, invite } = sendInvite(s);
    s.layer.receiveResponse(responseTo(invite, 180, { toTag: 'uas' }));
    tx.abandon();
    expect(tx.state).toBe('terminated');
    expect(s.layer.receiveResponse(responseTo(invite, 487, { toTag: 'uas' }))).toBe(false);
  });

  it('createNonSuccessAck keeps one Via and the CSeq number', () => {
    const invite = request({ cseq: 42, extra: ['Via: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK-proxy'] });
    const ack = createNonSuccessAck(invite, responseTo(invite, 480, { toTag: 't' }));
    expect(ack.headers.getAll('Via')).toHaveLength(1);
    expect(ack.headers.get('CSeq')).toBe('42 ACK');
    expect(ack.headers.get('Max-Forwards')).toBe('70');
  });
});

describe('NonInviteClientTransaction (RFC 3261 §17.1.2)', () => {
  it('trying: Timer E at T1 doubling to T2, Timer F at 64·T1 reports a timeout', () => {
    const s = setup();
    const { tx } = sendBye(s);
    s.clock.advance(64 * T1);
    expect(s.wire.requests('BYE').map((r) => r.at)).toEqual([0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500]);
    expect(tx.state).toBe('terminated');
    expect(s.user.onTimeout).toHaveBeenCalledOnce();
  });

  it('trying → proceeding on 1xx: Timer E becomes T2', () => {
    const s = setup();
    const { tx, bye } = sendBye(s);
    s.clock.advance(T1);
    s.layer.receiveResponse(responseTo(bye, 100));
    expect(tx.state).toBe('proceeding');
    s.clock.advance(13_000);
    // The E pending at 1 500 still fires; after it, every T2.
    expect(s.wire.requests('BYE').map((r) => r.at)).toEqual([0, 500, 1500, 5500, 9500, 13500]);
  });

  it('→ completed on the final: retransmitted finals absorbed, Timer K (T4) ends it', () => {
    const s = setup();
    const { tx, bye } = sendBye(s);
    const ok = responseTo(bye, 200);
    s.layer.receiveResponse(ok);
    s.layer.receiveResponse(ok);
    expect(tx.state).toBe('completed');
    expect(s.user.onResponse).toHaveBeenCalledOnce();
    s.clock.advance(T4 - 1);
    expect(tx.state).toBe('completed');
    s.clock.advance(1);
    expect(tx.state).toBe('terminated');
    expect(s.wire.requests('BYE')).toHaveLength(1);
  });

  it('over TCP: no Timer E, Timer K zero', () => {
    const s = setup();
    const { tx, bye } = sendBye(s, true);
    s.clock.advance(10 * T1);
    expect(s.wire.requests('BYE')).toHaveLength(1);
    s.layer.receiveResponse(responseTo(bye, 200));
    expect(tx.state).toBe('terminated');
  });

  it('matches responses by branch and CSeq method (§17.1.3)', () => {
    const s = setup();
    const { bye } = sendBye(s);
    const wrongMethod = responseTo({ ...bye, headers: bye.headers.clone().set('CSeq', '1 CANCEL') }, 200);
    expect(s.layer.receiveResponse(wrongMethod)).toBe(false);
    const wrongBranch = responseTo({ ...bye, headers: bye.headers.clone().set('Via', 'SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-x') }, 200);
    expect(s.layer.receiveResponse(wrongBranch)).toBe(false);
    expect(s.layer.receiveResponse(responseTo(bye, 200))).toBe(true);
  });
});
