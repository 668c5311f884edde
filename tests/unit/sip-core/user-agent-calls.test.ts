import { describe, expect, it, vi } from 'vitest';
import { parseVia, type SipRequest } from '../../../media-server/embedded/sip/message/index.js';
import {
  SipAckTimeoutError,
  SipCancelledError,
  SipDialogTerminatedError,
  SipFinalResponseError,
  SipRequestPendingError,
  SipTimeoutError,
  type IncomingInvite,
  type InviteSession,
} from '../../../media-server/embedded/sip/user-agent/index.js';
import { SDP_ANSWER, SDP_OFFER } from './sip-builders.js';
import { flush, TIMERS, uaPair, type UaPair } from './ua-harness.js';

const TARGET = 'sip:pay@127.0.0.1:5080';
const branchOf = (req: SipRequest): string | null | undefined => parseVia(req.headers.get('Via') as string).params.get('branch');

/** A call from a to b, answered; both dialogs. */
async function establish(p: UaPair): Promise<{ uac: InviteSession; uas: InviteSession; invite: IncomingInvite }> {
  let invite!: IncomingInvite;
  let accepted!: Promise<InviteSession>;
  p.b.once('invite', (inv) => {
    invite = inv;
    inv.progress(180);
    accepted = inv.accept({ sdp: SDP_ANSWER });
  });
  const outgoing = p.a.invite(TARGET, { sdp: SDP_OFFER });
  await flush();
  const [uac, uas] = await Promise.all([outgoing.dialog, accepted]);
  return { uac, uas, invite };
}

describe('SipUserAgent: INVITE, ACK, BYE (RFC 3261 §13, §15)', () => {
  it('sets up a call: 100 at once, 180, 200 with the answer, ACK; both dialogs agree', async () => {
    const p = await uaPair();
    const provisional: number[] = [];
    let seen: IncomingInvite | undefined;
    p.b.on('invite', (inv) => {
      seen = inv;
      inv.progress(180);
      void inv.accept({ sdp: SDP_ANSWER, headers: { 'X-Leg': 'caller' } });
    });
    const outgoing = p.a.invite(TARGET, { sdp: SDP_OFFER, from: '"IVR" <sip:ivr@127.0.0.1>', headers: { 'X-Payment-Session': 'ABC123' } });
    outgoing.on('provisional', (status) => provisional.push(status));
    const uac = await outgoing.dialog;
    await flush();
    expect(provisional).toEqual([100, 180]);
    expect(seen).toMatchObject({ calledUser: 'pay', from: 'sip:ivr@127.0.0.1', sdp: SDP_OFFER });
    expect(seen?.request.headers.get('X-Payment-Session')).toBe('ABC123');
    expect(p.wireB.sent.map((r) => (r.message.kind === 'response' ? r.message.status : r.message.method))).toEqual([100, 180, 200]);
    const ok = p.wireB.responses(200)[0]!.message;
    expect(ok.headers.get('X-Leg')).toBe('caller');
    expect(ok.headers.get('Contact')).toBe('<sip:127.0.0.1:5080>');
    expect(ok.headers.get('Allow')).toContain('INVITE');
    expect(uac.remoteSdp).toBe(SDP_ANSWER);
    // §13.2.2.4: the ACK for a 2xx is a new transaction (new branch), same CSeq number.
    const invite = p.wireA.requests('INVITE')[0]!.message;
    const ack = p.wireA.requests('ACK')[0]!.message;
    expect(branchOf(ack)).not.toBe(branchOf(invite));
    expect(ack.headers.get('CSeq')).toBe('1 ACK');
    expect(ack.uri).toBe('sip:127.0.0.1:5080');
    expect(p.a.dialogCount).toBe(1);
    expect(p.b.dialogCount).toBe(1);
  });

  it('BYE from the caller: 200, the callee\'s dialog ends remote-bye, the caller\'s local-bye; bye() is safe twice', async () => {
    const p = await uaPair();
    const { uac, uas } = await establish(p);
    const ended = { a: vi.fn(), b: vi.fn() };
    uac.on('ended', ended.a);
    uas.on('ended', ended.b);
    const first = uac.bye();
    expect(uac.bye()).toBe(first);
    await first;
    await flush();
    expect(ended.a).toHaveBeenCalledExactlyOnceWith('local-bye');
    expect(ended.b).toHaveBeenCalledExactlyOnceWith('remote-bye');
    const bye = p.wireA.requests('BYE')[0]!.message;
    expect(bye.headers.get('CSeq')).toBe('2 BYE');
    expect(p.wireB.responses(200).at(-1)!.message.headers.get('CSeq')).toBe('2 BYE');
    await uas.bye();
    expect(p.wireB.requests('BYE')).toHaveLength(0);
    expect(p.a.dialogCount + p.b.dialogCount).toBe(0);
  });

  it('BYE from the callee: CSeq starts afresh for the UAS side and the request goes to the caller\'s Contact', async () => {
    const p = await uaPair();
    const { uac, uas } = await establish(p);
    const ended = vi.fn();
    uac.on('ended', ended);
    await uas.bye();
    await flush();
    const bye = p.wireB.requests('BYE')[0]!.message;
    expect(bye.uri).toBe('sip:127.0.0.1:5070');
    expect(bye.headers.get('CSeq')).toBe('1 BYE');
    expect(bye.headers.get('From')).toBe(uas.localParty);
    expect(bye.headers.get('To')).toBe(uas.remoteParty);
    expect(ended).toHaveBeenCalledWith('remote-bye');
  });

  it('a 486 rejects the dialog promise with SipFinalResponseError; the transaction ACKs it', async () => {
    const p = await uaPair();
    p.b.on('invite', (inv) => inv.reject(486));
    const outgoing = p.a.invite(TARGET, { sdp: SDP_OFFER });
    const error = await outgoing.dialog.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SipFinalResponseError);
    expect((error as SipFinalResponseError).status).toBe(486);
    await flush();
    const ack = p.wireA.requests('ACK')[0]!.message;
    expect(branchOf(ack)).toBe(branchOf(outgoing.request));
    expect(p.b.transactions.serverCount).toBe(1); // Confirmed until Timer I
    await p.run(TIMERS.t4 + 100, 500);
    expect(p.b.transactions.serverCount).toBe(0);
  });

  it('no answer at all: Timer B rejects with SipTimeoutError after 64·T1', async () => {
    const p = await uaPair();
    p.wireA.drop = () => true;
    const outgoing = p.a.invite(TARGET, { sdp: SDP_OFFER });
    const result = outgoing.dialog.catch((e: unknown) => e);
    await p.run(64 * TIMERS.t1, 500);
    expect(await result).toBeInstanceOf(SipTimeoutError);
    expect(p.wireA.requests('INVITE')).toHaveLength(7);
  });
});

describe('SipUserAgent: 2xx retransmission until ACK (RFC 3261 §13.3.1.4)', () => {
  it('retransmits the 200 at T1 doubling to T2; no ACK in 64·T1 → SipAckTimeoutError, BYE, ended ack-timeout', async () => {
    const p = await uaPair();
    p.wireA.drop = (m) => m.kind === 'request' && m.method === 'ACK';
    let accepted!: Promise<InviteSession>;
    p.b.on('invite', (inv) => {
      accepted = inv.accept({ sdp: SDP_ANSWER });
      accepted.catch(() => undefined);
    });
    const outgoing = p.a.invite(TARGET, { sdp: SDP_OFFER });
    await outgoing.dialog;
    const okTimes = () => p.wireB.responses(200).filter((r) => r.message.headers.get('CSeq') === '1 INVITE').map((r) => r.at);
    await p.run(64 * TIMERS.t1 + 500);
    const times = okTimes();
    expect(times.slice(0, 5).map((t) => t - times[0]!)).toEqual([0, 500, 1500, 3500, 7500]);
    expect(times.slice(1).map((t, i) => t - times[i]!).every((gap) => gap <= TIMERS.t2)).toBe(true);
    await expect(accepted).rejects.toBeInstanceOf(SipAckTimeoutError);
    // The caller re-ACKed every 2xx it got (all lost on the way).
    expect(p.wireA.requests('ACK').length).toBe(times.length);
    expect(new Set(p.wireA.requests('ACK').map((r) => r.bytes.toString())).size).toBe(1);
    // §13.3.1.4: "the session SHOULD be terminated ... with a BYE".
    expect(p.wireB.requests('BYE')).toHaveLength(1);
  });

  it('a lost ACK is repaired: the retransmitted 200 is ACKed again and accept() resolves', async () => {
    const p = await uaPair();
    let acks = 0;
    p.wireA.drop = (m) => m.kind === 'request' && m.method === 'ACK' && acks++ === 0;
    let accepted!: Promise<InviteSession>;
    p.b.on('invite', (inv) => (accepted = inv.accept({ sdp: SDP_ANSWER })));
    p.a.invite(TARGET, { sdp: SDP_OFFER });
    await p.run(1_000);
    const dialog = await accepted;
    expect(dialog.state).toBe('confirmed');
    expect(p.wireB.responses(200)).toHaveLength(2);
    expect(p.wireA.requests('ACK')).toHaveLength(2);
    await p.run(5_000, 500);
    expect(p.wireB.responses(200)).toHaveLength(2);
  });

  it('a BYE that arrives before the ACK ends the dialog: 200 to it, accept() rejects', async () => {
    const p = await uaPair();
    p.wireA.drop = (m) => m.kind === 'request' && m.method === 'ACK';
    let accepted!: Promise<InviteSession>;
    p.b.on('invite', (inv) => (accepted = inv.accept({ sdp: SDP_ANSWER })));
    const uac = await p.a.invite(TARGET, { sdp: SDP_OFFER }).dialog;
    await uac.bye();
    await expect(accepted).rejects.toBeInstanceOf(SipDialogTerminatedError);
    expect(p.wireB.responses(200).at(-1)!.message.headers.get('CSeq')).toBe('2 BYE');
    expect(p.b.dialogCount).toBe(0);
    // No more 2xx retransmissions once the dialog is gone.
    const sent = p.wireB.sent.length;
    await p.run(4_000, 250);
    expect(p.wireB.sent.length).toBe(sent);
  });
});

describe('SipUserAgent: CANCEL (RFC 3261 §9)', () => {
  it('after a provisional: CANCEL gets 200, the INVITE 487, the callee hears cancelled, the caller SipCancelledError', async () => {
    const p = await uaPair();
    const cancelled = vi.fn();
    p.b.on('invite', (inv) => {
      inv.on('cancelled', cancelled);
      inv.progress(180);
    });
    const outgoing = p.a.invite(TARGET, { sdp: SDP_OFFER });
    outgoing.on('provisional', (status) => status === 180 && outgoing.cancel());
    await expect(outgoing.dialog).rejects.toBeInstanceOf(SipCancelledError);
    await flush();
    expect(cancelled).toHaveBeenCalledOnce();
    const cancel = p.wireA.requests('CANCEL')[0]!.message;
    const invite = outgoing.request;
    expect(branchOf(cancel)).toBe(branchOf(invite));
    expect(cancel.headers.get('CSeq')).toBe('1 CANCEL');
    expect(cancel.uri).toBe(invite.uri);
    const statuses = p.wireB.responses().map((r) => `${r.message.status} ${r.message.headers.get('CSeq')}`);
    expect(statuses).toEqual(['100 1 INVITE', '180 1 INVITE', '200 1 CANCEL', '487 1 INVITE']);
    // The 487 carries the tag of the 180; so does the 200 to the CANCEL (§9.2 SHOULD).
    const tags = p.wireB.responses().slice(1).map((r) => r.message.headers.get('To'));
    expect(new Set(tags).size).toBe(1);
    expect(p.wireA.requests('ACK')).toHaveLength(1);
  });

  it('before any provisional: the CANCEL waits for one (§9.1)', async () => {
    const p = await uaPair();
    p.wireB.drop = (m) => m.kind === 'response' && m.status === 100;
    let incoming!: IncomingInvite;
    p.b.on('invite', (inv) => (incoming = inv));
    const outgoing = p.a.invite(TARGET, { sdp: SDP_OFFER });
    const result = outgoing.dialog.catch((e: unknown) => e);
    outgoing.cancel();
    await p.run(1_000);
    expect(p.wireA.requests('CANCEL')).toHaveLength(0);
    incoming.progress(183, { sdp: SDP_ANSWER });
    await p.run(100);
    expect(p.wireA.requests('CANCEL')).toHaveLength(1);
    expect(await result).toBeInstanceOf(SipCancelledError);
  });

  it('timeoutMs: an unanswered INVITE is cancelled and rejects with SipTimeoutError', async () => {
    const p = await uaPair();
    p.b.on('invite', (inv) => inv.progress(180));
    const outgoing = p.a.invite(TARGET, { sdp: SDP_OFFER, timeoutMs: 2_000 });
    const result = outgoing.dialog.catch((e: unknown) => e);
    await p.run(2_200);
    expect(await result).toBeInstanceOf(SipTimeoutError);
    expect(p.wireA.requests('CANCEL')).toHaveLength(1);
  });

  it('a CANCEL for nothing gets 481; a CANCEL after the 200 gets 200 and changes nothing', async () => {
    const p = await uaPair();
    const { uas } = await establish(p);
    const invite = p.wireA.requests('INVITE')[0]!.message;
    const cancel = p.wireA.requests('INVITE')[0]!.bytes.toString('latin1').replace('INVITE sip', 'CANCEL sip').replace('1 INVITE', '1 CANCEL');
    p.wireB.inject(cancel.replace(/Content-Type[^]*$/, 'Content-Length: 0\r\n\r\n'), p.wireA.address);
    await flush();
    expect(p.wireB.responses().at(-1)!.message.status).toBe(200);
    expect(uas.state).toBe('confirmed');
    const stray = cancel.replace(branchOf(invite) as string, 'z9hG4bKnothing').replace(/Content-Type[^]*$/, 'Content-Length: 0\r\n\r\n');
    p.wireB.inject(stray, p.wireA.address);
    await flush();
    expect(p.wireB.responses().at(-1)!.message.status).toBe(481);
  });
});

describe('InviteSession: INFO, REFER, re-INVITE (RFC 3261 §14, RFC 6086, RFC 3515)', () => {
  it('INFO is answered 200 before the \'info\' listeners run; a listener that throws changes nothing', async () => {
    const p = await uaPair();
    const { uac, uas } = await establish(p);
    const order: string[] = [];
    const before = p.wireB.responses(200).length;
    uas.on('info', (req) => {
      order.push(`info ${req.body.toString()} (${p.wireB.responses(200).length - before} 200 sent)`);
      throw new Error('a listener bug must not stop the call');
    });
    const response = await uac.request('INFO', { body: Buffer.from('Signal=5\r\nDuration=160\r\n'), contentType: 'application/dtmf-relay' });
    expect(response.status).toBe(200);
    expect(order).toEqual(['info Signal=5\r\nDuration=160\r\n (1 200 sent)']);
    expect(p.wireA.requests('INFO')[0]!.message.headers.get('CSeq')).toBe('2 INFO');
    expect(uas.state).toBe('confirmed');
  });

  it('a listener that hangs up on an INFO at once: the 200 to the INFO goes out before the BYE', async () => {
    const p = await uaPair();
    const { uac, uas } = await establish(p);
    uas.on('info', () => void uas.bye());
    const ended = new Promise((resolve) => uac.on('ended', resolve));
    const response = await uac.request('INFO', { body: Buffer.from('Signal=#\r\nDuration=100\r\n'), contentType: 'application/dtmf-relay' });
    expect(response.status).toBe(200);
    expect(await ended).toBe('remote-bye');
    const sent = p.wireB.sent.map((r) => (r.message.kind === 'response' ? `${r.message.status} ${r.message.headers.get('CSeq')}` : `${r.message.method}`));
    expect(sent.slice(sent.indexOf('200 2 INFO'))).toEqual(['200 2 INFO', 'BYE']);
  });

  it('REFER is answered 202, then reaches the listeners; refer() resolves', async () => {
    const p = await uaPair();
    const { uac, uas } = await establish(p);
    const refers: string[] = [];
    uac.on('refer', (req) => refers.push(`${req.headers.get('Refer-To')} (${p.wireA.responses(202).length} 202 sent)`));
    await uas.refer('sip:agent@10.0.0.7');
    expect(refers).toEqual(['<sip:agent@10.0.0.7> (1 202 sent)']);
    expect(p.wireA.responses(202)).toHaveLength(1);
  });

  it('re-INVITE: the listener\'s answer goes in a 200, the offerer gets it back after its ACK; both SDPs updated', async () => {
    const p = await uaPair();
    const { uac, uas } = await establish(p);
    const hold = SDP_OFFER.replace('a=rtpmap:0 PCMU/8000', 'a=rtpmap:0 PCMU/8000\r\na=sendonly');
    uas.on('reinvite', (req, answer) => answer(SDP_ANSWER.replace('a=rtpmap:0 PCMU/8000', 'a=rtpmap:0 PCMU/8000\r\na=recvonly')));
    const answer = await uac.reinvite(hold);
    expect(answer).toContain('a=recvonly');
    await flush();
    expect(uas.remoteSdp).toBe(hold);
    expect(uac.remoteSdp).toBe(answer);
    const acks = p.wireA.requests('ACK');
    expect(acks.at(-1)!.message.headers.get('CSeq')).toBe('2 ACK');
    // The callee's 2xx was ACKed: no retransmissions.
    await p.run(2_000, 250);
    expect(p.wireB.responses(200).filter((r) => r.message.headers.get('CSeq') === '2 INVITE')).toHaveLength(1);
  });

  it('re-INVITE with no listener gets 488; from the callee side CSeq starts at 1', async () => {
    const p = await uaPair();
    const { uac, uas } = await establish(p);
    void uac;
    const error = await uas.reinvite(SDP_ANSWER).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SipFinalResponseError);
    expect((error as SipFinalResponseError).status).toBe(488);
    expect(uas.state).toBe('confirmed');
  });

  it('glare: both sides re-INVITE at once and each gets 491 (§14.2); a second re-INVITE while one is pending is refused', async () => {
    const p = await uaPair();
    const { uac, uas } = await establish(p);
    uac.on('reinvite', (_r, answer) => answer(SDP_OFFER));
    uas.on('reinvite', (_r, answer) => answer(SDP_ANSWER));
    const one = uac.reinvite(SDP_OFFER).catch((e: unknown) => e);
    const two = uas.reinvite(SDP_ANSWER).catch((e: unknown) => e);
    await expect(uac.reinvite(SDP_OFFER)).rejects.toBeInstanceOf(SipRequestPendingError);
    const [e1, e2] = await Promise.all([one, two]);
    expect((e1 as SipFinalResponseError).status).toBe(491);
    expect((e2 as SipFinalResponseError).status).toBe(491);
  });

  it('a request with a CSeq below the last one gets 500 (§12.2.2)', async () => {
    const p = await uaPair();
    const { uac } = await establish(p);
    await uac.request('INFO', { body: Buffer.from('x'), contentType: 'text/plain' });
    const info = p.wireA.requests('INFO')[0]!.bytes.toString('latin1').replace(/branch=[^;\r]+/, 'branch=z9hG4bKold').replace('2 INFO', '1 INFO');
    p.wireB.inject(info, p.wireA.address);
    await flush();
    expect(p.wireB.responses().at(-1)!.message.status).toBe(500);
  });

  it('a 481 to a request ends the dialog (§12.2.1.2); requests on an ended dialog reject', async () => {
    const p = await uaPair();
    const { uac, uas } = await establish(p);
    const ended = vi.fn();
    uac.on('ended', ended);
    uas.dispose(); // the callee forgets the call without a BYE
    const response = await uac.request('OPTIONS');
    expect(response.status).toBe(481);
    expect(ended).toHaveBeenCalledWith('request-failed');
    await expect(uac.request('INFO')).rejects.toBeInstanceOf(SipDialogTerminatedError);
  });
});
