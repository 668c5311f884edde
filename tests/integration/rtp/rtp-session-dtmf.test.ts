import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, vi, type TestContext } from 'vitest';
import { PCMU } from '../../../media-server/embedded/media/g711.js';
import { RtpPacket } from '../../../media-server/embedded/media/rtp-packet.js';
import { MediaBridge } from '../../../media-server/embedded/rtp/media-bridge.js';
import { MediaClock } from '../../../media-server/embedded/rtp/media-clock.js';
import { RtpSession, type SessionDtmfEvent } from '../../../media-server/embedded/rtp/rtp-session.js';
import { readPcapUdp, type UdpDatagram } from '../../../tools/capture/pcap-reader.js';
import { detectKeys, keySequence, probeHits, speechLike } from '../../unit/rtp/signals.js';
import { closeAll, negotiated, RtpPhone, sleep, testAllocator } from './rtp-phone.js';

// RFC 4733 as SIPp really sends it: Debian sip-tester's pcaps (read in place)
// and our capture of SIPp 3.6.1 play_dtmf (tests/fixtures/media/README.md).
const SIPP_PCAPS = '/usr/share/sip-tester';
const SIPP_PLAY_DTMF = join(import.meta.dirname, '../../fixtures/media/sipp-play-dtmf.pcap');
const DEBIAN: readonly (readonly [string, string])[] = [
  ...['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'].map((d) => [`dtmf_2833_${d}.pcap`, d] as const),
  ['dtmf_2833_star.pcap', '*'],
  ['dtmf_2833_pound.pcap', '#'],
];

const allocator = testAllocator();
const clock = new MediaClock();

async function bridged(t: TestContext, callerEventPt: number): Promise<{
  caller: RtpSession;
  agent: RtpSession;
  callerPhone: RtpPhone;
  agentPhone: RtpPhone;
  events: SessionDtmfEvent[];
}> {
  const callerPhone = await RtpPhone.open();
  const agentPhone = await RtpPhone.open();
  const caller = await RtpSession.open({ allocator, clock, maskMode: 'tone' });
  const agent = await RtpSession.open({ allocator, clock, maskMode: 'tone' });
  t.onTestFinished(() => closeAll(callerPhone, agentPhone, caller, agent));
  caller.setRemote(negotiated(callerPhone.port, 'PCMU', callerEventPt));
  agent.setRemote(negotiated(agentPhone.port, 'PCMU', 101));
  new MediaBridge(caller, agent);
  const events: SessionDtmfEvent[] = [];
  caller.on('dtmf', (e) => events.push(e));
  return { caller, agent, callerPhone, agentPhone, events };
}

describe.concurrent('RtpSession DTMF from real SIPp captures', () => {
  it("Debian's twelve RFC 2833 pcaps: each key once, method rfc4733, nothing of them reaches the agent", async (t) => {
    const { expect } = t;
    const c = await bridged(t, 101);
    c.caller.setDtmfMasking(true);
    for (const [file] of DEBIAN) {
      await c.callerPhone.replay(c.caller.localPort, readPcapUdp(readFileSync(join(SIPP_PCAPS, file))));
      await sleep(30);
    }
    await sleep(100);
    expect(c.events.map((e) => e.key)).toEqual(DEBIAN.map(([, key]) => key));
    expect(c.events.every((e) => e.method === 'rfc4733')).toBe(true);
    // Every pcap has the same SSRC and timestamp: the event code tells the presses apart.
    expect(c.caller.stats()).toMatchObject({ eventPackets: 12 * 10, undeclaredPayloadType: 0, malformed: 0 });
    expect(new Set(c.agentPhone.received.map((r) => r.packet.payloadType))).toEqual(new Set([0]));
    expect(detectKeys(c.agentPhone.audio(PCMU))).toEqual([]);
  });

  it('SIPp 3.6.1 play_dtmf: 1, 2, # then 5 across a new SSRC; the undeclared PT 97 filler is counted and ignored', async (t) => {
    const { expect } = t;
    const c = await bridged(t, 96);
    const datagrams = readPcapUdp(readFileSync(SIPP_PLAY_DTMF));
    const filler = datagrams.filter((d) => RtpPacket.parse(d.payload).payloadType === 97).length;
    await c.callerPhone.replay(c.caller.localPort, datagrams);
    await sleep(100);
    expect(c.events.map((e) => [e.key, e.method])).toEqual([
      ['1', 'rfc4733'],
      ['2', 'rfc4733'],
      ['#', 'rfc4733'],
      ['5', 'rfc4733'],
    ]);
    expect(filler).toBeGreaterThan(0);
    expect(c.caller.stats().undeclaredPayloadType).toBe(filler);
    expect(c.agentPhone.received.every((r) => r.packet.payloadType === 0)).toBe(true);
  });

  it('a press sent as RFC 4733 and in-band tone at once is one event (rfc4733); masking hides the tone', async (t) => {
    const { expect } = t;
    const c = await bridged(t, 101);
    c.caller.setDtmfMasking(true);
    const pcap: UdpDatagram[] = readPcapUdp(readFileSync(join(SIPP_PCAPS, 'dtmf_2833_5.pcap')));
    // 280 ms of key 5 in the audio, starting 100 ms in, while the events are replayed from 100 ms.
    const audio = keySequence('5', { toneMs: 280, leadMs: 100, tailMs: 300 }).pcm;
    await Promise.all([c.callerPhone.stream(c.caller.localPort, audio, { codec: PCMU }), sleep(100).then(() => c.callerPhone.replay(c.caller.localPort, pcap))]);
    // The tone is heard once the media clock has played it out; a loaded machine may take a while.
    await vi.waitFor(() => expect(c.caller.stats().dtmfDuplicates).toBe(1), { timeout: 5000, interval: 50 });
    expect(c.events.map((e) => [e.key, e.method])).toEqual([['5', 'rfc4733']]);
    expect(detectKeys(c.agentPhone.audio(PCMU))).toEqual([]);
    expect(probeHits(c.agentPhone.audio(PCMU))).toEqual([]);
  });

  it('an INFO digit and the RFC 4733 event of the same press count once; a later INFO press counts', async (t) => {
    const { expect } = t;
    const c = await bridged(t, 101);
    await c.callerPhone.replay(c.caller.localPort, readPcapUdp(readFileSync(join(SIPP_PCAPS, 'dtmf_2833_pound.pcap'))));
    c.caller.reportDtmf('#', 'info', 280);
    await sleep(400);
    c.caller.reportDtmf('#', 'info', 250);
    expect(c.events.map((e) => [e.key, e.method])).toEqual([
      ['#', 'rfc4733'],
      ['#', 'info'],
    ]);
    expect(c.events[1]?.durationMs).toBe(250);
  });

  it('barge-in: the first key stops a play started with bargeIn, and is still reported', async (t) => {
    const { expect } = t;
    const c = await bridged(t, 101);
    const play = c.caller.play([{ silenceMs: 5000 }], { bargeIn: true });
    const plain = c.agent.play([{ silenceMs: 200 }]);
    await sleep(60);
    await c.callerPhone.replay(c.caller.localPort, readPcapUdp(readFileSync(join(SIPP_PCAPS, 'dtmf_2833_9.pcap'))).slice(0, 2));
    await expect(play).resolves.toBe('stopped');
    expect(c.events.map((e) => e.key)).toEqual(['9']);
    await expect(plain).resolves.toBe('completed');
  });

  it('detects in-band keys on a leg that is not bridged, over speech', async (t) => {
    const { expect } = t;
    const phone = await RtpPhone.open();
    const session = await RtpSession.open({ allocator, clock, maskMode: 'silence' });
    t.onTestFinished(() => closeAll(phone, session));
    session.setRemote(negotiated(phone.port, 'PCMU', undefined));
    const keys: string[] = [];
    session.on('dtmf', (e) => keys.push(`${e.key}:${e.method}`));
    const { pcm } = keySequence('0#', { toneMs: 60, gapMs: 60, background: (n) => speechLike(n, 12) });
    await phone.stream(session.localPort, pcm, { codec: PCMU });
    await sleep(150);
    expect(keys).toEqual(['0:inband', '#:inband']);
  });
});
