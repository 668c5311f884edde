import { describe, expect, it } from 'vitest';
import { DTMF_KEYS, type DtmfKey } from '../../../domain/dtmf-key.js';
import { DtmfMasker, type DtmfMaskerOptions } from '../../../media-server/embedded/rtp/dtmf-masker.js';
import { detectKeys, keySequence, noise, probeHits, rms, speechLike, type ToneSpan } from './signals.js';

const D = 320;

interface Run {
  readonly out: Int16Array;
  readonly digits: DtmfKey[];
}

/** Feeds `pcm` frame by frame; `masking(frameIndex)` says whether masking is on for that frame. */
function run(pcm: Int16Array, options: DtmfMaskerOptions = {}, masking: (frame: number) => boolean = () => true): Run {
  const digits: DtmfKey[] = [];
  const masker = new DtmfMasker({ mode: 'silence', ...options, onDigitStart: (key) => digits.push(key) });
  const out = new Int16Array(pcm.length + D);
  const input = new Int16Array(160);
  const output = new Int16Array(160);
  for (let f = 0; f * 160 < out.length; f++) {
    input.fill(0);
    if (f * 160 < pcm.length) input.set(pcm.subarray(f * 160, f * 160 + 160));
    masker.masking = masking(f);
    masker.process(input, output);
    out.set(output, f * 160);
  }
  return { out, digits };
}

/** Output samples (delay removed) inside the tone spans that are not silence. */
function unmaskedToneSamples(out: Int16Array, spans: readonly ToneSpan[]): number {
  let count = 0;
  for (const { start, end } of spans) for (let n = start; n < end; n++) if (out[n + D] !== 0) count++;
  return count;
}

/** Output samples (delay removed) outside the spans, with margins, that differ from the input. */
function alteredOutside(pcm: Int16Array, out: Int16Array, spans: readonly ToneSpan[], marginBefore: number, marginAfter: number): number {
  let count = 0;
  let s = 0;
  for (let n = 0; n < pcm.length; n++) {
    while (s < spans.length && n >= (spans[s] as ToneSpan).end + marginAfter) s++;
    const span = spans[s];
    if (span && n >= span.start - marginBefore) continue;
    if (out[n + D] !== pcm[n]) count++;
  }
  return count;
}

describe('DtmfMasker', () => {
  it('delays the audio by the look-ahead and passes it unchanged when masking is off', () => {
    const { pcm } = keySequence('123', { background: (n) => speechLike(n) });
    const { out, digits } = run(pcm, {}, () => false);
    expect(Array.from(out.subarray(D, D + pcm.length))).toEqual(Array.from(pcm));
    expect(Array.from(out.subarray(0, D)).every((v) => v === 0)).toBe(true);
    // Detection does not depend on masking; the tones pass and are still there for the peer to hear.
    expect(digits).toEqual(['1', '2', '3']);
    expect(detectKeys(out)).toEqual(['1', '2', '3']);
  });

  it.each(DTMF_KEYS.map((k) => [k]))('replaces key %s from its first sample, on silence', (key) => {
    const { pcm, spans } = keySequence(key);
    const { out, digits } = run(pcm);
    expect(digits).toEqual([key]);
    expect(unmaskedToneSamples(out, spans)).toBe(0);
    expect(detectKeys(out)).toEqual([]);
    expect(probeHits(out)).toEqual([]);
  });

  it('masks from the first sample at every alignment of the tone to the frames, even by the Q.24 detector alone', () => {
    for (let offset = 0; offset < 160; offset += 9) {
      const { pcm, spans } = keySequence('6', { leadMs: 100 + offset / 8, toneMs: 45 });
      expect(unmaskedToneSamples(run(pcm).out, spans)).toBe(0);
      // With the probe made deaf, the detector's confirmation (≤ 38 ms after the tone began) still comes within the 40 ms look-ahead.
      expect(unmaskedToneSamples(run(pcm, { probeMinLevelDbm0: 20 }).out, spans)).toBe(0);
    }
  });

  it('masks a fast card-number sequence (40 ms tones, 40 ms gaps: Q.24 minimum) with no leak', () => {
    const { pcm, spans } = keySequence('4111111111111111', { toneMs: 40, gapMs: 40 });
    const { out, digits } = run(pcm);
    expect(digits).toHaveLength(16);
    expect(unmaskedToneSamples(out, spans)).toBe(0);
    expect(detectKeys(out)).toEqual([]);
    expect(probeHits(out)).toEqual([]);
  });

  it.each([
    ['loud, −3 dBm0', { lowLevelDbm0: -3, highLevelDbm0: -3 }],
    ['quiet, −28 dBm0', { lowLevelDbm0: -28, highLevelDbm0: -28 }],
    ['twisted 6 dB', { lowLevelDbm0: -8, highLevelDbm0: -14 }],
    ['off-frequency +1.5 %', { lowDeviation: 0.015, highDeviation: 0.015 }],
    ['off-frequency −1.5 %', { lowDeviation: -0.015, highDeviation: -0.015 }],
  ])('masks tones that are %s', (_name, tone) => {
    const { pcm, spans } = keySequence('5#90', { tone });
    const { out } = run(pcm);
    expect(unmaskedToneSamples(out, spans)).toBe(0);
    expect(detectKeys(out)).toEqual([]);
    expect(probeHits(out)).toEqual([]);
  });

  it('masks tones keyed over speech and over noise, and lets the speech through', () => {
    for (const background of [(n: number) => speechLike(n, 7), (n: number) => noise(n, 300)]) {
      const { pcm, spans } = keySequence('2580', { background, leadMs: 600, gapMs: 300 });
      const { out, digits } = run(pcm);
      expect(digits).toEqual(['2', '5', '8', '0']);
      expect(detectKeys(out)).toEqual([]);
      expect(probeHits(out)).toEqual([]);
      // Outside each tone (20 ms pre-roll, 30 ms hang-over, a 25 ms margin for the detector's blocks) the audio is untouched.
      expect(alteredOutside(pcm, out, spans, 8 * 45, 8 * 80)).toBe(0);
    }
  });

  it('lets speech-like audio, noise and single tones pass (≥ 95 % untouched)', () => {
    const n = 8000 * 4;
    const speech = speechLike(n, 3);
    const single = keySequence('', { leadMs: 0, tailMs: 1000 }).pcm;
    for (let i = 0; i < single.length; i++) single[i] = Math.round(8000 * Math.sin((2 * Math.PI * 1000 * i) / 8000));
    for (const pcm of [speech, noise(n, 2000), single]) {
      const { out } = run(pcm);
      let altered = 0;
      for (let i = 0; i < pcm.length; i++) if (out[i + D] !== pcm[i]) altered++;
      // Talk-off: the probe is tuned to err towards masking; on this synthetic speech
      // an occasional 10 ms window looks like a tone pair (0–3 % masked, seeds 1–6).
      expect(altered / pcm.length).toBeLessThan(0.05);
    }
  });

  it('in tone mode replaces every key with the same flat tone, which no DTMF ear hears', () => {
    const { pcm, spans } = keySequence('19*D', { toneMs: 200 });
    const { out } = run(pcm, { mode: 'tone' });
    expect(detectKeys(out)).toEqual([]);
    expect(probeHits(out)).toEqual([]);
    const levels = spans.map(({ start, end }) => rms(out, start + D, end + D));
    for (const level of levels) {
      // 400 Hz at −20 dBm0: peak ≈ 2330, RMS ≈ 1650, the same whatever the key.
      expect(level).toBeGreaterThan(1500);
      expect(level).toBeLessThan(1800);
    }
    for (const { start, end } of spans) {
      let changes = 0;
      for (let n = start + D + 1; n < end + D; n++) if ((out[n] as number) >= 0 !== (out[n - 1] as number) >= 0) changes++;
      // 400 Hz: 800 sign changes a second.
      expect(changes / ((end - start) / 8000)).toBeGreaterThan(760);
      expect(changes / ((end - start) / 8000)).toBeLessThan(840);
    }
  });

  it('masks a tone already in the delay line when masking is switched on', () => {
    const { pcm, spans } = keySequence('7', { leadMs: 200 });
    const first = spans[0] as ToneSpan;
    // Masking comes on one frame after the tone began: that frame has not left the delay line yet.
    const onFrom = Math.floor(first.start / 160) + 1;
    const { out } = run(pcm, {}, (f) => f >= onFrom);
    expect(unmaskedToneSamples(out, spans)).toBe(0);
    expect(detectKeys(out)).toEqual([]);
  });

  it('switched off as the last key is reported (the flow ends a field on it), still masks the rest of that tone', () => {
    // The flow hears a key at its start and turns masking off on a field's last digit: the tone goes on for
    // another 100 ms, and none of it may reach the agent.
    const { pcm, spans } = keySequence('123', { toneMs: 150, background: (n) => speechLike(n) });
    const masker = new DtmfMasker({ mode: 'silence', onDigitStart: (key) => key === '3' && (masker.masking = false) });
    masker.masking = true;
    const out = new Int16Array(pcm.length + D);
    const input = new Int16Array(160);
    const output = new Int16Array(160);
    for (let f = 0; f * 160 < out.length; f++) {
      input.fill(0);
      if (f * 160 < pcm.length) input.set(pcm.subarray(f * 160, f * 160 + 160));
      masker.process(input, output);
      out.set(output, f * 160);
    }
    expect(masker.masking).toBe(false);
    expect(masker.maskingActive).toBe(false);
    expect(unmaskedToneSamples(out, spans)).toBe(0);
    expect(detectKeys(out)).toEqual([]);
    // Soon after the tone the speech passes again, unchanged.
    const after = spans.at(-1)!.end + 400;
    expect(Array.from(out.subarray(after + D, pcm.length + D))).toEqual(Array.from(pcm.subarray(after)));
  });

  it('with externalTone (an RFC 4733 event) masks everything not yet sent', () => {
    const masker = new DtmfMasker({ mode: 'silence' });
    masker.masking = true;
    const loud = new Int16Array(160).fill(1000);
    const out = new Int16Array(160);
    masker.process(loud, out);
    masker.process(loud, out);
    masker.process(loud, out, true);
    expect(Array.from(out).every((v) => v === 0)).toBe(true);
    // Hang-over: 30 ms after the last flagged frame.
    masker.process(loud, out);
    masker.process(loud, out);
    expect(out[0]).toBe(0);
    for (let i = 0; i < 4; i++) masker.process(loud, out);
    expect(Array.from(out).every((v) => v === 1000)).toBe(true);
  });

  it('with no look-ahead cannot mask a tone from its start: why the delay exists', () => {
    // The tone starts 10 samples before the end of a frame.
    const { pcm, spans } = keySequence('3', { leadMs: 118.75 });
    const digits: DtmfKey[] = [];
    const masker = new DtmfMasker({ mode: 'silence', lookAheadMs: 0, onDigitStart: (k) => digits.push(k) });
    masker.masking = true;
    const out = new Int16Array(pcm.length);
    const frame = new Int16Array(160);
    for (let f = 0; f * 160 < pcm.length; f++) {
      masker.process(pcm.subarray(f * 160, f * 160 + 160), frame);
      out.set(frame, f * 160);
    }
    const { start } = spans[0] as ToneSpan;
    expect(out.subarray(start, start + 40).some((v) => v !== 0)).toBe(true);
    expect(() => new DtmfMasker({ lookAheadMs: 41 })).toThrow(RangeError);
  });

  it('rethrows a callback error after the frame is written', () => {
    const { pcm } = keySequence('1', { leadMs: 0 });
    const masker = new DtmfMasker({
      mode: 'silence',
      onDigitStart: () => {
        throw new Error('listener bug');
      },
    });
    masker.masking = true;
    const out = new Int16Array(160).fill(123);
    let thrown: unknown;
    for (let f = 0; f * 160 < pcm.length && !thrown; f++) {
      try {
        masker.process(pcm.subarray(f * 160, f * 160 + 160), out);
      } catch (error) {
        thrown = error;
      }
    }
    expect((thrown as Error).message).toBe('listener bug');
    expect(out[0]).not.toBe(123);
  });
});
