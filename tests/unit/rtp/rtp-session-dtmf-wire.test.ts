import { describe, expect, it } from 'vitest';
import type { DtmfKey } from '../../../domain/dtmf-key.js';
import { dtmfEventCode, dtmfFrequencies } from '../../../media-server/embedded/media/dtmf-keypad.js';
import { ToneGenerator } from '../../../media-server/embedded/media/tone-generator.js';
import type { MaskMode } from '../../../media-server/embedded/rtp/dtmf-masker.js';
import { FRAME, HandDrivenBridge, type EventBlock } from './hand-driven-bridge.js';
import { detectKeys, maxToneLevelDbm0, probeHits } from './signals.js';

/** The caller's side of a call, frame by frame: the audio, and the RFC 4733 blocks sent with each frame. */
interface CallerMedia {
  readonly frames: Int16Array[];
  readonly events: EventBlock[][];
}

function silentMedia(frames: number): CallerMedia {
  return { frames: Array.from({ length: frames }, () => new Int16Array(FRAME)), events: Array.from({ length: frames }, () => []) };
}

/**
 * One press as RFC 4733 events, the way a sender updates them: the first
 * block in the frame where `firstAtSample` falls (marker set, duration so
 * far), an update every frame, and at `endSample` the end block three times
 * in three frames (RFC 4733 §2.5.1.4). The event is timestamped at `startSample`.
 */
function addPress(media: CallerMedia, key: DtmfKey, startSample: number, firstAtSample: number, endSample: number): void {
  const event = dtmfEventCode(key);
  const first = Math.floor(firstAtSample / FRAME);
  const last = Math.ceil(endSample / FRAME) - 1;
  for (let f = first; f <= last; f++) {
    const duration = Math.min((f + 1) * FRAME, endSample) - startSample;
    media.events[f]!.push({ event, duration, startSample, marker: f === first });
  }
  for (let i = 1; i <= 3; i++) media.events[last + i]!.push({ event, end: true, duration: endSample - startSample, startSample });
}

async function play(bridge: HandDrivenBridge, media: CallerMedia, between: (frame: number) => void = () => undefined): Promise<Int16Array> {
  for (let f = 0; f < media.frames.length; f++) {
    await bridge.step(media.frames[f]!, media.events[f]);
    between(f);
  }
  return bridge.agentAudio();
}

describe('RFC 4733 from a carrier that leaves the start of the tone in the audio', () => {
  // A gateway that turns in-band DTMF into RFC 4733 needs tens of ms to recognise the key: the tone's
  // first 20–60 ms go out as audio, then the events begin (timestamped at the tone's onset) and the
  // audio carries no more of it. The event's arrival must mask that fragment too, still inside the
  // jitter buffer and the masker's look-ahead, and the fragment heard in-band must not be a second key.
  const KEY: DtmfKey = '5';
  const { low, high } = dtmfFrequencies(KEY);

  /** `eventLagFrames`: the event packets reach us that many 20 ms packet intervals behind the audio of the same instant. */
  function carrierMedia(fragmentMs: number, onsetSample: number, levelDbm0: number, eventLagFrames = 0): CallerMedia {
    const media = silentMedia(45);
    const audio = new Int16Array(media.frames.length * FRAME);
    ToneGenerator.dtmf(KEY, { lowLevelDbm0: levelDbm0, highLevelDbm0: levelDbm0 }).add(audio, onsetSample, fragmentMs * 8);
    media.frames.forEach((frame, f) => frame.set(audio.subarray(f * FRAME, (f + 1) * FRAME)));
    // The key is held 150 ms; the first event goes when the fragment ends.
    addPress(media, KEY, onsetSample, onsetSample + fragmentMs * 8, onsetSample + 150 * 8);
    for (let i = 0; i < eventLagFrames; i++) media.events.unshift([]);
    return media;
  }

  it.each<[fragmentMs: number, onsetSample: number, levelDbm0: number, mode: MaskMode, eventLagFrames: number]>([
    [20, 1677, -10, 'tone', 0],
    [40, 1600, -10, 'silence', 0],
    [60, 1600, -10, 'tone', 0],
    [60, 1759, -10, 'silence', 0],
    // Quieter than the in-band ears (probe and Q.24 detector) can hear: only the event's look-ahead masks it.
    [60, 1630, -50, 'silence', 0],
    [20, 1630, -50, 'silence', 0],
    // The events a packet interval behind the audio: 80 ms between the tone's onset and the event's arrival,
    // what the jitter buffer (40 ms) and the look-ahead (40 ms) hold back at the least.
    [60, 1630, -50, 'silence', 1],
    [40, 1600, -10, 'tone', 1],
  ])('%i ms of tone before the first event (onset at sample %i, %i dBm0, %s mode, events %i interval(s) late): masked, one key', async (fragmentMs, onset, level, mode, lag) => {
    const bridge = await HandDrivenBridge.open(mode);
    try {
      bridge.caller.setDtmfMasking(true);
      const heard = await play(bridge, carrierMedia(fragmentMs, onset, level, lag));
      expect(bridge.keys.map((k) => [k.key, k.method])).toEqual([[KEY, 'rfc4733']]);
      expect(bridge.caller.stats().dtmfReported).toBe(1);
      // No tone energy of the fragment reached the agent. Where the masking tone starts and stops, its
      // edges alone read about −50 dBm0 at the DTMF frequencies: in tone mode the bound is −45, still
      // 35 dB under a normal key; in silence mode, −60.
      const bound = mode === 'tone' ? -45 : -60;
      expect(maxToneLevelDbm0(heard, low)).toBeLessThan(bound);
      expect(maxToneLevelDbm0(heard, high)).toBeLessThan(bound);
      expect(detectKeys(heard)).toEqual([]);
      expect(probeHits(heard)).toEqual([]);
    } finally {
      await bridge.close();
    }
  });

  it('the fragment long enough for the in-band detector is that same key, counted once', async () => {
    const bridge = await HandDrivenBridge.open('tone');
    try {
      bridge.caller.setDtmfMasking(true);
      await play(bridge, carrierMedia(60, 1600, -10));
      expect(bridge.keys).toHaveLength(1);
      // The in-band detector heard the fragment too: its report was dropped as the same press.
      expect(bridge.caller.stats().dtmfDuplicates).toBe(1);
    } finally {
      await bridge.close();
    }
  });

  it('with masking off the fragment does reach the agent (what the ear measures is real)', async () => {
    const bridge = await HandDrivenBridge.open('tone');
    try {
      const heard = await play(bridge, carrierMedia(60, 1630, -50));
      expect(maxToneLevelDbm0(heard, low)).toBeGreaterThan(-53);
      expect(maxToneLevelDbm0(heard, high)).toBeGreaterThan(-53);
      expect(bridge.keys).toHaveLength(1);
    } finally {
      await bridge.close();
    }
  });
});

describe('a key sent both by SIP INFO and by RFC 4733', () => {
  it('a long press, with the INFO sent at key-up (with its Duration) after the end packets: one key; the next press: one more', async () => {
    const bridge = await HandDrivenBridge.open('tone');
    try {
      const media = silentMedia(90);
      addPress(media, '7', 800, 800, 800 + 8 * 1000);
      addPress(media, '7', 800 + 8 * 1200, 800 + 8 * 1200, 800 + 8 * 1300);
      await play(bridge, media, (f) => {
        // Key-up of the first press is at frame 55, its end packets go in frames 55–57; the INFO follows.
        if (f === 58) bridge.caller.reportDtmf('7', 'info', 1000);
        // The second press's INFO is sent at key-down, before its first event packet.
        if (f === 64) bridge.caller.reportDtmf('7', 'info', 100);
      });
      expect(bridge.keys.map((k) => k.method)).toEqual(['rfc4733', 'info']);
      expect(bridge.caller.stats()).toMatchObject({ dtmfReported: 2, dtmfDuplicates: 2 });
    } finally {
      await bridge.close();
    }
  });

  it('an INFO without Duration that comes while the long RFC 4733 event is still going: one key', async () => {
    const bridge = await HandDrivenBridge.open('tone');
    try {
      const media = silentMedia(70);
      addPress(media, '#', 800, 800, 800 + 8 * 900);
      // 700 ms into the press, long after the de-duplication window of its start.
      await play(bridge, media, (f) => f === 40 && bridge.caller.reportDtmf('#', 'info'));
      expect(bridge.keys.map((k) => [k.key, k.method])).toEqual([['#', 'rfc4733']]);
      expect(bridge.caller.stats().dtmfDuplicates).toBe(1);
    } finally {
      await bridge.close();
    }
  });
});

describe('a key sent both as RFC 4733 and as tone while the event loop stalls', () => {
  // A phone that sends events and leaves the tone in the audio. The packets are read as they come, but
  // the media clock is held up (CPU starved, a long GC): the tone is played out of the jitter buffer,
  // and heard by the in-band detector, long after the event was reported. The detector's report is
  // stamped with the audio's arrival, so it still pairs with the event.
  it.each([0, 400, 1500])('clock %i ms late: one key, the tone counted as its duplicate', async (lateMs) => {
    const bridge = await HandDrivenBridge.open('tone');
    try {
      bridge.caller.setDtmfMasking(true);
      const media = silentMedia(18);
      const audio = new Int16Array(media.frames.length * FRAME);
      ToneGenerator.dtmf('8', { lowLevelDbm0: -10, highLevelDbm0: -10 }).add(audio, 800, 8 * 100);
      media.frames.forEach((frame, f) => frame.set(audio.subarray(f * FRAME, (f + 1) * FRAME)));
      addPress(media, '8', 800, 800, 800 + 8 * 100);
      // 18 frames fit the jitter buffer (4,096 samples with its 320-sample delay) without an overflow.
      for (let f = 0; f < media.frames.length; f++) await bridge.deliver(media.frames[f]!, media.events[f]);
      bridge.catchUp(media.frames.length, lateMs);
      expect(bridge.keys.map((k) => [k.key, k.method])).toEqual([['8', 'rfc4733']]);
      expect(bridge.caller.stats()).toMatchObject({ dtmfReported: 1, dtmfDuplicates: 1 });
    } finally {
      await bridge.close();
    }
  });
});
