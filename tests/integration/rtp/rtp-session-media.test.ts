import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'vitest';
import { PCMA, PCMU } from '../../../media-server/embedded/media/g711.js';
import { WavFileWriter } from '../../../media-server/embedded/media/wav-writer.js';
import { MediaBridge } from '../../../media-server/embedded/rtp/media-bridge.js';
import { MediaClock } from '../../../media-server/embedded/rtp/media-clock.js';
import { InvalidStateError, PromptLoadError } from '../../../media-server/embedded/rtp/rtp-errors.js';
import { RtpSession } from '../../../media-server/embedded/rtp/rtp-session.js';
import { rms, speechLike } from '../../unit/rtp/signals.js';
import { closeAll, intervals, negotiated, RtpPhone, sleep, streamErrors, testAllocator } from './rtp-phone.js';

const allocator = testAllocator();
const clock = new MediaClock();

async function leg(t: TestContext, codec: 'PCMU' | 'PCMA' = 'PCMU'): Promise<{ session: RtpSession; phone: RtpPhone }> {
  const phone = await RtpPhone.open();
  const session = await RtpSession.open({ allocator, clock, maskMode: 'tone' });
  t.onTestFinished(() => closeAll(phone, session));
  session.setRemote(negotiated(phone.port, codec));
  return { session, phone };
}

async function promptFile(pcm: Int16Array): Promise<string> {
  const path = join(mkdtempSync(join(tmpdir(), 'rtp-prompt-')), 'prompt.wav');
  const writer = await WavFileWriter.create(path, { channels: 1 });
  writer.append(pcm);
  await writer.close();
  return path;
}

describe.concurrent('RtpSession media', () => {
  it('plays a WAV prompt paced at 20 ms with the negotiated payload type, then completes', async (t) => {
    const { expect } = t;
    const { session, phone } = await leg(t, 'PCMA');
    const prompt = speechLike(8000 * 0.5, 21);
    const path = await promptFile(prompt);
    const started = performance.now();
    await expect(session.play([{ file: path }, { silenceMs: 100 }])).resolves.toBe('completed');
    const took = performance.now() - started;
    // Paced in real time, never faster (a slow machine may take longer: that is the benchmark's business).
    expect(took).toBeGreaterThan(560);
    await sleep(40);
    const received = phone.received;
    expect(received.every((r) => r.packet.payloadType === 8 && r.packet.payload.length === 160)).toBe(true);
    expect(received[0]?.packet.marker).toBe(true);
    expect(streamErrors(received)).toEqual([]);
    // 20 ms pacing: the packets are spread over the prompt's duration, not sent in one burst
    // (bounds loose enough for a loaded machine, where timers bunch; the benchmark measures jitter).
    const gaps = intervals(received);
    expect(received.at(-1)!.at - received[0]!.at).toBeGreaterThan(0.5 * 20 * gaps.length);
    expect([...gaps].sort((a, b) => a - b)[gaps.length >> 1]).toBeGreaterThan(10);
    // The prompt is in what the phone got, A-law coded (≈ 1 % error at speech levels).
    const heard = phone.audio(PCMA, 8);
    let best = 0;
    for (let at = 0; at + prompt.length <= heard.length; at += 160) {
      let err = 0;
      for (let i = 0; i < prompt.length; i += 7) err += Math.abs((heard[at + i] as number) - (prompt[i] as number));
      const score = 1 - err / (prompt.length / 7) / rms(prompt);
      best = Math.max(best, score);
    }
    expect(best).toBeGreaterThan(0.9);
    await session.close();
    await sleep(20);
    const stats = session.stats();
    expect(stats.packetsOut).toBe(phone.received.length);
    // Reported for the benchmark (npm run bench measures it under load); here only that it is measured.
    expect(Number.isFinite(stats.sendIntervalJitterMs) && stats.sendIntervalJitterMs >= 0).toBe(true);
  });

  it('a missing prompt rejects with PromptLoadError and sends no prompt audio', async (t) => {
    const { expect } = t;
    const { session } = await leg(t);
    await expect(session.play([{ file: '/nonexistent/prompt.wav' }])).rejects.toBeInstanceOf(PromptLoadError);
  });

  it('hold stops sending; unhold resumes with the marker bit, the next sequence number and the timestamp of the elapsed time', async (t) => {
    const { expect } = t;
    const { session, phone } = await leg(t);
    await sleep(200);
    session.setRemote(negotiated(phone.port, 'PCMU', 101, { onHold: true, direction: 'recvonly' }));
    await sleep(30);
    const beforeHold = phone.received.length;
    await sleep(200);
    expect(phone.received.length).toBe(beforeHold);
    session.setRemote(negotiated(phone.port, 'PCMU', 101));
    await sleep(100);
    const last = phone.received[beforeHold - 1]!.packet;
    const resumed = phone.received[beforeHold]!.packet;
    expect(resumed.marker).toBe(true);
    expect(resumed.sequenceNumber).toBe((last.sequenceNumber + 1) & 0xffff);
    const elapsedFrames = ((resumed.timestamp - last.timestamp) >>> 0) / 160;
    expect(Number.isInteger(elapsedFrames)).toBe(true);
    expect(elapsedFrames).toBeGreaterThanOrEqual(10);
    // A 0.0.0.0 connection address is hold too (RFC 3264 §8.4).
    session.setRemote(negotiated(phone.port, 'PCMU', 101, { remoteAddress: '0.0.0.0' }));
    await sleep(30);
    const count = phone.received.length;
    await sleep(100);
    expect(phone.received.length).toBe(count);
  });

  it('a re-INVITE to A-law switches the payload type and codec from the next frame, same SSRC and sequence', async (t) => {
    const { expect } = t;
    const { session, phone } = await leg(t, 'PCMU');
    void session.play([{ silenceMs: 1000 }]);
    await sleep(120);
    session.setRemote(negotiated(phone.port, 'PCMA', 101));
    await sleep(120);
    const types = phone.received.map((r) => r.packet.payloadType);
    const switchAt = types.indexOf(8);
    expect(switchAt).toBeGreaterThan(2);
    expect(types.slice(0, switchAt).every((t) => t === 0)).toBe(true);
    expect(types.slice(switchAt).every((t) => t === 8)).toBe(true);
    expect(streamErrors(phone.received)).toEqual([]);
    // Silence: µ-law 0xff, A-law 0xd5.
    expect(phone.received[switchAt - 1]!.packet.payload[0]).toBe(0xff);
    expect(phone.received[switchAt]!.packet.payload[0]).toBe(0xd5);
  });

  it('follows a new SSRC with restarted timestamps mid-call: the peer keeps hearing the audio', async (t) => {
    const { expect } = t;
    const caller = await leg(t, 'PCMU');
    const agent = await leg(t, 'PCMU');
    new MediaBridge(caller.session, agent.session);
    const speech = speechLike(8000 * 0.5, 8);
    await caller.phone.stream(caller.session.localPort, speech, { codec: PCMU, ssrc: 1, timestamp: 900_000, sequence: 40_000 });
    await caller.phone.stream(caller.session.localPort, speech, { codec: PCMU, ssrc: 2, timestamp: 0, sequence: 7 });
    await sleep(150);
    expect(caller.session.stats()).toMatchObject({ ssrcChanges: 1, lost: 0 });
    const heard = agent.phone.audio(PCMU);
    // Both halves arrived: about a second of audio with the speech level throughout its loud parts.
    let loud = 0;
    for (let at = 0; at + 800 <= heard.length; at += 800) if (rms(heard, at, at + 800) > rms(speech) / 3) loud++;
    expect(loud).toBeGreaterThanOrEqual(7);
  });

  it('counts malformed datagrams and undeclared payload types without harm', async (t) => {
    const { expect } = t;
    const { session, phone } = await leg(t);
    phone.send(session.localPort, Buffer.from('not rtp at all'));
    phone.send(session.localPort, Buffer.from([0x80, 97, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0]));
    phone.send(session.localPort, Buffer.from([0x80, 101, 0, 2, 0, 0, 0, 1, 0, 0, 0, 1, 1, 2, 3]));
    await sleep(60);
    expect(session.stats()).toMatchObject({ packetsIn: 3, malformed: 2, undeclaredPayloadType: 1 });
    expect(phone.received.length).toBeGreaterThan(0);
  });

  it('close is safe twice: pending plays resolve hangup, the port is released, the bridge is left, the clock stops', async (t) => {
    const { expect } = t;
    const localClock = new MediaClock();
    const localAllocator = testAllocator();
    const a = await RtpSession.open({ allocator: localAllocator, clock: localClock, maskMode: 'silence' });
    const b = await RtpSession.open({ allocator: localAllocator, clock: localClock, maskMode: 'silence' });
    const bridge = new MediaBridge(a, b);
    expect(() => new MediaBridge(a, b)).toThrow(InvalidStateError);
    const play = a.play([{ silenceMs: 10_000 }]);
    expect(localAllocator.inUse).toBe(2);
    await Promise.all([a.close(), a.close()]);
    await expect(play).resolves.toBe('hangup');
    await expect(a.play([{ silenceMs: 10 }])).resolves.toBe('hangup');
    await expect(a.startRecording({ path: '/tmp/never.wav' })).rejects.toBeInstanceOf(InvalidStateError);
    expect(bridge.active).toBe(false);
    expect(b.peer).toBeUndefined();
    bridge.unbridge();
    expect(localAllocator.inUse).toBe(1);
    expect(localClock.running).toBe(true);
    await b.close();
    expect(localAllocator.inUse).toBe(0);
    expect(localClock.running).toBe(false);
    expect(() => new MediaBridge(a, b)).toThrow(InvalidStateError);
  });

  it('unbridge stops the exchange both ways; the legs go on', async (t) => {
    const { expect } = t;
    const caller = await leg(t);
    const agent = await leg(t);
    const bridge = new MediaBridge(caller.session, agent.session);
    bridge.unbridge();
    bridge.unbridge();
    expect(bridge.active).toBe(false);
    await caller.phone.stream(caller.session.localPort, speechLike(8000 * 0.3, 4), { codec: PCMU });
    await sleep(120);
    expect(rms(agent.phone.audio(PCMU))).toBeLessThan(20);
    expect(agent.phone.received.length).toBeGreaterThan(10);
  });
});
