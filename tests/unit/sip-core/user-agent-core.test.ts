import { describe, expect, it, vi } from 'vitest';
import { SourceFilter } from '../../../media-server/embedded/sip/transport/source-filter.js';
import type { TransportAddress } from '../../../media-server/embedded/sip/transport/sip-transport.js';
import { SipDialogTerminatedError, SipUserAgentStoppedError, type InviteSession } from '../../../media-server/embedded/sip/user-agent/index.js';
import { requestText, SDP_ANSWER, SDP_OFFER, type RequestSpec } from './sip-builders.js';
import { flush, uaPair, type UaPair } from './ua-harness.js';

const CALLER: TransportAddress = { protocol: 'udp', address: '127.0.0.1', port: 5070 };

/** Sends raw text to b and returns b's last response. */
async function ask(p: UaPair, spec: RequestSpec | string, source: TransportAddress = CALLER) {
  const before = p.wireB.sent.length;
  p.wireB.inject(typeof spec === 'string' ? spec : requestText(spec), source);
  await flush();
  const sent = p.wireB.sent.slice(before);
  return { sent, last: sent.at(-1) };
}

describe('SipUserAgent core answers (RFC 3261 §8.2, §11, §12.2.2)', () => {
  it('OPTIONS outside a dialog → 200 with Allow and Accept; retransmission → the same 200 from the transaction', async () => {
    const p = await uaPair({ userAgent: 'payment-ivr/test' });
    const { last } = await ask(p, { method: 'OPTIONS', branch: 'z9hG4bK-opt' });
    expect(last?.message.kind === 'response' && last.message.status).toBe(200);
    expect(last?.message.headers.getLines('Allow')).toEqual(['INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, REFER, NOTIFY']);
    expect(last?.message.headers.get('Accept')).toBe('application/sdp');
    expect(last?.message.headers.get('Server')).toBe('payment-ivr/test');
    expect(last?.message.headers.get('To')).toMatch(/;tag=/);
    const again = await ask(p, { method: 'OPTIONS', branch: 'z9hG4bK-opt' });
    expect(again.last?.bytes.equals(last!.bytes)).toBe(true);
  });

  it.each([
    ['an unknown method', 501, { method: 'FROBNICATE' }],
    ['a known method we do not do', 405, { method: 'SUBSCRIBE' }],
    ['BYE for an unknown dialog', 481, { method: 'BYE', toTag: 'nope' }],
    ['BYE without a To tag', 481, { method: 'BYE' }],
    ['INFO for an unknown dialog', 481, { method: 'INFO', toTag: 'gone' }],
    ['a re-INVITE for an unknown dialog', 481, { method: 'INVITE', toTag: 'gone', body: SDP_OFFER }],
    ['Max-Forwards 0', 483, { method: 'OPTIONS', maxForwards: '0' }],
    ['a Require we do not support', 420, { method: 'OPTIONS', extra: ['Require: 100rel'] }],
    ['a tel: Request-URI', 416, { method: 'OPTIONS', uri: 'tel:+441234567890' }],
    ['an INVITE with a body that is not SDP', 415, { method: 'INVITE', body: 'hello', contentType: 'text/plain' }],
  ] as const)('%s → %i', async (_name, status, spec) => {
    const p = await uaPair();
    const { last } = await ask(p, spec);
    expect(last?.message.kind === 'response' && last.message.status).toBe(status);
    if (status === 405) expect(last?.message.headers.getAll('Allow')).toContain('INVITE');
    if (status === 420) expect(last?.message.headers.get('Unsupported')).toBe('100rel');
  });

  it('an ACK for nothing is silently dropped', async () => {
    const p = await uaPair();
    const { sent } = await ask(p, { method: 'ACK', toTag: 'x' });
    expect(sent).toHaveLength(0);
  });

  it('setAcceptingCalls(false) → new INVITEs and OPTIONS get 503; calls in progress go on', async () => {
    const p = await uaPair();
    const invites = vi.fn();
    p.b.on('invite', invites);
    p.b.setAcceptingCalls(false);
    const { last } = await ask(p, { method: 'INVITE', body: SDP_OFFER });
    expect(last?.message.kind === 'response' && last.message.status).toBe(503);
    expect(invites).not.toHaveBeenCalled();
    // A proxy's OPTIONS probe hears the same, and stops sending new calls here.
    const probe = await ask(p, { method: 'OPTIONS', branch: 'z9hG4bK-probe', callId: 'probe' });
    expect(probe.last?.message.kind === 'response' && probe.last.message.status).toBe(503);
    p.b.setAcceptingCalls(true);
    await ask(p, { method: 'INVITE', body: SDP_OFFER, branch: 'z9hG4bK-2', callId: 'two' });
    expect(invites).toHaveBeenCalledOnce();
  });

  it('an INVITE nobody listens for gets 480; one whose listener throws still gets answered by the listener before it', async () => {
    const p = await uaPair();
    const { last } = await ask(p, { method: 'INVITE', body: SDP_OFFER });
    expect(last?.message.kind === 'response' && last.message.status).toBe(480);
    p.b.on('invite', (inv) => inv.reject(486));
    p.b.on('invite', () => {
      throw new Error('listener bug');
    });
    const second = await ask(p, { method: 'INVITE', body: SDP_OFFER, branch: 'z9hG4bK-2', callId: 'two' });
    expect(second.last?.message.kind === 'response' && second.last.message.status).toBe(486);
  });

  it('a merged request (same Call-ID, From tag, CSeq, other branch) gets 482 (§8.2.2.2)', async () => {
    const p = await uaPair();
    p.b.on('invite', () => undefined);
    await ask(p, { method: 'INVITE', body: SDP_OFFER, branch: 'z9hG4bK-path1' });
    const { last } = await ask(p, { method: 'INVITE', body: SDP_OFFER, branch: 'z9hG4bK-path2' });
    expect(last?.message.kind === 'response' && last.message.status).toBe(482);
  });

  it('INFOs a SIPp loop sends on one Via branch with CSeq 2, 3, 4: each reaches the dialog once and gets its own 200; counted', async () => {
    const p = await uaPair();
    let accepted!: Promise<InviteSession>;
    p.b.on('invite', (inv) => (accepted = inv.accept({ sdp: SDP_ANSWER })));
    const { last: ok } = await ask(p, { method: 'INVITE', body: SDP_OFFER, branch: 'z9hG4bK-1234-1-0' });
    expect(ok?.message.kind === 'response' && ok.message.status).toBe(200);
    const toTag = /;tag=([^;]+)/.exec(ok?.message.headers.get('To') ?? '')?.[1] ?? '';
    await ask(p, { method: 'ACK', branch: 'z9hG4bK-1234-1-5', toTag });
    const uas = await accepted;
    const keys: string[] = [];
    uas.on('info', (request) => keys.push(request.body.toString()));
    const info = (cseq: number, key: string): RequestSpec => ({
      method: 'INFO',
      branch: 'z9hG4bK-1234-1-7',
      toTag,
      cseq,
      body: `Signal=${key}\r\nDuration=160\r\n`,
      contentType: 'application/dtmf-relay',
    });
    const answers: string[] = [];
    for (const [cseq, key] of [[2, '4'], [3, '2'], [4, '4']] as const) {
      const { last } = await ask(p, info(cseq, key));
      answers.push(`${last?.message.kind === 'response' && last.message.status} ${last?.message.headers.get('CSeq')}`);
    }
    // A retransmission of the last one is still absorbed by its transaction and answered again.
    const again = await ask(p, info(4, '4'));
    expect(again.sent.map((r) => r.message.kind === 'response' && r.message.headers.get('CSeq'))).toEqual(['4 INFO']);
    expect(answers).toEqual(['200 2 INFO', '200 3 INFO', '200 4 INFO']);
    expect(keys.map((body) => /Signal=(.)/.exec(body)?.[1])).toEqual(['4', '2', '4']);
    expect(p.b.counters.branchReused).toBe(2);
  });

  it('an INVITE without Contact gets 400', async () => {
    const p = await uaPair();
    p.b.on('invite', () => undefined);
    const { last } = await ask(p, requestText({ method: 'INVITE' }).replace('Contact: <sip:sipp@127.0.0.1:5070>\r\n', ''));
    expect(last?.message.kind === 'response' && [last.message.status, last.message.reason]).toEqual([400, 'Bad Request (Contact)']);
  });
});

describe('SipUserAgent: bad input and strangers', () => {
  it('a malformed request with readable Via/From/To/Call-ID/CSeq gets 400 naming the fault; counted', async () => {
    const p = await uaPair();
    const bad = requestText({ method: 'OPTIONS', maxForwards: 'lots' });
    const { last } = await ask(p, bad);
    expect(last?.message.kind === 'response' && [last.message.status, last.message.reason]).toEqual([
      400,
      'Bad Request (invalid-header-value: Max-Forwards)',
    ]);
    expect(p.b.counters).toMatchObject({ received: 1, malformed: 1, answered400: 1, dropped: 0 });
  });

  it('another SIP version gets 505', async () => {
    const p = await uaPair();
    const { last } = await ask(p, requestText({ method: 'OPTIONS' }).replace('SIP/2.0\r\n', 'SIP/3.0\r\n'));
    expect(last?.message.kind === 'response' && last.message.status).toBe(505);
  });

  it('unanswerable garbage is dropped, counted and reported; nothing is sent', async () => {
    const p = await uaPair();
    const dropped = vi.fn();
    p.b.on('dropped', dropped);
    const { sent } = await ask(p, 'GARBAGE\x00\x01\x02\r\n\r\n');
    await ask(p, requestText({ method: 'ACK' }).replace('CSeq: 1 ACK', 'CSeq: one ACK'));
    expect(sent).toHaveLength(0);
    expect(p.wireB.sent).toHaveLength(0);
    expect(p.b.counters).toMatchObject({ received: 2, malformed: 2, answered400: 0, dropped: 2 });
    expect(dropped.mock.calls.map(([reason]) => reason)).toEqual(['nul-byte', 'invalid-cseq']);
  });

  it('a source outside SIP_ALLOW gets 403 without a Server line; its garbage and responses get nothing', async () => {
    const p = await uaPair({ allow: new SourceFilter(['127.0.0.0/8']), userAgent: 'payment-ivr/test' });
    const stranger: TransportAddress = { protocol: 'udp', address: '192.0.2.10', port: 5060 };
    const invites = vi.fn();
    p.b.on('invite', invites);
    const { last } = await ask(p, { method: 'INVITE', body: SDP_OFFER, sentBy: '192.0.2.10:5060' }, stranger);
    expect(last?.message.kind === 'response' && last.message.status).toBe(403);
    expect(last?.to).toEqual(stranger);
    expect(last?.message.headers.has('Server')).toBe(false);
    expect(last?.message.headers.has('User-Agent')).toBe(false);
    const garbage = await ask(p, 'junk\r\n\r\n', stranger);
    expect(garbage.sent).toHaveLength(0);
    expect(invites).not.toHaveBeenCalled();
    expect(p.b.counters).toMatchObject({ received: 2, forbidden: 2 });
  });

  it('malformed traffic in the middle of a call leaves the call alone', async () => {
    const p = await uaPair();
    let accepted!: Promise<InviteSession>;
    p.b.on('invite', (inv) => (accepted = inv.accept({ sdp: SDP_ANSWER })));
    const uac = await p.a.invite('sip:pay@127.0.0.1:5080', { sdp: SDP_OFFER }).dialog;
    const uas = await accepted;
    for (let i = 0; i < 200; i++) {
      p.wireB.inject(i % 2 ? 'INVITE sip:x SIP/2.0\r\nVia: nonsense\r\n\r\n' : Buffer.from([0xff, 0xfe, i]), CALLER);
    }
    const infos = vi.fn();
    uas.on('info', infos);
    const response = await uac.request('INFO', { body: Buffer.from('Signal=1\r\n'), contentType: 'application/dtmf-relay' });
    expect(response.status).toBe(200);
    expect(infos).toHaveBeenCalledOnce();
    expect(p.b.counters.malformed).toBe(200);
  });
});

describe('SipUserAgent.stop()', () => {
  it('rejects pending accept() and invite(), clears every timer, and stops listening', async () => {
    const p = await uaPair();
    p.wireA.drop = (m) => m.kind === 'request' && m.method === 'ACK';
    let accepted!: Promise<InviteSession>;
    p.b.on('invite', (inv) => (accepted = inv.accept({ sdp: SDP_ANSWER })));
    await p.a.invite('sip:pay@127.0.0.1:5080', { sdp: SDP_OFFER }).dialog;
    const hanging = p.a.invite('sip:pay@127.0.0.1:5080', { sdp: SDP_OFFER });
    p.b.removeAllListeners('invite');
    p.b.on('invite', () => undefined);
    await flush();
    await p.b.stop();
    await p.a.stop();
    await expect(accepted).rejects.toBeInstanceOf(SipDialogTerminatedError);
    await expect(hanging.dialog).rejects.toBeInstanceOf(SipUserAgentStoppedError);
    expect(p.clock.pending).toBe(0);
    p.wireB.inject(requestText({ method: 'OPTIONS' }), CALLER);
    expect(p.b.counters.received).toBe(2);
  });
});
