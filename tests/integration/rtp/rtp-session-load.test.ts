import { afterAll, describe, expect, it } from 'vitest';
import { PCMU } from '../../../media-server/embedded/media/g711.js';
import type { FrameHandler } from '../../../media-server/embedded/rtp/media-clock.js';
import { MediaClock } from '../../../media-server/embedded/rtp/media-clock.js';
import { MediaBridge } from '../../../media-server/embedded/rtp/media-bridge.js';
import { RtpPortAllocator } from '../../../media-server/embedded/rtp/rtp-port-allocator.js';
import { RtpSession, type FrameScheduler } from '../../../media-server/embedded/rtp/rtp-session.js';
import { detectKeys, keySequence, speechLike } from '../../unit/rtp/signals.js';
import { negotiated, RtpPhone, sleep } from './rtp-phone.js';

// Fifty bridged calls (100 sessions) on one clock. Measured numbers are
// printed for the record; the assertions are loose enough for a busy CI box.

const PAIRS = 50;
const worker = Number(process.env.VITEST_POOL_ID ?? '1') % 40;
const allocator = new RtpPortAllocator({ host: '127.0.0.1', min: 34000 + worker * 400, max: 34000 + worker * 400 + 398 });
const closers: (() => Promise<unknown>)[] = [];

afterAll(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

/** A clock the test turns by hand, to time the tick work alone. */
class ManualClock implements FrameScheduler {
  readonly handlers = new Set<FrameHandler>();
  frame = 0;
  add(handler: FrameHandler): void {
    this.handlers.add(handler);
  }
  remove(handler: FrameHandler): void {
    this.handlers.delete(handler);
  }
  tick(): void {
    this.frame++;
    for (const h of this.handlers) h(this.frame);
  }
}

describe('RtpSession under load', () => {
  it('tick cost per session (masking on, bridged, receiving audio with DTMF)', async () => {
    const clock = new ManualClock();
    const sessions: RtpSession[] = [];
    const phones: RtpPhone[] = [];
    for (let i = 0; i < 10; i++) {
      const phone = await RtpPhone.open();
      const session = await RtpSession.open({ allocator, clock, maskMode: 'tone' });
      closers.push(() => phone.close(), () => session.close());
      session.setRemote(negotiated(phone.port));
      session.setDtmfMasking(true);
      phones.push(phone);
      sessions.push(session);
    }
    for (let i = 0; i < 10; i += 2) new MediaBridge(sessions[i]!, sessions[i + 1]!);
    const audio = keySequence('4111111111111111', { toneMs: 80, gapMs: 80, background: (n) => speechLike(n, 3) }).pcm;
    const payload = Buffer.alloc(172);
    let busy = 0;
    const frames = Math.floor(audio.length / 160);
    // The first pass warms the JIT up; the second is timed.
    for (let f = 0; f < 2 * frames; f++) {
      if (f === frames) busy = 0;
      for (let i = 0; i < phones.length; i++) {
        payload[0] = 0x80;
        payload[1] = 0;
        payload.writeUInt16BE(f & 0xffff, 2);
        payload.writeUInt32BE(f * 160, 4);
        payload.writeUInt32BE(i + 1, 8);
        PCMU.encode(audio.subarray((f % frames) * 160, (f % frames) * 160 + 160), payload.subarray(12));
        phones[i]!.send(sessions[i]!.localPort, payload);
      }
      await new Promise((r) => setImmediate(r));
      const t0 = performance.now();
      clock.tick();
      busy += performance.now() - t0;
    }
    const perSessionTickUs = (busy * 1000) / (frames * sessions.length);
    const stats = sessions[0]!.stats();
    expect(stats.dtmfReported).toBe(32);
    expect(stats.maskedSamples).toBeGreaterThan(0);
    // A figure for the reader; speed is the benchmark's business, not a pass/fail here.
    console.log(`tick work: ${perSessionTickUs.toFixed(1)} µs per session per 20 ms tick (${frames} ticks × ${sessions.length} sessions)`);
    for (const s of sessions) await s.close();
  });

  it(`${PAIRS} bridged calls on one MediaClock for 1.2 s: every agent gets paced audio, no DTMF leaks`, async () => {
    const clock = new MediaClock();
    const calls: { caller: RtpSession; agent: RtpSession; callerPhone: RtpPhone; agentPhone: RtpPhone }[] = [];
    for (let i = 0; i < PAIRS; i++) {
      const callerPhone = await RtpPhone.open();
      const agentPhone = await RtpPhone.open();
      const caller = await RtpSession.open({ allocator, clock, maskMode: 'tone' });
      const agent = await RtpSession.open({ allocator, clock, maskMode: 'tone' });
      closers.push(() => callerPhone.close(), () => agentPhone.close(), () => caller.close(), () => agent.close());
      caller.setRemote(negotiated(callerPhone.port));
      agent.setRemote(negotiated(agentPhone.port));
      caller.setDtmfMasking(true);
      new MediaBridge(caller, agent);
      calls.push({ caller, agent, callerPhone, agentPhone });
    }
    const audio = keySequence('4111', { toneMs: 80, gapMs: 80, leadMs: 300, background: (n) => speechLike(n, 5) }).pcm.subarray(0, 8000 * 1.2);
    const agentAudio = speechLike(8000 * 1.2, 6);
    const cpu = process.cpuUsage();
    const ticksBefore = clock.stats().ticks;
    const t0 = performance.now();
    await Promise.all(
      calls.flatMap((c, i) => [
        c.callerPhone.stream(c.caller.localPort, audio, { codec: PCMU, ssrc: 1000 + i }),
        c.agentPhone.stream(c.agent.localPort, agentAudio, { codec: PCMU, ssrc: 5000 + i }),
      ]),
    );
    await sleep(200);
    const wall = performance.now() - t0;
    const used = process.cpuUsage(cpu);
    const stats = clock.stats();
    console.log(
      `${PAIRS * 2} sessions + ${PAIRS * 2} phones: ${(((used.user + used.system) / 1000 / wall) * 100).toFixed(0)} % of one CPU; ` +
        `clock lateness p50 ${stats.latenessP50Ms.toFixed(1)} ms, p99 ${stats.latenessP99Ms.toFixed(1)} ms, skipped ${stats.skippedFrames}`,
    );
    // Paced: a packet to every agent on each tick the clock ran (a starved machine runs fewer ticks
    // and skips frames; that is measured by the benchmark, not failed here).
    const ticks = stats.ticks - ticksBefore;
    for (const c of calls) {
      expect(c.agentPhone.received.length).toBeGreaterThan(ticks * 0.8);
      expect(detectKeys(c.agentPhone.audio(PCMU))).toEqual([]);
      expect(c.caller.stats().dtmfReported).toBe(4);
    }
  });
});
