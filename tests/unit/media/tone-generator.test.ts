import { describe, expect, it } from 'vitest';
import { DTMF_KEYS } from '../../../domain/dtmf-key.js';
import { dtmfFrequencies } from '../../../media-server/embedded/media/dtmf-keypad.js';
import { amplitudeToDbm0, dbm0ToAmplitude, meanSquareToDbm0 } from '../../../media-server/embedded/media/signal-level.js';
import { ToneGenerator } from '../../../media-server/embedded/media/tone-generator.js';

function meanSquare(pcm: Int16Array): number {
  return pcm.reduce((sum, x) => sum + x * x, 0) / pcm.length;
}

/** Power of `pcm` at `frequency` by correlation, as the amplitude of a sine. */
function amplitudeAt(pcm: Int16Array, frequency: number): number {
  let re = 0;
  let im = 0;
  for (let n = 0; n < pcm.length; n++) {
    re += (pcm[n] as number) * Math.cos((2 * Math.PI * frequency * n) / 8000);
    im += (pcm[n] as number) * Math.sin((2 * Math.PI * frequency * n) / 8000);
  }
  return (2 * Math.hypot(re, im)) / pcm.length;
}

describe('signal levels', () => {
  it('puts 0 dBm0 at a sine of peak 22 827 (full scale = +3.14 dBm0, G.711)', () => {
    expect(dbm0ToAmplitude(0)).toBeCloseTo(22_827, 0);
    expect(dbm0ToAmplitude(3.14)).toBeCloseTo(32_768, 6);
    expect(amplitudeToDbm0(dbm0ToAmplitude(-17))).toBeCloseTo(-17, 9);
  });
});

describe('ToneGenerator', () => {
  it('makes a single tone of the asked level (the masker tone: 400 Hz at −20 dBm0)', () => {
    const pcm = new Int16Array(8000);
    ToneGenerator.single(400, -20).fill(pcm);
    expect(meanSquareToDbm0(meanSquare(pcm))).toBeCloseTo(-20, 1);
    expect(amplitudeAt(pcm, 400)).toBeCloseTo(dbm0ToAmplitude(-20), -1);
  });

  it('makes each key as its row and column tones at their own levels, off-frequency on request', () => {
    for (const key of DTMF_KEYS) {
      const { low, high } = dtmfFrequencies(key);
      const pcm = new Int16Array(8000);
      ToneGenerator.dtmf(key, { lowLevelDbm0: -8, highLevelDbm0: -6, highDeviation: 0.02 }).fill(pcm);
      expect(amplitudeToDbm0(amplitudeAt(pcm, low))).toBeCloseTo(-8, 1);
      expect(amplitudeToDbm0(amplitudeAt(pcm, high * 1.02))).toBeCloseTo(-6, 1);
      expect(amplitudeAt(pcm, high)).toBeLessThan(dbm0ToAmplitude(-30));
    }
  });

  it('is phase-continuous from one frame to the next', () => {
    const whole = new Int16Array(480);
    ToneGenerator.dtmf('5').fill(whole);
    const framed = new Int16Array(480);
    const generator = ToneGenerator.dtmf('5');
    for (let i = 0; i < 480; i += 160) generator.fill(framed, i, 160);
    expect(framed).toEqual(whole);
    generator.reset();
    const again = new Int16Array(480);
    generator.fill(again);
    expect(again).toEqual(whole);
  });

  it('adds onto existing audio with saturation instead of wrapping', () => {
    const pcm = new Int16Array(160).fill(30_000);
    ToneGenerator.single(1000, 0).add(pcm);
    expect(Math.max(...pcm)).toBe(32767);
    expect(Math.min(...pcm)).toBeGreaterThan(30_000 - 22_829);
  });

  it('writes only the asked range and refuses bad ranges and frequencies', () => {
    const pcm = new Int16Array(10);
    ToneGenerator.single(1000, 0).fill(pcm, 2, 3);
    expect(pcm[0]).toBe(0);
    expect(pcm[3]).not.toBe(0);
    expect(pcm[5]).toBe(0);
    expect(() => ToneGenerator.single(1000, 0).fill(pcm, 8, 3)).toThrow(RangeError);
    expect(() => ToneGenerator.single(4000, 0)).toThrow(RangeError);
    expect(() => ToneGenerator.single(1000, Number.NaN)).toThrow(RangeError);
  });
});
