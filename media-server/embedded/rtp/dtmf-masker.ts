import { DTMF_BLOCK_SIZE, DtmfDetector, dtmfTonePairIndex, type DtmfDetectorActivity, type DtmfProbeOptions } from '../media/dtmf-detector.js';
import type { DtmfKey } from '../../../domain/dtmf-key.js';
import { ToneGenerator, type ToneComponent } from '../media/tone-generator.js';
import { FRAME_SAMPLES } from './jitter-buffer.js';

/** What a masked key press becomes: silence, or one flat tone whatever the key. */
export type MaskMode = 'silence' | 'tone';

/** The largest look-ahead: the delay it adds to the forwarded audio (at most 40 ms, so the agent hears the caller with no noticeable delay). */
export const MAX_LOOK_AHEAD_MS = 40;

/** Default masking tone: 400 Hz (no DTMF frequency near it) at a modest −20 dBm0. */
export const DEFAULT_MASK_TONE: ToneComponent = Object.freeze({ frequencyHz: 400, levelDbm0: -20 });

export interface DtmfMaskerOptions {
  /** Default 'tone'. */
  readonly mode?: MaskMode;
  /**
   * How far the output lags the input, 0–40 ms, so that a tone found in
   * the input is replaced in the output from its first sample. Default 40:
   * the detector confirms a key at most 38 ms after the tone began (two
   * 102-sample blocks plus up to one block of misalignment); the probe
   * within 20 ms (two 10 ms windows, 5 ms apart, plus one hop).
   */
  readonly lookAheadMs?: number;
  /** Masking starts this long before where a tone is first seen. Default 20 ms. */
  readonly preRollMs?: number;
  /** Masking goes on this long after a tone was last seen. Default 30 ms. */
  readonly hangOverMs?: number;
  /** Default 400 Hz at −20 dBm0. */
  readonly maskTone?: ToneComponent;
  /**
   * Quietest tone pair the look-ahead probe flags (`dtmfToneEnergyPresent`,
   * which allows 6 dB more). Default −40 dBm0: 10 dB under the detector's own
   * minimum, so tones too quiet for our detector but audible are masked too.
   */
  readonly probeMinLevelDbm0?: number;
  /**
   * Share of a probe window's energy the tone pair's bins must hold. Default
   * 0.57, measured with `npm run masking-quality`: at 0.5 a vowel with one
   * harmonic in a row bin and one in a column bin passed in 3 % of the
   * windows of telephone speech; at 0.55 English speech still lost 1.4 % of
   * its frames; at 0.58 keys 10 dB over speech began to leak.
   */
  readonly probeMinEnergyRatio?: number;
  /**
   * Largest row/column level difference the probe flags, either way.
   * Default 14 dB: a twist of 10 dB (the most a receiver may accept) with
   * the high tone 2.5 % off frequency reads over 12 dB in a 10 ms window's bins.
   */
  readonly probeMaxTwistDb?: number;
  /**
   * Consecutive probe windows (10 ms, every 5 ms) that must find the same
   * tone pair before it is masked, from the start of the first window in a
   * row that found any. Default 2: a tone of 15 ms or more, flagged at most
   * 20 ms after it begins; speech that passes one window mostly hops to
   * other bins in the next. 1–5: a longer run would end after a tone's
   * first samples left a 40 ms delay line.
   */
  readonly probeMinWindows?: number;
  /**
   * A key press was confirmed in the input; `startSample` counts input
   * samples from 0. An error it throws is rethrown by `process` once the
   * frame is complete (its output written).
   */
  readonly onDigitStart?: (key: DtmfKey, startSample: number) => void;
  /** The key's tones stopped. Errors as `onDigitStart`. */
  readonly onDigitEnd?: (key: DtmfKey, startSample: number, endSample: number) => void;
}

export interface DtmfMaskerStats {
  /** Output samples replaced by silence or the masking tone. */
  readonly maskedSamples: number;
  /** Input samples flagged as (near) a DTMF tone, masked or not. */
  readonly flaggedSamples: number;
  readonly digits: number;
}

/** Ring size: the look-ahead plus a frame plus room, a power of two. */
const RING = 1024;
const RING_MASK = RING - 1;
/** Probe windows: 80 samples (10 ms, 100 Hz bins) every 40 samples, the first straddling the previous frame. */
const PROBE_WINDOW = 80;
const PROBE_HOP = 40;

/**
 * The DTMF detector of one leg's received audio and the masker of what is
 * forwarded from it (ARCHITECTURE.md "Capture rules": a key
 * press becomes silence or a flat tone, the same for every key).
 *
 * Each 20 ms frame of received audio goes into a delay line; the frame that
 * comes out is the one received `lookAheadMs` earlier. Before it leaves,
 * three sources flag samples as tone:
 *
 * - the probe `dtmfTonePairIndex` on 10 ms windows every 5 ms, once
 *   `probeMinWindows` in a row find the same tone pair (tuned against
 *   spoken sentences: `npm run masking-quality`);
 * - the Q.24 `DtmfDetector` (confirmed key from its start sample; its
 *   `activity` while a tone is starting or on);
 * - `process(…, externalTone)`: an RFC 4733 event in progress, which flags
 *   everything still in the delay line.
 *
 * Each flag covers the suspicious samples plus `preRollMs` before and
 * `hangOverMs` after. While `masking` is on, flagged samples leave as
 * silence or the masking tone. Flags are kept whether masking is on or not,
 * so switching it on also masks a tone already in the delay line. With
 * masking off the audio passes unchanged, still delayed (the delay stays
 * constant, so toggling never glitches). Allocation-free per frame.
 */
export class DtmfMasker {
  /** Output delay in samples. */
  readonly delaySamples: number;
  readonly mode: MaskMode;
  /** Masking as applied to the samples leaving now (see `masking`). */
  #masking = false;
  #unmaskRequested = false;
  readonly #preRoll: number;
  readonly #hangOver: number;
  readonly #probeOptions: DtmfProbeOptions;
  readonly #probeMinWindows: number;
  readonly #detector: DtmfDetector;
  readonly #tone: ToneGenerator;
  readonly #ring = new Int16Array(RING);
  readonly #flags = new Uint8Array(RING);
  /** Last `PROBE_HOP` input samples of the previous frame, then this frame. */
  readonly #window = new Int16Array(PROBE_HOP + FRAME_SAMPLES);
  readonly #onDigitStart: DtmfMaskerOptions['onDigitStart'];
  readonly #onDigitEnd: DtmfMaskerOptions['onDigitEnd'];
  /** Input samples consumed. */
  #written = 0;
  /** Input samples up to which masking continues (hang-over past the input). */
  #maskUntil = 0;
  #maskedSamples = 0;
  #flaggedSamples = 0;
  #digits = 0;
  /** Consecutive probe windows so far that held the same tone pair, where the first began, and the pair. */
  #probeRun = 0;
  #probeRunStart = 0;
  #probePair = -1;
  #callbackFailed = false;
  #callbackError: unknown = undefined;

  constructor(options: DtmfMaskerOptions = {}) {
    const lookAheadMs = options.lookAheadMs ?? MAX_LOOK_AHEAD_MS;
    if (!(lookAheadMs >= 0 && lookAheadMs <= MAX_LOOK_AHEAD_MS)) {
      throw new RangeError(`lookAheadMs must be within 0–${MAX_LOOK_AHEAD_MS}, got ${lookAheadMs}`);
    }
    this.delaySamples = Math.round(lookAheadMs * 8);
    this.mode = options.mode ?? 'tone';
    this.#preRoll = Math.round((options.preRollMs ?? 20) * 8);
    this.#hangOver = Math.round((options.hangOverMs ?? 30) * 8);
    if (!(this.#preRoll >= 0 && this.#hangOver >= 0)) throw new RangeError('preRollMs and hangOverMs must be ≥ 0');
    this.#probeOptions = {
      minToneLevelDbm0: options.probeMinLevelDbm0 ?? -40,
      minEnergyRatio: options.probeMinEnergyRatio ?? 0.57,
      maxTwistDb: options.probeMaxTwistDb ?? 14,
    };
    this.#probeMinWindows = options.probeMinWindows ?? 2;
    if (!(Number.isInteger(this.#probeMinWindows) && this.#probeMinWindows >= 1 && this.#probeMinWindows <= 5)) {
      throw new RangeError(`probeMinWindows must be an integer within 1–5, got ${this.#probeMinWindows}`);
    }
    this.#tone = new ToneGenerator([options.maskTone ?? DEFAULT_MASK_TONE]);
    this.#onDigitStart = options.onDigitStart;
    this.#onDigitEnd = options.onDigitEnd;
    this.#detector = new DtmfDetector({
      onDigitStart: (key, start) => this.#digitStarted(key, start),
      onDigitEnd: (key, start, end) => this.#digitEnded(key, start, end),
    });
  }

  /**
   * Whether masking was asked for. Switching it on takes effect from the next
   * sample out (and covers a tone already in the delay line). Switching it off
   * waits until no flagged sample is left to send and no tone is going on: the
   * flow turns masking off on the last digit of a field, which the detector
   * reports at the start of its key press, and the rest of that tone must not
   * reach the peer.
   */
  get masking(): boolean {
    return this.#masking && !this.#unmaskRequested;
  }

  set masking(on: boolean) {
    if (on) {
      this.#masking = true;
      this.#unmaskRequested = false;
    } else if (this.#masking) {
      this.#unmaskRequested = true;
    }
  }

  /** Whether samples are still being masked (masking on, or switched off with a tone not yet over). */
  get maskingActive(): boolean {
    return this.#masking;
  }

  /** The in-band detector's view of the input: idle, something tone-like, or a key held. */
  get activity(): DtmfDetectorActivity {
    return this.#detector.activity;
  }

  stats(): DtmfMaskerStats {
    return { maskedSamples: this.#maskedSamples, flaggedSamples: this.#flaggedSamples, digits: this.#digits };
  }

  /**
   * Takes one 160-sample frame of received audio and writes the 160 samples
   * leaving the delay line to `output` (masked while `masking` is on).
   * `externalTone`: a key press is known to be in progress by other means
   * (an RFC 4733 event): everything not yet sent is masked.
   */
  process(input: Int16Array, output: Int16Array, externalTone = false): void {
    if (input.length < FRAME_SAMPLES || output.length < FRAME_SAMPLES) {
      throw new RangeError(`frames are ${FRAME_SAMPLES} samples, got ${input.length} in and ${output.length} out`);
    }
    const w = this.#written;
    const ring = this.#ring;
    const flags = this.#flags;
    const maskUntil = this.#maskUntil;
    for (let i = 0; i < FRAME_SAMPLES; i++) {
      const n = w + i;
      ring[n & RING_MASK] = input[i] as number;
      if (n < maskUntil) {
        flags[n & RING_MASK] = 1;
        this.#flaggedSamples++;
      } else {
        flags[n & RING_MASK] = 0;
      }
    }
    this.#written = w + FRAME_SAMPLES;
    const end = this.#written;

    const win = this.#window;
    win.copyWithin(0, FRAME_SAMPLES, FRAME_SAMPLES + PROBE_HOP);
    for (let i = 0; i < FRAME_SAMPLES; i++) win[PROBE_HOP + i] = input[i] as number;
    for (let at = 0; at + PROBE_WINDOW <= win.length; at += PROBE_HOP) {
      const start = w - PROBE_HOP + at;
      const pair = dtmfTonePairIndex(win, at, PROBE_WINDOW, this.#probeOptions);
      if (pair < 0) {
        this.#probeRun = 0;
        this.#probePair = -1;
        continue;
      }
      if (this.#probePair < 0) this.#probeRunStart = start;
      if (pair !== this.#probePair) {
        this.#probeRun = 0;
        this.#probePair = pair;
      }
      if (++this.#probeRun >= this.#probeMinWindows) this.#flag(this.#probeRunStart - this.#preRoll, start + PROBE_WINDOW + this.#hangOver);
    }

    this.#detector.process(input, 0, FRAME_SAMPLES);
    if (this.#detector.activity !== 'idle') this.#flag(w - DTMF_BLOCK_SIZE - this.#preRoll, end + this.#hangOver);
    if (externalTone) this.#flag(w - this.delaySamples, end + this.#hangOver);

    const from = w - this.delaySamples;
    let runStart = -1;
    for (let i = 0; i < FRAME_SAMPLES; i++) {
      const n = from + i;
      if (n < 0) {
        output[i] = 0;
        continue;
      }
      const masked = this.#masking && flags[n & RING_MASK] === 1;
      if (masked) {
        if (runStart < 0) runStart = i;
      } else {
        if (runStart >= 0) {
          this.#fillMask(output, runStart, i - runStart);
          runStart = -1;
        }
        output[i] = ring[n & RING_MASK] as number;
      }
    }
    if (runStart >= 0) this.#fillMask(output, runStart, FRAME_SAMPLES - runStart);
    if (this.#unmaskRequested && !externalTone && this.#detector.activity === 'idle' && from + FRAME_SAMPLES >= this.#maskUntil) {
      this.#masking = false;
      this.#unmaskRequested = false;
    }
    if (this.#callbackFailed) {
      const error = this.#callbackError;
      this.#callbackFailed = false;
      this.#callbackError = undefined;
      throw error;
    }
  }

  /** Flags input samples [from, to) as tone; what lies beyond the input so far is flagged as it arrives. */
  #flag(from: number, to: number): void {
    const first = Math.max(from, this.#written - this.delaySamples - FRAME_SAMPLES, 0);
    const last = Math.min(to, this.#written);
    const flags = this.#flags;
    for (let n = first; n < last; n++) {
      if (flags[n & RING_MASK] === 0) {
        flags[n & RING_MASK] = 1;
        this.#flaggedSamples++;
      }
    }
    if (to > this.#maskUntil) this.#maskUntil = to;
  }

  #fillMask(output: Int16Array, offset: number, count: number): void {
    this.#maskedSamples += count;
    if (this.mode === 'tone') this.#tone.fill(output, offset, count);
    else output.fill(0, offset, offset + count);
  }

  #digitStarted(key: DtmfKey, startSample: number): void {
    this.#digits++;
    this.#flag(startSample - this.#preRoll, this.#written + this.#hangOver);
    try {
      this.#onDigitStart?.(key, startSample);
    } catch (error) {
      this.#keepCallbackError(error);
    }
  }

  #digitEnded(key: DtmfKey, startSample: number, endSample: number): void {
    this.#flag(startSample - this.#preRoll, endSample + this.#hangOver);
    try {
      this.#onDigitEnd?.(key, startSample, endSample);
    } catch (error) {
      this.#keepCallbackError(error);
    }
  }

  #keepCallbackError(error: unknown): void {
    if (this.#callbackFailed) return;
    this.#callbackFailed = true;
    this.#callbackError = error;
  }
}
