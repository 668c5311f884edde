import { describe, expect, it } from 'vitest';
import { dtmfFrequencies } from '../../../media-server/embedded/media/dtmf-keypad.js';
import { ToneGenerator } from '../../../media-server/embedded/media/tone-generator.js';
import { createFramePipeBuffer, FramePipeReader, FramePipeWriter } from '../../../media-server/embedded/rtp/frame-pipe.js';
import { InvalidStateError } from '../../../media-server/embedded/rtp/rtp-errors.js';
import { FRAME, HandDrivenBridge } from './hand-driven-bridge.js';
import { detectKeys, maxToneLevelDbm0 } from './signals.js';

const frameOf = (value: number): Int16Array => new Int16Array(FRAME).fill(value);

describe('FramePipe: one direction of a bridge between two media workers', () => {
  it('gives silence and false before the first frame, then each frame once, in order', () => {
    const buffer = createFramePipeBuffer();
    const writer = new FramePipeWriter(buffer);
    const reader = new FramePipeReader(buffer);
    const into = frameOf(7);
    expect(reader.read(into)).toBe(false);
    expect(into.every((v) => v === 0)).toBe(true);
    writer.write(frameOf(1));
    writer.write(frameOf(2));
    expect(reader.read(into)).toBe(true);
    expect(into[0]).toBe(1);
    expect(reader.read(into)).toBe(true);
    expect(into[FRAME - 1]).toBe(2);
    expect(reader.read(into)).toBe(false);
  });

  it('a reader that fell behind skips to the newest frame, so the delay stays bounded', () => {
    const buffer = createFramePipeBuffer();
    const writer = new FramePipeWriter(buffer);
    const reader = new FramePipeReader(buffer);
    const into = new Int16Array(FRAME);
    writer.write(frameOf(1));
    reader.read(into);
    for (let v = 2; v <= 12; v++) writer.write(frameOf(v));
    expect(reader.read(into)).toBe(true);
    expect(into[0]).toBe(12);
  });
});

describe('RtpSession.linkPipe: two sessions bridged across workers', () => {
  const KEY = '7' as const;
  const { low, high } = dtmfFrequencies(KEY);

  /** 60 frames: silence, a 200 ms in-band key from frame 10, silence. */
  async function playKey(bridge: HandDrivenBridge): Promise<Int16Array> {
    const audio = new Int16Array(60 * FRAME);
    ToneGenerator.dtmf(KEY, { lowLevelDbm0: -10, highLevelDbm0: -10 }).add(audio, 10 * FRAME, 200 * 8);
    for (let f = 0; f < 60; f++) await bridge.step(audio.subarray(f * FRAME, (f + 1) * FRAME));
    return bridge.agentAudio();
  }

  it('masked, the key is reported and no tone of it reaches the other side', async () => {
    const bridge = await HandDrivenBridge.open('silence', { pipe: true });
    try {
      bridge.caller.setDtmfMasking(true);
      const heard = await playKey(bridge);
      expect(bridge.keys.map((k) => [k.key, k.method])).toEqual([[KEY, 'inband']]);
      expect(maxToneLevelDbm0(heard, low)).toBeLessThan(-60);
      expect(maxToneLevelDbm0(heard, high)).toBeLessThan(-60);
      expect(detectKeys(heard)).toEqual([]);
    } finally {
      await bridge.close();
    }
  });

  it('unmasked, the tone does cross (what the masked case measures is real)', async () => {
    const bridge = await HandDrivenBridge.open('silence', { pipe: true });
    try {
      const heard = await playKey(bridge);
      expect(detectKeys(heard)).toEqual([KEY]);
    } finally {
      await bridge.close();
    }
  });

  it('a session already bridged, or closed, refuses a pipe with InvalidStateError', async () => {
    const bridge = await HandDrivenBridge.open('tone', { pipe: true });
    const buffer = createFramePipeBuffer();
    try {
      expect(() => bridge.caller.linkPipe(new FramePipeWriter(buffer), new FramePipeReader(buffer))).toThrow(InvalidStateError);
    } finally {
      await bridge.close();
    }
    expect(() => bridge.agent.linkPipe(new FramePipeWriter(buffer), new FramePipeReader(buffer))).toThrow(InvalidStateError);
  });
});
