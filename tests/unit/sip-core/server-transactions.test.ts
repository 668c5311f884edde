import { describe, expect, it, vi } from 'vitest';
import { createSipResponse, type SipResponse } from '../../../media-server/embedded/sip/message/index.js';
import {
  InvalidStateError,
  InviteServerTransaction,
  NonInviteServerTransaction,
  TransactionLayer,
  type ServerTransactionUser,
} from '../../../media-server/embedded/sip/transaction/index.js';
import { FakeClock } from './fake-clock.js';
import { MemoryTransport, flush } from './memory-wire.js';
import { incoming, PEER, PEER_TCP, type RequestSpec } from './sip-builders.js';

const T1 = 500;
const T2 = 4_000;
const T4 = 5_000;

function setup() {
  const clock = new FakeClock();
  const wire = new MemoryTransport({ protocol: 'udp', address: '127.0.0.1', port: 5080 }, clock);
  const layer = new TransactionLayer({ send: (b, to) => wire.send(b, to), clock, timers: { t1: T1, t2: T2, t4: T4 } });
  const user = { onTimeout: vi.fn(), onTransportError: vi.fn(), onTerminated: vi.fn(), onCancel: vi.fn() } satisfies ServerTransactionUser;
  const statuses = () => wire.sent.map((r) => (r.message.kind === 'response' ? r.message.status : r.message.method));
  return { clock, wire, layer, user, statuses };
}

function openIst(s: ReturnType<typeof setup>, spec: RequestSpec = {}, tcp = false): InviteServerTransaction {
  return s.layer.createServer(incoming(spec, tcp ? PEER_TCP : PEER), s.user) as InviteServerTransaction;
}

const reply = (tx: InviteServerTransaction | NonInviteServerTransaction, status: number): SipResponse =>
  createSipResponse(tx.request.message, status, { toTag: 'uas' });

describe('InviteServerTransaction (RFC 3261 §17.2.1, RFC 6026 §7.1)', () => {
  it('sends 100 Trying at once and starts in proceeding', () => {
    const s = setup();
    const tx = openIst(s);
    expect(tx.state).toBe('proceeding');
    expect(s.statuses()).toEqual([100]);
    expect(s.wire.sent[0]?.to).toEqual(PEER);
    expect(s.layer.serverCount).toBe(1);
  });

  it('proceeding: a retransmitted INVITE gets the latest provisional again', () => {
    const s = setup();
    const tx = openIst(s);
    tx.respond(reply(tx, 180));
    expect(s.layer.receiveRequest(incoming())).toBe(true);
    expect(s.statuses()).toEqual([100, 180, 180]);
    expect(tx.state).toBe('proceeding');
  });

  it('proceeding → accepted on 2xx: INVITE retransmissions absorbed, ACK passed up, Timer L ends it', () => {
    const s = setup();
    const tx = openIst(s);
    tx.respond(reply(tx, 200));
    expect(tx.state).toBe('accepted');
    expect(s.layer.receiveRequest(incoming())).toBe(true);
    expect(s.statuses()).toEqual([100, 200]);
    // RFC 6026: the TU retransmits its 2xx through the transaction.
    expect(tx.retransmitAccepted()).toBe(true);
    expect(s.statuses()).toEqual([100, 200, 200]);
    // An ACK with the INVITE's branch is not absorbed: it goes to the TU.
    expect(s.layer.receiveRequest(incoming({ method: 'ACK', toTag: 'uas' }))).toBe(false);
    s.clock.advance(64 * T1 - 1);
    expect(tx.state).toBe('accepted');
    s.clock.advance(1);
    expect(tx.state).toBe('terminated');
    expect(tx.retransmitAccepted()).toBe(false);
    expect(s.user.onTerminated).toHaveBeenCalledOnce();
    expect(s.user.onTimeout).not.toHaveBeenCalled();
    expect(s.layer.serverCount).toBe(0);
  });

  it('proceeding → completed on 486: Timer G from T1 doubling to T2 over UDP, Timer H at 64·T1 reports a timeout', () => {
    const s = setup();
    const tx = openIst(s);
    tx.respond(reply(tx, 486));
    expect(tx.state).toBe('completed');
    s.clock.advance(64 * T1);
    const finals = s.wire.responses(486).map((r) => r.at);
    // Sent at 0, then after 500, 1000, 2000, 4000, 4000, … ms.
    expect(finals.slice(0, 7)).toEqual([0, 500, 1500, 3500, 7500, 11500, 15500]);
    const gaps = finals.slice(1).map((at, i) => at - (finals[i] as number));
    expect(Math.max(...gaps)).toBe(T2);
    expect(finals.at(-1)).toBe(31_500);
    expect(tx.state).toBe('terminated');
    expect(s.user.onTimeout).toHaveBeenCalledOnce();
    expect(s.clock.pending).toBe(0);
  });

  it('completed: a retransmitted INVITE gets the final again', () => {
    const s = setup();
    const tx = openIst(s);
    tx.respond(reply(tx, 603));
    s.layer.receiveRequest(incoming());
    expect(s.statuses()).toEqual([100, 603, 603]);
  });

  it('completed → confirmed on ACK: retransmissions stop, ACKs absorbed, Timer I (T4) ends it', () => {
    const s = setup();
    const tx = openIst(s);
    tx.respond(reply(tx, 486));
    s.clock.advance(T1);
    expect(s.layer.receiveRequest(incoming({ method: 'ACK', toTag: 'uas' }))).toBe(true);
    expect(tx.state).toBe('confirmed');
    expect(s.layer.receiveRequest(incoming({ method: 'ACK', toTag: 'uas' }))).toBe(true);
    const sentBefore = s.wire.sent.length;
    s.clock.advance(T4 - 1);
    expect(tx.state).toBe('confirmed');
    expect(s.wire.sent.length).toBe(sentBefore);
    s.clock.advance(1);
    expect(tx.state).toBe('terminated');
    expect(s.user.onTimeout).not.toHaveBeenCalled();
  });

  it('over TCP: no Timer G, and the ACK ends it at once (Timer I = 0); Timer H still runs', () => {
    const s = setup();
    const tx = openIst(s, { transport: 'TCP' }, true);
    tx.respond(reply(tx, 486));
    s.clock.advance(10 * T1);
    expect(s.wire.responses(486)).toHaveLength(1);
    s.layer.receiveRequest(incoming({ method: 'ACK', transport: 'TCP', toTag: 'uas' }, PEER_TCP));
    expect(tx.state).toBe('terminated');

    const lost = openIst(s, { transport: 'TCP', branch: 'z9hG4bK-2' }, true);
    lost.respond(reply(lost, 486));
    s.clock.advance(64 * T1);
    expect(lost.state).toBe('terminated');
    expect(s.user.onTimeout).toHaveBeenCalledOnce();
  });

  it('refuses illegal moves with InvalidStateError', () => {
    const s = setup();
    const tx = openIst(s);
    tx.respond(reply(tx, 200));
    expect(() => tx.respond(reply(tx, 486))).toThrow(InvalidStateError);
    expect(() => tx.respond(reply(tx, 180))).toThrow(InvalidStateError);
    const rejected = openIst(s, { branch: 'z9hG4bK-3' });
    rejected.respond(reply(rejected, 404));
    expect(() => rejected.respond(reply(rejected, 200))).toThrow(InvalidStateError);
  });

  it('a transport error ends it and tells the TU', async () => {
    const s = setup();
    s.wire.failSends = true;
    const tx = openIst(s);
    await flush(1);
    expect(tx.state).toBe('terminated');
    expect(s.user.onTransportError).toHaveBeenCalledOnce();
    expect(s.layer.serverCount).toBe(0);
  });

  it('cancel(): tells the TU before a final response, answers 487 itself if the TU does not', () => {
    const s = setup();
    const tx = openIst(s);
    expect(tx.cancel()).toBe(true);
    expect(s.user.onCancel).toHaveBeenCalledOnce();
    expect(s.statuses()).toEqual([100, 487]);
    expect(tx.state).toBe('completed');
    expect(tx.cancel()).toBe(false);
  });

  it('matches per §17.2.3: branch, sent-by and method; ACK finds its INVITE; RFC 2543 fallback', () => {
    const s = setup();
    const tx = openIst(s, { branch: 'z9hG4bK-abc' });
    expect(s.layer.findServer(incoming({ branch: 'z9hG4bK-abc' }))).toBe(tx);
    expect(s.layer.findServer(incoming({ method: 'ACK', branch: 'z9hG4bK-abc' }))).toBe(tx);
    expect(s.layer.findServer(incoming({ branch: 'z9hG4bK-abd' }))).toBeUndefined();
    expect(s.layer.findServer(incoming({ branch: 'z9hG4bK-abc', sentBy: '127.0.0.2:5070' }))).toBeUndefined();
    expect(s.layer.findServer(incoming({ method: 'OPTIONS', branch: 'z9hG4bK-abc' }))).toBeUndefined();
    expect(s.layer.findCancelledInvite(incoming({ method: 'CANCEL', branch: 'z9hG4bK-abc' }))).toBe(tx);

    const old = openIst(s, { branch: '1234', callId: 'old@host' });
    expect(s.layer.findServer(incoming({ branch: '1234', callId: 'old@host' }))).toBe(old);
    expect(s.layer.findServer(incoming({ method: 'ACK', branch: '1234', callId: 'old@host', toTag: 'x' }))).toBe(old);
    expect(s.layer.findServer(incoming({ branch: '1234', callId: 'other@host' }))).toBeUndefined();
  });

  it('answers per §18.2.2: to the source port when the Via asks for rport, stamping received and rport', () => {
    const s = setup();
    const source = { protocol: 'udp' as const, address: '10.0.0.9', port: 40000 };
    const tx = s.layer.createServer(incoming({ extra: [], sentBy: '192.168.1.5:5060;rport' }, source), s.user);
    expect(s.wire.sent[0]?.to).toEqual(source);
    expect(tx.request.message.headers.get('Via')).toBe('SIP/2.0/UDP 192.168.1.5:5060;rport=40000;branch=z9hG4bK-1;received=10.0.0.9');
    const noRport = s.layer.createServer(incoming({ branch: 'z9hG4bK-9', sentBy: '192.168.1.5:5062' }, source), s.user);
    expect(noRport.peer).toEqual({ protocol: 'udp', address: '10.0.0.9', port: 5062 });
  });
});

describe('NonInviteServerTransaction (RFC 3261 §17.2.2)', () => {
  function openNist(s: ReturnType<typeof setup>, tcp = false): NonInviteServerTransaction {
    const spec = { method: 'BYE', toTag: 'uas', ...(tcp ? { transport: 'TCP' as const } : {}) };
    return s.layer.createServer(incoming(spec, tcp ? PEER_TCP : PEER), s.user) as NonInviteServerTransaction;
  }
  const bye = (tcp = false) => incoming({ method: 'BYE', toTag: 'uas', ...(tcp ? { transport: 'TCP' as const } : {}) }, tcp ? PEER_TCP : PEER);

  it('trying: sends nothing by itself and discards retransmissions', () => {
    const s = setup();
    const tx = openNist(s);
    expect(tx.state).toBe('trying');
    expect(s.layer.receiveRequest(bye())).toBe(true);
    expect(s.wire.sent).toHaveLength(0);
  });

  it('trying → proceeding on 1xx; retransmissions get the provisional', () => {
    const s = setup();
    const tx = openNist(s);
    tx.respond(reply(tx, 100));
    expect(tx.state).toBe('proceeding');
    s.layer.receiveRequest(bye());
    expect(s.statuses()).toEqual([100, 100]);
  });

  it('→ completed on the final; retransmissions get it again; Timer J (64·T1) ends it over UDP', () => {
    const s = setup();
    const tx = openNist(s);
    tx.respond(reply(tx, 200));
    expect(tx.state).toBe('completed');
    s.layer.receiveRequest(bye());
    expect(s.statuses()).toEqual([200, 200]);
    expect(() => tx.respond(reply(tx, 500))).toThrow(InvalidStateError);
    s.clock.advance(64 * T1 - 1);
    expect(tx.state).toBe('completed');
    s.clock.advance(1);
    expect(tx.state).toBe('terminated');
    expect(s.layer.serverCount).toBe(0);
  });

  it('over TCP Timer J is zero', () => {
    const s = setup();
    const tx = openNist(s, true);
    tx.respond(reply(tx, 200));
    expect(tx.state).toBe('terminated');
  });

  it('a transport error ends it', async () => {
    const s = setup();
    s.wire.failSends = true;
    const tx = openNist(s);
    tx.respond(reply(tx, 200));
    await flush(1);
    expect(tx.state).toBe('terminated');
    expect(s.user.onTransportError).toHaveBeenCalledOnce();
  });
});

describe('a Via branch reused with a new CSeq (a SIPp INFO loop)', () => {
  // SIPp's [branch] is per scenario message: a <send> in a loop goes out again with the same
  // branch and the next [cseq]. A retransmission is the same bytes, so another CSeq is a new request.
  const info = (cseq: number) => incoming({ method: 'INFO', branch: 'z9hG4bK-loop', toTag: 'uas', cseq, body: 'Signal=5\r\nDuration=160\r\n', contentType: 'application/dtmf-relay' });

  function setupCounting() {
    const reused: number[] = [];
    const s = setup();
    const layer = new TransactionLayer({
      send: (b, to) => s.wire.send(b, to),
      clock: s.clock,
      timers: { t1: T1, t2: T2, t4: T4 },
      onBranchReused: (request) => reused.push(request.cseq.seq),
    });
    return { ...s, layer, reused };
  }

  /** Serves a request the way the user agent does: the transaction it matches absorbs it, or a new one answers 200. */
  function serve(s: ReturnType<typeof setupCounting>, request: ReturnType<typeof info>): NonInviteServerTransaction | undefined {
    if (s.layer.receiveRequest(request)) return undefined;
    const tx = s.layer.createServer(request) as NonInviteServerTransaction;
    tx.respond(reply(tx, 200));
    return tx;
  }

  const cseqOf = (r: { message: SipResponse }) => r.message.headers.get('CSeq');

  it('CSeq 5 then 6 on one branch: two transactions, two 200s, each answering its own CSeq; counted once', () => {
    const s = setupCounting();
    const first = serve(s, info(5));
    const second = serve(s, info(6));
    expect(first).toBeDefined();
    expect(second).toBeDefined();
    expect(second).not.toBe(first);
    expect(s.layer.serverCount).toBe(2);
    expect(s.wire.responses(200).map(cseqOf)).toEqual(['5 INFO', '6 INFO']);
    expect(s.reused).toEqual([6]);
    expect(s.layer.findServer(info(5))).toBe(first);
    expect(s.layer.findServer(info(6))).toBe(second);
  });

  it('a true retransmission is still absorbed, each by its own transaction, with its own 200', () => {
    const s = setupCounting();
    serve(s, info(5));
    serve(s, info(6));
    // A late copy of the first INFO, then of the second: answered again from their transactions, no new one.
    expect(serve(s, info(5))).toBeUndefined();
    expect(serve(s, info(6))).toBeUndefined();
    expect(s.layer.serverCount).toBe(2);
    expect(s.wire.responses(200).map(cseqOf)).toEqual(['5 INFO', '6 INFO', '5 INFO', '6 INFO']);
    expect(s.reused).toEqual([6]);
  });

  it('a loop of ten keys on one branch: ten transactions, nine reuses; once they end, the branch is fresh again', () => {
    const s = setupCounting();
    for (let cseq = 3; cseq < 13; cseq++) serve(s, info(cseq));
    expect(s.layer.serverCount).toBe(10);
    expect(s.wire.responses(200).map(cseqOf)).toEqual(Array.from({ length: 10 }, (_, i) => `${i + 3} INFO`));
    expect(s.reused).toHaveLength(9);
    // Timer J (64·T1) ends them all; the branch is then no one's.
    s.clock.advance(64 * T1);
    expect(s.layer.serverCount).toBe(0);
    serve(s, info(13));
    expect(s.reused).toHaveLength(9);
  });

  it('the ACK of a non-2xx and a CANCEL still find their INVITE by its CSeq number', () => {
    const s = setupCounting();
    const invite = s.layer.createServer(incoming({ branch: 'z9hG4bK-inv', cseq: 7 }), s.user) as InviteServerTransaction;
    expect(s.layer.findCancelledInvite(incoming({ method: 'CANCEL', branch: 'z9hG4bK-inv', cseq: 7 }))).toBe(invite);
    expect(s.layer.findCancelledInvite(incoming({ method: 'CANCEL', branch: 'z9hG4bK-inv', cseq: 8 }))).toBeUndefined();
    invite.respond(reply(invite, 486));
    expect(s.layer.receiveRequest(incoming({ method: 'ACK', branch: 'z9hG4bK-inv', cseq: 7, toTag: 'uas' }))).toBe(true);
    expect(invite.state).toBe('confirmed');
    expect(s.reused).toEqual([]);
  });
});
