import { createSocket } from 'node:dgram';
import { afterAll, describe, it, type TestContext } from 'vitest';
import type { TransportAddress } from '../../../media-server/embedded/sip/transport/sip-transport.js';
import { SourceFilter } from '../../../media-server/embedded/sip/transport/source-filter.js';
import {
  SipFinalResponseError,
  type DialogEndReason,
  type IncomingInvite,
  type InviteSession,
} from '../../../media-server/embedded/sip/user-agent/index.js';
import { killStragglers, ports, runSipp, SCENARIOS, SDP, sippAddress, startUa, type SippRun, type TestUa } from './sipp-runner.js';

// Real SIPp 3.6.1 (Debian sip-tester) against the SIP core on 127.0.0.1. Each test has its own
// ports (ports()), starts its own user agent and SIPp, and kills both when it finishes.

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function setup(t: TestContext, options: Parameters<typeof startUa>[1] = {}): Promise<{ ua: TestUa; sippPort: number; target: string }> {
  const p = ports();
  const ua = await startUa(p.ua, options);
  t.onTestFinished(() => ua.stop());
  return { ua, sippPort: p.sipp, target: `127.0.0.1:${p.ua}` };
}

function sipp(t: TestContext, args: string[], timeoutSeconds?: number): SippRun {
  const run = runSipp(args, timeoutSeconds);
  t.onTestFinished(() => {
    run.child.kill('SIGKILL');
  });
  return run;
}

/** Expects SIPp to exit 0, showing its screen when it did not. */
async function passed(t: TestContext, run: SippRun): Promise<void> {
  const code = await run.exit;
  if (code !== 0) t.expect.fail(`SIPp exited ${code}:\n${run.output().slice(-2500)}`);
}

/** Answers every INVITE (180, then 200 with SDP) and resolves with the first dialog's end reason. */
function answerAll(ua: TestUa, onDialog?: (dialog: InviteSession, invite: IncomingInvite) => void): Promise<DialogEndReason> {
  return new Promise((resolve, reject) => {
    ua.ua.on('invite', (invite) => {
      invite.progress(180);
      invite.accept({ sdp: SDP }).then((dialog) => {
        dialog.on('ended', resolve);
        onDialog?.(dialog, invite);
      }, reject);
    });
  });
}

afterAll(() => killStragglers());

// One call at a time: SIPp processes under the parallel suite's load otherwise starve each other.
describe('SIP core with SIPp', { retry: 1 }, () => {
  it('answers an inbound call with SDP; SIPp (-sn uac) hangs up with BYE', async (t) => {
    const { ua, sippPort, target } = await setup(t);
    let seen: IncomingInvite | undefined;
    const ended = answerAll(ua, (_dialog, invite) => (seen = invite));
    await passed(t, sipp(t, [target, '-sn', 'uac', '-s', 'pay', ...sippAddress(sippPort)]));
    t.expect(await ended).toBe('remote-bye');
    t.expect(seen).toMatchObject({ calledUser: 'pay', from: `sip:sipp@127.0.0.1:${sippPort}` });
    t.expect(seen?.sdp).toContain('m=audio');
    t.expect(ua.ua.dialogCount).toBe(0);
  });

  it('does the same over TCP (-t t1)', async (t) => {
    const { ua, sippPort, target } = await setup(t);
    const ended = answerAll(ua);
    await passed(t, sipp(t, [target, '-sn', 'uac', '-s', 'pay', '-t', 't1', ...sippAddress(sippPort)]));
    t.expect(await ended).toBe('remote-bye');
  });

  it('hangs up itself: our BYE goes to SIPp\'s Contact and is answered', async (t) => {
    const { ua, sippPort, target } = await setup(t);
    const byes: Promise<void>[] = [];
    const ended = answerAll(ua, (dialog) => byes.push(sleep(100).then(() => dialog.bye())));
    await passed(t, sipp(t, [target, '-sf', `${SCENARIOS}/uac-wait-bye.xml`, '-s', 'pay', ...sippAddress(sippPort)]));
    t.expect(await ended).toBe('local-bye');
    await Promise.all(byes);
  });

  it('hangs up itself over TCP: the BYE reuses SIPp\'s connection (its Contact names no transport)', async (t) => {
    const { ua, sippPort, target } = await setup(t);
    const ended = answerAll(ua, (dialog) => void sleep(100).then(() => dialog.bye()));
    await passed(t, sipp(t, [target, '-sf', `${SCENARIOS}/uac-wait-bye.xml`, '-s', 'pay', '-t', 't1', ...sippAddress(sippPort)]));
    t.expect(await ended).toBe('local-bye');
  });

  it('CANCEL before the answer: 200 to the CANCEL, 487 to the INVITE, the call layer hears cancelled', async (t) => {
    const { ua, sippPort, target } = await setup(t);
    const cancelled = new Promise<void>((resolve) =>
      ua.ua.on('invite', (invite) => {
        invite.on('cancelled', resolve);
        invite.progress(180);
      }),
    );
    await passed(t, sipp(t, [target, '-sf', `${SCENARIOS}/uac-cancel.xml`, '-s', 'pay', ...sippAddress(sippPort)]));
    await cancelled;
    t.expect(ua.ua.transactions.serverCount).toBeLessThanOrEqual(2); // the CANCEL's and INVITE's, until Timers J and I
  });

  it('retransmits the 200 while SIPp withholds its ACK, then takes the late ACK', async (t) => {
    const { ua, sippPort, target } = await setup(t);
    let oks = 0;
    const send = ua.transport.send.bind(ua.transport);
    ua.transport.send = (bytes: Buffer, to: TransportAddress) => {
      if (bytes.subarray(0, 15).toString('latin1') === 'SIP/2.0 200 OK\r' && bytes.includes('INVITE\r\n')) oks++;
      return send(bytes, to);
    };
    let acceptedAfter = 0;
    ua.ua.on('invite', (invite) => {
      const start = Date.now();
      invite.accept({ sdp: SDP }).then(async (dialog) => {
        acceptedAfter = Date.now() - start;
        await dialog.bye();
      }, t.expect.fail);
    });
    await passed(t, sipp(t, [target, '-sf', `${SCENARIOS}/uac-late-ack.xml`, '-s', 'pay', ...sippAddress(sippPort)]));
    // SIPp sends the ACK 1.8 s after the first 200: by then the 200 went at 0, 0.5 and 1.5 s (T1 doubling).
    t.expect(oks).toBe(3);
    t.expect(acceptedAfter).toBeGreaterThanOrEqual(1_700);
  });

  it('OPTIONS outside a dialog → 200 with Allow', async (t) => {
    const { sippPort, target } = await setup(t);
    await passed(t, sipp(t, [target, '-sf', `${SCENARIOS}/options.xml`, '-s', 'pay', ...sippAddress(sippPort)]));
  });

  it('an unknown method → 501', async (t) => {
    const { sippPort, target } = await setup(t);
    await passed(t, sipp(t, [target, '-sf', `${SCENARIOS}/unknown-method.xml`, '-s', 'pay', ...sippAddress(sippPort)]));
  });

  it('a source outside SIP_ALLOW → 403, counted', async (t) => {
    const { ua, sippPort, target } = await setup(t, { allow: new SourceFilter(['10.0.0.0/8']) });
    await passed(t, sipp(t, [target, '-sf', `${SCENARIOS}/options-forbidden.xml`, '-s', 'pay', ...sippAddress(sippPort)]));
    t.expect(ua.ua.counters.forbidden).toBeGreaterThanOrEqual(1);
  });

  it('INFO application/dtmf-relay reaches the dialog\'s info listener', async (t) => {
    const { ua, sippPort, target } = await setup(t);
    const infos: string[] = [];
    const ended = answerAll(ua, (dialog) => dialog.on('info', (req) => infos.push(`${req.headers.get('Content-Type')}: ${req.body.toString()}`)));
    await passed(t, sipp(t, [target, '-sf', `${SCENARIOS}/uac-info.xml`, '-s', 'pay', ...sippAddress(sippPort)]));
    t.expect(await ended).toBe('remote-bye');
    t.expect(infos).toEqual(['application/dtmf-relay: Signal=5\r\nDuration=160\r\n']);
  });

  it('calls out to SIPp -sn uas: answered, ACKed, torn down with our BYE', async (t) => {
    const { ua, sippPort } = await setup(t);
    const run = sipp(t, ['-sn', 'uas', ...sippAddress(sippPort)]);
    const outgoing = ua.ua.invite(`sip:service@127.0.0.1:${sippPort}`, { sdp: SDP, timeoutMs: 5_000 });
    const provisional: number[] = [];
    outgoing.on('provisional', (status) => provisional.push(status));
    const dialog = await outgoing.dialog;
    t.expect(provisional).toContain(180);
    t.expect(dialog.remoteSdp).toContain('m=audio');
    t.expect(dialog.remoteTarget).toBe(`sip:127.0.0.1:${sippPort};transport=UDP`);
    const ended = new Promise<DialogEndReason>((resolve) => dialog.on('ended', resolve));
    await sleep(100);
    await dialog.bye();
    t.expect(await ended).toBe('local-bye');
    await passed(t, run);
  });

  it('an outbound call SIPp answers 486: SipFinalResponseError, and SIPp gets its ACK', async (t) => {
    const { ua, sippPort } = await setup(t);
    const run = sipp(t, ['-sf', `${SCENARIOS}/uas-busy.xml`, ...sippAddress(sippPort)]);
    const error = await ua.ua.invite(`sip:service@127.0.0.1:${sippPort}`, { sdp: SDP }).dialog.catch((e: unknown) => e);
    t.expect(error).toBeInstanceOf(SipFinalResponseError);
    t.expect((error as SipFinalResponseError).status).toBe(486);
    await passed(t, run);
  });

  it('takes a re-INVITE from SIPp (hold): the listener\'s answer goes back in the 200', async (t) => {
    const { ua, sippPort, target } = await setup(t);
    const offers: string[] = [];
    const ended = answerAll(ua, (dialog) =>
      dialog.on('reinvite', (req, answer) => {
        offers.push(req.body.toString());
        answer(SDP.replace('o=ivr 1 1', 'o=ivr 1 2').concat('a=recvonly\r\n'));
      }),
    );
    await passed(t, sipp(t, [target, '-sf', `${SCENARIOS}/uac-reinvite.xml`, '-s', 'pay', ...sippAddress(sippPort)]));
    t.expect(await ended).toBe('remote-bye');
    t.expect(offers).toHaveLength(1);
    t.expect(offers[0]).toContain('a=sendonly');
  });

  it('sends a re-INVITE to SIPp and gets its answer', async (t) => {
    const { ua, sippPort } = await setup(t);
    const run = sipp(t, ['-sf', `${SCENARIOS}/uas-reinvite.xml`, ...sippAddress(sippPort)]);
    const dialog = await ua.ua.invite(`sip:service@127.0.0.1:${sippPort}`, { sdp: SDP }).dialog;
    const answer = await dialog.reinvite(SDP.replace('o=ivr 1 1', 'o=ivr 1 2').concat('a=sendonly\r\n'));
    t.expect(answer).toContain('a=recvonly');
    t.expect(dialog.remoteSdp).toBe(answer);
    await dialog.bye();
    await passed(t, run);
  });

  it('2,000 malformed datagrams during a call: answered 400 or dropped, counted; the call and the next one are unharmed', async (t) => {
    const { ua, sippPort, target } = await setup(t);
    const reasons: DialogEndReason[] = [];
    const answered = new Promise<void>((resolve) =>
      ua.ua.on('invite', (invite) => {
        invite.accept({ sdp: SDP }).then((dialog) => {
          dialog.on('ended', (reason) => reasons.push(reason));
          resolve();
        }, t.expect.fail);
      }),
    );
    const call = sipp(t, [target, '-sn', 'uac', '-s', 'pay', '-d', '2500', ...sippAddress(sippPort)]);
    await answered;

    const socket = createSocket('udp4');
    t.onTestFinished(() => {
      socket.close();
    });
    let replies = 0;
    socket.on('message', (msg) => {
      if (msg.toString('latin1').startsWith('SIP/2.0 400 ')) replies++;
    });
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    const { port } = socket.address();
    const answerable = (i: number) =>
      [
        `OPTIONS sip:pay@${target} SIP/2.0`,
        `Via: SIP/2.0/UDP 127.0.0.1:${port};branch=z9hG4bK-bad-${i}`,
        `From: <sip:fuzz@127.0.0.1>;tag=f${i}`,
        `To: <sip:pay@${target}>`,
        `Call-ID: fuzz-${i}`,
        'CSeq: 1 OPTIONS',
        'Max-Forwards: many',
        '',
        '',
      ].join('\r\n');
    const garbage = (i: number) => (i % 4 === 1 ? Buffer.from([0x00, 0xff, i & 0xff, 0x0d, 0x0a]) : Buffer.from(`SIP/2.0 999 ${i}\r\n\r\n`));
    const uaPort = ua.port;
    for (let i = 0; i < 2_000; i++) {
      const bytes = i % 2 === 0 ? Buffer.from(answerable(i)) : garbage(i);
      socket.send(bytes, uaPort, '127.0.0.1');
      if (i % 200 === 199) await sleep(5);
    }
    await passed(t, call);
    t.expect(reasons).toEqual(['remote-bye']);
    const counters = ua.ua.counters;
    t.expect(counters.malformed).toBe(2_000);
    t.expect(counters.answered400).toBe(1_000);
    t.expect(counters.dropped).toBe(1_000);
    t.expect(replies).toBeGreaterThan(900);

    // The next call is served as if nothing had happened.
    const next = sipp(t, [target, '-sn', 'uac', '-s', 'pay', ...sippAddress(sippPort)]);
    await passed(t, next);
  });
});
