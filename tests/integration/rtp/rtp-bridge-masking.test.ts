import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'vitest';
import { PCMA, PCMU } from '../../../media-server/embedded/media/g711.js';
import { readWavFile } from '../../../media-server/embedded/media/wav-reader.js';
import type { RecordingSidecar } from '../../../media-server/embedded/rtp/call-recorder.js';
import { MediaBridge } from '../../../media-server/embedded/rtp/media-bridge.js';
import { MediaClock } from '../../../media-server/embedded/rtp/media-clock.js';
import { RtpSession, type SessionDtmfEvent } from '../../../media-server/embedded/rtp/rtp-session.js';
import { detectKeys, keySequence, probeHits, rms, speechLike } from '../../unit/rtp/signals.js';
import { closeAll, intervals, negotiated, RtpPhone, sleep, streamErrors, testAllocator } from './rtp-phone.js';

// Two sessions bridged on loopback, as the IVR bridges a caller and an agent;
// plain UDP sockets play the two phones. The caller keys a card number
// in-band between stretches of speech.

const CARD = '411111';
const allocator = testAllocator();
const clock = new MediaClock();

interface Call {
  readonly caller: RtpSession;
  readonly agent: RtpSession;
  readonly callerPhone: RtpPhone;
  readonly agentPhone: RtpPhone;
  readonly events: SessionDtmfEvent[];
}

async function call(t: TestContext, maskMode: 'silence' | 'tone' = 'tone'): Promise<Call> {
  const callerPhone = await RtpPhone.open();
  const agentPhone = await RtpPhone.open();
  const caller = await RtpSession.open({ allocator, clock, maskMode });
  const agent = await RtpSession.open({ allocator, clock, maskMode });
  t.onTestFinished(() => closeAll(callerPhone, agentPhone, caller, agent));
  caller.setRemote(negotiated(callerPhone.port, 'PCMU', 101));
  // The agent's leg negotiated A-law: the bridge transcodes.
  agent.setRemote(negotiated(agentPhone.port, 'PCMA', 96));
  new MediaBridge(caller, agent);
  const events: SessionDtmfEvent[] = [];
  caller.on('dtmf', (e) => events.push(e));
  return { caller, agent, callerPhone, agentPhone, events };
}

/** Speech, the card number keyed (70 ms tones, 70 ms gaps), speech. */
function callerAudio(): { pcm: Int16Array; speechEnd: number; keysEnd: number } {
  const keyed = keySequence(CARD, { toneMs: 60, gapMs: 60, leadMs: 0, tailMs: 0 }).pcm;
  const speech = speechLike(8000 * 0.4, 11);
  const pcm = new Int16Array(speech.length * 2 + keyed.length);
  pcm.set(speech, 0);
  pcm.set(keyed, speech.length);
  pcm.set(speech, speech.length + keyed.length);
  return { pcm, speechEnd: speech.length, keysEnd: speech.length + keyed.length };
}

describe.concurrent('two bridged RtpSessions on loopback', () => {
  it('masking on: the agent gets the speech, no DTMF and no event packet; the keys arrive once, in-band', async (t) => {
    const { expect } = t;
    const c = await call(t, 'tone');
    c.caller.setDtmfMasking(true);
    const { pcm } = callerAudio();
    await c.callerPhone.stream(c.caller.localPort, pcm, { codec: PCMU });
    await sleep(200);

    expect(c.events.map((e) => e.key).join('')).toBe(CARD);
    expect(c.events.every((e) => e.method === 'inband')).toBe(true);

    const received = c.agentPhone.received;
    expect(received.length).toBeGreaterThan(60);
    // Only A-law audio went to the agent: no telephone-event, nothing else.
    expect(new Set(received.map((r) => r.packet.payloadType))).toEqual(new Set([8]));
    expect(received[0]?.packet.marker).toBe(true);
    expect(streamErrors(received)).toEqual([]);
    // Paced, not bursted: spread over real time at 20 ms (how tight the pacing is under load is the benchmark's business).
    const gaps = intervals(received);
    expect(received.at(-1)!.at - received[0]!.at).toBeGreaterThan(0.9 * 20 * gaps.length);
    expect([...gaps].sort((a, b) => a - b)[gaps.length >> 1]).toBeGreaterThan(15);

    const heard = c.agentPhone.audio(PCMA, 8);
    expect(detectKeys(heard)).toEqual([]);
    expect(probeHits(heard)).toEqual([]);
    // The speech did arrive: several 100 ms stretches as loud as the speech sent.
    const sentLevel = rms(speechLike(8000 * 0.4, 11));
    let loud = 0;
    for (let at = 0; at + 800 <= heard.length; at += 800) if (rms(heard, at, at + 800) > sentLevel / 3) loud++;
    expect(loud).toBeGreaterThanOrEqual(4);
    expect(c.caller.stats().maskedSamples).toBeGreaterThan(CARD.length * 60 * 8);
  });

  it('masking off: the in-band tones pass to the agent', async (t) => {
    const { expect } = t;
    const c = await call(t, 'tone');
    const { pcm } = callerAudio();
    await c.callerPhone.stream(c.caller.localPort, pcm, { codec: PCMU });
    await sleep(200);
    expect(c.events.map((e) => e.key).join('')).toBe(CARD);
    expect(detectKeys(c.agentPhone.audio(PCMA, 8)).join('')).toBe(CARD);
    expect(c.caller.stats().maskedSamples).toBe(0);
  });

  it('mute: the agent hears nothing of the caller, and the caller still hears the agent', async (t) => {
    const { expect } = t;
    const c = await call(t, 'silence');
    c.caller.setMuted(true);
    await Promise.all([
      c.callerPhone.stream(c.caller.localPort, speechLike(8000 * 0.4, 5), { codec: PCMU }),
      c.agentPhone.stream(c.agent.localPort, speechLike(8000 * 0.4, 6), { codec: PCMA }),
    ]);
    await sleep(150);
    expect(rms(c.agentPhone.audio(PCMA, 8))).toBeLessThan(20);
    expect(rms(c.callerPhone.audio(PCMU, 0))).toBeGreaterThan(200);
  });

  it('records the caller leg with the card number in a paused span: silence there, audio elsewhere, spans in the sidecar', async (t) => {
    const { expect } = t;
    const c = await call(t, 'silence');
    const path = join(mkdtempSync(join(tmpdir(), 'rtp-rec-')), 'caller.wav');
    await c.caller.startRecording({ path });
    const { pcm, speechEnd, keysEnd } = callerAudio();
    // The flow pauses the recording and masks before the card prompt, and resumes after the last digit.
    const stream = c.callerPhone.stream(c.caller.localPort, pcm, { codec: PCMU });
    await sleep((speechEnd / 8) - 60);
    await c.caller.pauseRecording();
    c.caller.setDtmfMasking(true);
    await sleep((keysEnd - speechEnd) / 8 + 200);
    c.caller.setDtmfMasking(false);
    await c.caller.resumeRecording();
    await stream;
    await sleep(150);
    await c.caller.stopRecording();

    const wav = await readWavFile(path);
    const left = wav.channel(0);
    const right = wav.channel(1);
    const sidecar = JSON.parse(readFileSync(`${path}.json`, 'utf8')) as RecordingSidecar;
    expect(sidecar.pauses).toHaveLength(1);
    const pause = sidecar.pauses[0]!;
    expect(pause.toSample).not.toBeNull();
    expect(pause.toSample! - pause.fromSample).toBeGreaterThan(keysEnd - speechEnd);
    expect(left.subarray(pause.fromSample, pause.toSample!).every((v) => v === 0)).toBe(true);
    expect(right.subarray(pause.fromSample, pause.toSample!).every((v) => v === 0)).toBe(true);
    expect(rms(left, 0, pause.fromSample)).toBeGreaterThan(100);
    expect(rms(left, pause.toSample!)).toBeGreaterThan(100);
    expect(detectKeys(left)).toEqual([]);
    expect(probeHits(left)).toEqual([]);
    expect(JSON.stringify(sidecar)).not.toMatch(/4111/);
    expect(wav.frameCount).toBe(sidecar.samples);
  });

  it('a listener that throws does not stop the RTP loop or the other listeners', async (t) => {
    const { expect } = t;
    const c = await call(t, 'tone');
    c.caller.on('dtmf', () => {
      throw new Error('listener bug');
    });
    const keys: string[] = [];
    c.caller.on('dtmf', (e) => keys.push(e.key));
    await c.callerPhone.stream(c.caller.localPort, keySequence('12', { toneMs: 80, gapMs: 80 }).pcm, { codec: PCMU });
    await sleep(150);
    expect(keys).toEqual(['1', '2']);
    const before = c.agentPhone.received.length;
    await sleep(100);
    expect(c.agentPhone.received.length).toBeGreaterThan(before + 2);
  });
});
