import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../../app/logger.js';
import { PCMU } from '../../../media-server/embedded/media/g711.js';
import { dtmfEventCode } from '../../../media-server/embedded/media/dtmf-keypad.js';
import { RtpPacket } from '../../../media-server/embedded/media/rtp-packet.js';
import { TelephoneEvent } from '../../../media-server/embedded/media/telephone-event.js';
import { InvalidStateError, PromptLoadError } from '../../../media-server/embedded/rtp/rtp-errors.js';
import { MediaWorkerPool } from '../../../media-server/embedded/worker/media-worker-pool.js';
import { MediaWorkerGoneError } from '../../../media-server/embedded/worker/media-worker-thread.js';
import type { WorkerRtpSession } from '../../../media-server/embedded/worker/worker-rtp-session.js';
import type { SessionDtmfEvent } from '../../../media-server/embedded/rtp/rtp-session.js';
import { closeAll, negotiated, RtpPhone } from '../rtp/rtp-phone.js';

/**
 * The media worker pool on its own, two real worker threads with real UDP
 * on 127.0.0.1: where sessions land, a key press crossing back to the main
 * thread, the session's errors keeping their class, the totals.
 */

const worker = Number(process.env.VITEST_POOL_ID ?? '1') % 40;
const RTP_MIN = 28000 + worker * 100;
const RTP_MAX = RTP_MIN + 98;

/** Polls until `done` holds (each worker reports on its own schedule); fails after `tries` × 10 ms. */
async function until(done: () => boolean, what: string, tries = 500): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (done()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`gave up waiting for ${what}`);
}

/** One RFC 4733 press of `key`: a start packet, then the end packet three times (RFC 4733 §2.5.1.4). */
function pressPackets(key: '4', sequence: number): Buffer[] {
  const event = dtmfEventCode(key);
  const packet = (seq: number, end: boolean, duration: number, marker: boolean): Buffer =>
    new RtpPacket({ marker, payloadType: 101, sequenceNumber: seq, timestamp: 8000, ssrc: 0x1234, payload: new TelephoneEvent({ event, end, volume: 10, duration }).serialize() }).serialize();
  return [packet(sequence, false, 160, true), packet(sequence + 1, true, 800, false), packet(sequence + 2, true, 800, false), packet(sequence + 3, true, 800, false)];
}

describe('MediaWorkerPool: calls on two worker threads', () => {
  let pool: MediaWorkerPool;
  const open: WorkerRtpSession[] = [];

  beforeAll(async () => {
    pool = await MediaWorkerPool.start({ workers: 2, rtpHost: '127.0.0.1', rtpPortMin: RTP_MIN, rtpPortMax: RTP_MAX, maskMode: 'tone', logger: createLogger({ level: 'silent' }), totalsIntervalMs: 50 });
  });

  afterAll(async () => {
    await Promise.allSettled(open.map((s) => s.close()));
    await pool.stop();
  });

  const session = async (): Promise<WorkerRtpSession> => {
    const s = await pool.open();
    open.push(s);
    return s;
  };

  it('a new call goes to the least loaded worker; a leg opened on behalf of a call joins that call’s worker', async () => {
    const first = await session();
    const second = await session();
    expect(second.thread).not.toBe(first.thread);
    const agent = await pool.runInCall(first, () => pool.open());
    open.push(agent);
    expect(agent.thread).toBe(first.thread);
    // Each worker binds only its own half of the range.
    for (const s of [first, second, agent]) {
      const half = s.thread.index === 0 ? [RTP_MIN, RTP_MIN + 48] : [RTP_MIN + 50, RTP_MAX];
      expect(s.localPort).toBeGreaterThanOrEqual(half[0] as number);
      expect(s.localPort).toBeLessThanOrEqual(half[1] as number);
    }
    await Promise.all([first.close(), second.close(), agent.close()]);
    expect(pool.load).toEqual([0, 0]);
  });

  it('a key the worker heard reaches the main thread once, as a dtmf event, and its listeners run on behalf of its call', async () => {
    const caller = await session();
    const phone = await RtpPhone.open();
    try {
      caller.setRemote(negotiated(phone.port));
      const keys: SessionDtmfEvent[] = [];
      let dialledOn: number | undefined;
      caller.on('dtmf', (event) => {
        keys.push(event);
        // What a flow would do on a key: open another leg (dial), which must land on the caller's worker.
        void pool.open().then((leg) => {
          open.push(leg);
          dialledOn = leg.thread.index;
        });
      });
      for (const datagram of pressPackets('4', 500)) phone.send(caller.localPort, datagram);
      await until(() => keys.length === 1 && dialledOn !== undefined, 'the key and the leg opened from its listener');
      expect(keys.map((k) => [k.key, k.method])).toEqual([['4', 'rfc4733']]);
      expect(dialledOn).toBe(caller.thread.index);
      // And the worker sends audio to the phone, counted in the totals.
      await until(() => phone.received.length > 5 && pool.rtpTotals().packetsIn >= 4, 'RTP out and the totals');
      expect(phone.received[0]?.packet.payloadType).toBe(PCMU.payloadType);
    } finally {
      await closeAll(phone, caller);
    }
  });

  it('the session’s errors keep their class across the thread: PromptLoadError, InvalidStateError', async () => {
    const s = await session();
    await expect(s.play([{ file: '/nonexistent/prompt.wav' }])).rejects.toBeInstanceOf(PromptLoadError);
    const folder = mkdtempSync(join(tmpdir(), 'media-worker-pool-'));
    try {
      await s.startRecording({ path: join(folder, 'first.wav') });
      await expect(s.startRecording({ path: join(folder, 'second.wav') })).rejects.toBeInstanceOf(InvalidStateError);
      await s.stopRecording();
      await s.close();
      await s.close();
      expect(s.closed).toBe(true);
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });

  it('bridging a session twice throws InvalidStateError; unbridge is safe twice', async () => {
    const a = await session();
    const b = await session();
    const c = await session();
    const bridge = pool.bridge(a, b);
    expect(() => pool.bridge(a, c)).toThrow(InvalidStateError);
    bridge.unbridge();
    bridge.unbridge();
    pool.bridge(a, c).unbridge();
    await Promise.all([a.close(), b.close(), c.close()]);
  });
});

describe('MediaWorkerPool after stop', () => {
  it('a request to a stopped worker rejects with MediaWorkerGoneError', async () => {
    const pool = await MediaWorkerPool.start({ workers: 1, rtpHost: '127.0.0.1', rtpPortMin: RTP_MIN, rtpPortMax: RTP_MAX, maskMode: 'tone', logger: createLogger({ level: 'silent' }) });
    const s = await pool.open();
    await pool.stop();
    await expect(s.play([{ silenceMs: 20 }])).rejects.toBeInstanceOf(MediaWorkerGoneError);
  });
});
