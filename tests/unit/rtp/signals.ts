/**
 * Test signals for the RTP tests: DTMF key sequences made with the engine's
 * own ToneGenerator, a speech-like signal, and the two DTMF "ears" every
 * leak check uses (the Q.24 detector and the lenient energy probe).
 */
import { DtmfDetector, dtmfToneEnergyPresent } from '../../../media-server/embedded/media/dtmf-detector.js';
import type { DtmfKey } from '../../../domain/dtmf-key.js';
import { amplitudeToDbm0 } from '../../../media-server/embedded/media/signal-level.js';
import { ToneGenerator, type DtmfToneOptions } from '../../../media-server/embedded/media/tone-generator.js';

export const RATE = 8000;
export const samples = (ms: number): number => Math.round((ms * RATE) / 1000);

/** Where a key's tone lies in a generated signal, in samples. */
export interface ToneSpan {
  readonly key: DtmfKey;
  readonly start: number;
  readonly end: number;
}

export interface KeySequence {
  readonly pcm: Int16Array;
  readonly spans: readonly ToneSpan[];
}

/** `leadMs` of `background` (silence by default), then each key `toneMs` followed by `gapMs` of background. */
export function keySequence(
  keys: string,
  options: { toneMs?: number; gapMs?: number; leadMs?: number; tailMs?: number; tone?: DtmfToneOptions; background?: (n: number) => Int16Array } = {},
): KeySequence {
  const tone = samples(options.toneMs ?? 100);
  const gap = samples(options.gapMs ?? 100);
  const lead = samples(options.leadMs ?? 100);
  const tail = samples(options.tailMs ?? 200);
  const total = Math.ceil((lead + keys.length * (tone + gap) + tail) / 160) * 160;
  const pcm = options.background ? options.background(total) : new Int16Array(total);
  const spans: ToneSpan[] = [];
  let at = lead;
  for (const key of keys as Iterable<DtmfKey>) {
    ToneGenerator.dtmf(key, options.tone).add(pcm, at, tone);
    spans.push({ key, start: at, end: at + tone });
    at += tone + gap;
  }
  return { pcm, spans };
}

/** A small deterministic PRNG (mulberry32). */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Voiced-speech-like audio: a glottal pulse train (f0 wandering 90–220 Hz)
 * through three moving formant resonators, syllable envelopes at ~4 Hz, and
 * a little aspiration noise; peaks around −12 dBm0.
 */
export function speechLike(n: number, seed = 1): Int16Array {
  const rnd = random(seed);
  const out = new Int16Array(n);
  const formants = [
    { f: 600, bw: 90, y1: 0, y2: 0 },
    { f: 1400, bw: 120, y1: 0, y2: 0 },
    { f: 2600, bw: 200, y1: 0, y2: 0 },
  ];
  let phase = 0;
  let f0 = 130;
  for (let i = 0; i < n; i++) {
    const t = i / RATE;
    f0 += (rnd() - 0.5) * 2;
    f0 = Math.min(220, Math.max(90, f0 + 0.02 * (140 + 60 * Math.sin(2 * Math.PI * 0.7 * t) - f0)));
    phase += f0 / RATE;
    let excitation = 0;
    if (phase >= 1) {
      phase -= 1;
      excitation = 1;
    }
    excitation += (rnd() - 0.5) * 0.05;
    formants[0]!.f = 500 + 250 * Math.sin(2 * Math.PI * 1.3 * t);
    formants[1]!.f = 1300 + 500 * Math.sin(2 * Math.PI * 0.9 * t + 1);
    let y = 0;
    for (const r of formants) {
      const radius = Math.exp((-Math.PI * r.bw) / RATE);
      const c1 = 2 * radius * Math.cos((2 * Math.PI * r.f) / RATE);
      const c2 = -radius * radius;
      const v = excitation + c1 * r.y1 + c2 * r.y2;
      r.y2 = r.y1;
      r.y1 = v;
      y += v;
    }
    const envelope = Math.max(0, Math.sin(2 * Math.PI * 4 * t)) ** 0.5;
    out[i] = Math.max(-32768, Math.min(32767, Math.round(y * envelope * 450)));
  }
  return out;
}

/** White noise at `rms` (16-bit scale). */
export function noise(n: number, rms: number, seed = 2): Int16Array {
  const rnd = random(seed);
  const out = new Int16Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.round((rnd() + rnd() + rnd() - 1.5) * 2 * rms);
  return out;
}

/** Keys the Q.24 detector hears in `pcm`. */
export function detectKeys(pcm: Int16Array): DtmfKey[] {
  const keys: DtmfKey[] = [];
  const detector = new DtmfDetector({ onDigitStart: (key) => keys.push(key) });
  detector.process(pcm);
  return keys;
}

/** Start samples of the 80-sample windows (hop 40) where the lenient probe finds tone-pair energy, −40 dBm0 and up. */
export function probeHits(pcm: Int16Array): number[] {
  const hits: number[] = [];
  for (let at = 0; at + 80 <= pcm.length; at += 40) {
    if (dtmfToneEnergyPresent(pcm, at, 80, { minToneLevelDbm0: -40 })) hits.push(at);
  }
  return hits;
}

export function rms(pcm: Int16Array, from = 0, to = pcm.length): number {
  let sum = 0;
  for (let i = from; i < to; i++) sum += (pcm[i] as number) ** 2;
  return Math.sqrt(sum / Math.max(1, to - from));
}

/**
 * The loudest level, in dBm0, of a sine at `hz` in `pcm`: Goertzel over
 * Hann-windowed 20 ms windows every 5 ms, scaled so that a steady sine reads
 * its own level. The Hann window keeps a masking tone 300 Hz away (400 Hz vs
 * 697 Hz) some 50 dB under its own level, so what this hears at a DTMF
 * frequency is DTMF. −Infinity for silence.
 */
export function maxToneLevelDbm0(pcm: Int16Array, hz: number): number {
  const n = 160;
  const coef = 2 * Math.cos((2 * Math.PI * hz) / RATE);
  let windowSum = 0;
  const window = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    window[i] = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (n - 1));
    windowSum += window[i] as number;
  }
  let loudest = 0;
  for (let at = 0; at + n <= pcm.length; at += 40) {
    let s1 = 0;
    let s2 = 0;
    for (let i = 0; i < n; i++) {
      const s0 = (pcm[at + i] as number) * (window[i] as number) + coef * s1 - s2;
      s2 = s1;
      s1 = s0;
    }
    // |X(f)| of a sine of amplitude A under the window is A·Σw/2.
    const amplitude = (2 * Math.sqrt(Math.max(0, s1 * s1 + s2 * s2 - coef * s1 * s2))) / windowSum;
    if (amplitude > loudest) loudest = amplitude;
  }
  return amplitudeToDbm0(loudest);
}
