/**
 * One masking trial: utterances laid end to end with pauses, at a set level,
 * with or without a little white noise, with or without DTMF keys mixed in
 * the way a caller keys a card number (bursts of one to four keys).
 */
import { DTMF_KEYS, type DtmfKey } from '../../domain/dtmf-key.js';
import { dbm0ToAmplitude } from '../../media-server/embedded/media/signal-level.js';
import { ToneGenerator } from '../../media-server/embedded/media/tone-generator.js';
import type { Utterance } from './spoken-corpus.js';

export const TRIAL_RATE = 8000;
export const TRIAL_FRAME = 160;

/** A frame is speech when its power is within this of its utterance's loudest frame. */
const SPEECH_FRAME_RANGE_DB = 30;

export interface KeyMixOptions {
  /** Level of the weaker tone of each key; twist raises the other. Default −25 dBm0 (Q.24's quietest). */
  readonly levelDbm0?: number;
  /** Tone pair (both tones at `levelDbm0`) over the speech's active level and the noise. Default 20 dB. */
  readonly snrDb?: number;
  /** Tone durations, uniform in [min, max] ms. Default 40–100 (Q.24: ≥ 40 ms must be accepted). */
  readonly toneMs?: readonly [number, number];
  /** Gaps within a burst, uniform in [min, max] ms. Default 40–150 (Q.24: ≥ 40 ms). */
  readonly gapMs?: readonly [number, number];
  /** Pauses between bursts, uniform, ms. Default 300–1500. */
  readonly burstGapMs?: readonly [number, number];
  /**
   * Twist, low-group level less high-group level, uniform in [min, max] dB.
   * Default −4 to +8: the high tone up to 4 dB louder, the low one up to
   * 8 dB (the Bellcore and spandsp limits the detector accepts, within Q.24).
   */
  readonly twistDb?: readonly [number, number];
  /** Each tone's frequency error, uniform within ± this. Default 0.015 (Q.24: ±1.5 % must be accepted). */
  readonly maxDeviation?: number;
}

export interface TrialOptions {
  /** Seeds the pauses, noise and keys. */
  readonly seed: number;
  /** Active speech level without keys. Default −23 dBm0 (ITU-T P.56's nominal −26 dBov). */
  readonly speechLevelDbm0?: number;
  /** White noise this many dB under the speech's active level. Default: no noise. */
  readonly noiseDb?: number;
  /** Keys mixed in, the speech and noise turned down to their SNR. Default: no keys. */
  readonly keys?: KeyMixOptions;
}

/** Where one key's tones lie in the trial, in samples. */
export interface KeyTone {
  readonly key: DtmfKey;
  readonly start: number;
  readonly end: number;
  readonly lowLevelDbm0: number;
  readonly highLevelDbm0: number;
  readonly lowDeviation: number;
  readonly highDeviation: number;
}

/** Where one utterance lies, in frames. */
export interface TrialSegment {
  readonly voice: string;
  readonly text: string;
  readonly firstFrame: number;
  readonly endFrame: number;
}

export interface Trial {
  /** What the caller's phone sends, before G.711: whole 20 ms frames. */
  readonly pcm: Int16Array;
  /** 1 for each frame with speech energy (from the speech alone, before noise and keys). */
  readonly speechFrames: Uint8Array;
  readonly keys: readonly KeyTone[];
  readonly segments: readonly TrialSegment[];
  /** Active speech level used, dBm0. */
  readonly speechLevelDbm0: number;
}

/** A small seeded PRNG (mulberry32): trials are the same from run to run. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Mean power of a sine at `levelDbm0`, 16-bit scale. */
function sineMeanSquare(levelDbm0: number): number {
  const amplitude = dbm0ToAmplitude(levelDbm0);
  return (amplitude * amplitude) / 2;
}

function framePowers(pcm: Int16Array): Float64Array {
  const powers = new Float64Array(Math.floor(pcm.length / TRIAL_FRAME));
  for (let f = 0; f < powers.length; f++) {
    let sum = 0;
    for (let i = f * TRIAL_FRAME; i < (f + 1) * TRIAL_FRAME; i++) sum += (pcm[i] as number) ** 2;
    powers[f] = sum / TRIAL_FRAME;
  }
  return powers;
}

export function buildTrial(utterances: readonly Utterance[], options: TrialOptions): Trial {
  const rnd = seededRandom(options.seed);
  const uniform = ([min, max]: readonly [number, number]): number => min + (max - min) * rnd();
  const toSamples = (ms: number): number => Math.round((ms * TRIAL_RATE) / 1000);
  const keyOptions = options.keys;
  // At the SNR the tone pair at its weaker level is snrDb over the speech.
  const speechLevel = keyOptions
    ? 10 * Math.log10(2 * 10 ** ((keyOptions.levelDbm0 ?? -25) / 10)) - (keyOptions.snrDb ?? 20)
    : (options.speechLevelDbm0 ?? -23);
  const targetMeanSquare = sineMeanSquare(speechLevel);

  const pauses = utterances.map(() => Math.round(uniform([300, 800]) / 20));
  const lead = 10;
  const totalFrames = lead + utterances.reduce((n, u, i) => n + Math.ceil(u.pcm.length / TRIAL_FRAME) + (pauses[i] as number), 0);
  const mix = new Float64Array(totalFrames * TRIAL_FRAME);
  const speechFrames = new Uint8Array(totalFrames);
  const segments: TrialSegment[] = [];
  let frame = lead;
  utterances.forEach((u, i) => {
    const frames = Math.ceil(u.pcm.length / TRIAL_FRAME);
    const padded = new Int16Array(frames * TRIAL_FRAME);
    padded.set(u.pcm);
    const powers = framePowers(padded);
    const peak = Math.max(...powers);
    const floor = peak * 10 ** (-SPEECH_FRAME_RANGE_DB / 10);
    let activeSum = 0;
    let active = 0;
    powers.forEach((p, f) => {
      if (p > 0 && p >= floor) {
        activeSum += p;
        active++;
        speechFrames[frame + f] = 1;
      }
    });
    const gain = active > 0 ? Math.sqrt(targetMeanSquare / (activeSum / active)) : 0;
    const at = frame * TRIAL_FRAME;
    for (let n = 0; n < padded.length; n++) mix[at + n] = (padded[n] as number) * gain;
    segments.push({ voice: u.voice, text: u.text, firstFrame: frame, endFrame: frame + frames });
    frame += frames + (pauses[i] as number);
  });

  if (options.noiseDb !== undefined) {
    const sigma = Math.sqrt(targetMeanSquare * 10 ** (-options.noiseDb / 10));
    for (let n = 0; n < mix.length; n++) {
      // Box–Muller: Gaussian white noise.
      const u1 = rnd() || Number.MIN_VALUE;
      mix[n] = (mix[n] as number) + sigma * Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * rnd());
    }
  }

  const pcm = new Int16Array(mix.length);
  for (let n = 0; n < mix.length; n++) pcm[n] = Math.max(-32768, Math.min(32767, Math.round(mix[n] as number)));

  const keys = keyOptions ? mixKeys(pcm, keyOptions, rnd, uniform, toSamples) : [];
  return { pcm, speechFrames, keys, segments, speechLevelDbm0: speechLevel };
}

function mixKeys(
  pcm: Int16Array,
  options: KeyMixOptions,
  rnd: () => number,
  uniform: (range: readonly [number, number]) => number,
  toSamples: (ms: number) => number,
): KeyTone[] {
  const level = options.levelDbm0 ?? -25;
  const deviation = options.maxDeviation ?? 0.015;
  const keys: KeyTone[] = [];
  let at = toSamples(uniform(options.burstGapMs ?? [300, 1500]));
  const last = pcm.length - toSamples(300);
  while (at < last) {
    const burst = 1 + Math.floor(rnd() * 4);
    for (let k = 0; k < burst && at < last; k++) {
      const key = DTMF_KEYS[Math.floor(rnd() * DTMF_KEYS.length)] as DtmfKey;
      const length = Math.min(toSamples(uniform(options.toneMs ?? [40, 100])), pcm.length - at);
      const twist = uniform(options.twistDb ?? [-4, 8]);
      const tone = {
        lowLevelDbm0: level + Math.max(0, twist),
        highLevelDbm0: level + Math.max(0, -twist),
        lowDeviation: (2 * rnd() - 1) * deviation,
        highDeviation: (2 * rnd() - 1) * deviation,
      };
      ToneGenerator.dtmf(key, tone).add(pcm, at, length);
      keys.push({ key, start: at, end: at + length, ...tone });
      at += length + toSamples(uniform(options.gapMs ?? [40, 150]));
    }
    at += toSamples(uniform(options.burstGapMs ?? [300, 1500]));
  }
  return keys;
}
