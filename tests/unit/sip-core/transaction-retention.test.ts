import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { createSipResponse } from '../../../media-server/embedded/sip/message/index.js';
import { TransactionLayer } from '../../../media-server/embedded/sip/transaction/index.js';
import type { TransportAddress } from '../../../media-server/embedded/sip/transport/sip-transport.js';
import { FakeClock } from './fake-clock.js';
import { flush, MemoryTransport } from './memory-wire.js';
import { incoming, requestText, SDP_ANSWER, SDP_OFFER } from './sip-builders.js';
import { uaPair } from './ua-harness.js';

// A server transaction lives 64·T1 (32 s over UDP) after its final response, to
// answer retransmissions. Found by the SIP fuzzer: each one held its whole
// request — up to 64 KiB a datagram — for that long, so 10,000 fuzzed messages
// in a few seconds grew the process by ~100 MiB. Now only the response and a
// compact copy of the request stay. The checks use the garbage collector itself.

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Whether the object behind `ref` is gone once nothing but the transaction layer could hold it. */
async function collected(ref: WeakRef<object>): Promise<boolean> {
  // A WeakRef target stays alive until the end of the job that last read it.
  await new Promise((resolve) => setImmediate(resolve));
  gc();
  await new Promise((resolve) => setImmediate(resolve));
  gc();
  return ref.deref() === undefined;
}

const PAD = `X-Pad: ${'p'.repeat(30_000)}`;
const CALLER: TransportAddress = { protocol: 'udp', address: '127.0.0.1', port: 5070 };

describe('what a server transaction keeps after its final response', () => {
  it('non-INVITE: the response and a compact request (start line, Via, From, To, Call-ID, CSeq), no body', async () => {
    const clock = new FakeClock();
    const wire = new MemoryTransport({ protocol: 'udp', address: '127.0.0.1', port: 5080 }, clock);
    const layer = new TransactionLayer({ send: (b, to) => wire.send(b, to), clock });
    let request: ReturnType<typeof incoming> | undefined = incoming({
      method: 'INFO',
      branch: 'z9hG4bK-big',
      extra: [PAD],
      body: 'Signal=5\r\nDuration=160\r\n',
      contentType: 'application/dtmf-relay',
    });
    const original = new WeakRef(request.message);
    const tx = layer.createServer(request);
    request = undefined;
    expect(tx.request.message.headers.has('X-Pad')).toBe(true);

    tx.respond(createSipResponse(tx.request.message, 200, { toTag: 'uas' }));
    expect(await collected(original)).toBe(true);
    const kept = tx.request.message;
    expect([...kept.headers].map((h) => h.name)).toEqual(['Via', 'From', 'To', 'Call-ID', 'CSeq']);
    expect(kept.body.length).toBe(0);
    expect(`${kept.method} ${kept.uri}`).toBe('INFO sip:pay@127.0.0.1:5080');

    // RFC 3261 §17.2.2: a retransmission in Completed still gets the same final response.
    expect(layer.receiveRequest(incoming({ method: 'INFO', branch: 'z9hG4bK-big' }))).toBe(true);
    expect(wire.sent).toHaveLength(2);
    expect(wire.sent[1]!.bytes.equals(wire.sent[0]!.bytes)).toBe(true);
    expect(layer.serverCount).toBe(1);
  });

  it('INVITE refused by the application: neither the transaction nor the user agent holds it until Timer H', async () => {
    const p = await uaPair();
    let invite: WeakRef<object> | undefined;
    let message: WeakRef<object> | undefined;
    p.b.on('invite', (incomingInvite) => {
      invite = new WeakRef(incomingInvite);
      message = new WeakRef(incomingInvite.request);
      incomingInvite.reject(404);
    });
    p.wireB.inject(requestText({ method: 'INVITE', branch: 'z9hG4bK-inv', extra: [PAD], body: SDP_OFFER }), CALLER);
    await flush();
    const answered = p.wireB.sent.map((r) => (r.message.kind === 'response' ? r.message.status : 0));
    expect(answered).toEqual([100, 404]);
    expect(p.b.transactions.serverCount).toBe(1);
    expect(await collected(invite!)).toBe(true);
    expect(await collected(message!)).toBe(true);

    // The 404 is still retransmitted on Timer G, and a late CANCEL's 200 carries the 404's To tag (§9.2).
    await p.run(600);
    expect(p.wireB.sent.filter((r) => r.message.kind === 'response' && r.message.status === 404).length).toBeGreaterThan(1);
    const tagOf = (to: string | undefined): string | undefined => /;tag=([^;]+)/.exec(to ?? '')?.[1];
    const rejectedTag = tagOf(p.wireB.sent.find((r) => r.message.kind === 'response' && r.message.status === 404)?.message.headers.get('To'));
    p.wireB.inject(requestText({ method: 'CANCEL', branch: 'z9hG4bK-inv' }), CALLER);
    await flush();
    const cancelAnswer = p.wireB.sent.at(-1)!.message;
    expect(cancelAnswer.kind === 'response' && cancelAnswer.status).toBe(200);
    expect(tagOf(cancelAnswer.headers.get('To'))).toBe(rejectedTag);
  });
});

describe('the cap on live server transactions', () => {
  it('beyond it a new request outside a dialog gets a stateless 503 with Retry-After; the call in progress is still served', async () => {
    const p = await uaPair({ maxServerTransactions: 3 });
    let accepted!: Promise<unknown>;
    p.b.once('invite', (invite) => (accepted = invite.accept({ sdp: SDP_ANSWER })));
    const outgoing = p.a.invite('sip:pay@127.0.0.1:5080', { sdp: SDP_OFFER });
    await flush();
    const [uac] = await Promise.all([outgoing.dialog, accepted]);
    // The INVITE's transaction lives on for Timer L: one of three.

    const stranger: TransportAddress = { protocol: 'udp', address: '127.0.0.1', port: 6000 };
    for (let i = 0; i < 5; i++) {
      p.wireB.inject(requestText({ method: 'OPTIONS', branch: `z9hG4bK-flood-${i}`, callId: `flood-${i}`, sentBy: '127.0.0.1:6000' }), stranger);
      await flush();
    }
    const answers = p.wireB.sent.filter((r) => r.to.port === 6000).map((r) => r.message);
    expect(answers.map((m) => (m.kind === 'response' ? m.status : 0))).toEqual([200, 200, 503, 503, 503]);
    expect(answers[2]!.headers.get('Retry-After')).toBe('5');
    expect(p.b.counters.overloaded).toBe(3);
    expect(p.b.transactions.serverCount).toBe(3);

    // A key press in the call still gets its 200.
    const info = await uac.request('INFO', { body: Buffer.from('Signal=5\r\nDuration=160\r\n'), contentType: 'application/dtmf-relay' });
    expect(info.status).toBe(200);

    // Once the transactions have ended (Timer J and L, 64·T1), new requests are served again.
    await p.run(33_000, 1_000);
    p.wireB.inject(requestText({ method: 'OPTIONS', branch: 'z9hG4bK-after', callId: 'after', sentBy: '127.0.0.1:6000' }), stranger);
    await flush();
    const last = p.wireB.sent.at(-1)!.message;
    expect(last.kind === 'response' && last.status).toBe(200);
  });
});
