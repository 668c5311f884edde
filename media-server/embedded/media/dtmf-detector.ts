import { type DtmfKey } from '../../../domain/dtmf-key.js';
import { DTMF_COLUMN_FREQUENCIES, DTMF_KEYPAD, DTMF_ROW_FREQUENCIES } from './dtmf-keypad.js';
import { dbm0ToAmplitude } from './signal-level.js';

/** The detector works on 8 kHz narrowband audio only. */
export const DTMF_SAMPLE_RATE = 8000;

/**
 * Analysis block: 102 samples, 12.75 ms, as spandsp's dtmf.c. Its Goertzel
 * bins (78 Hz wide) separate the closest DTMF frequencies (697/770 Hz) by
 * 22 dB, and a 40 ms tone always covers two whole blocks, so "two
 * consecutive blocks" accepts every 40 ms tone.
 */
export const DTMF_BLOCK_SIZE = 102;

const HALF = DTMF_BLOCK_SIZE / 2;
const N = DTMF_BLOCK_SIZE;
const FS = DTMF_SAMPLE_RATE;
const TWO_PI = 2 * Math.PI;
/** Spacing of the block-to-block phase estimate's aliases, Hz. */
const FINE_ALIAS_HZ = FS / N;

export interface DtmfDetectorOptions {
  /**
   * Quietest tone accepted, per tone, after allowing for its frequency
   * error. Default −30 dBm0: Q.24 / Bellcore receivers must operate down to
   * −25 dBm0 per tone; 5 dB of margin for line loss.
   */
  readonly minToneLevelDbm0?: number;
  /**
   * Low-group tone louder than the high one by at most this (normal twist).
   * Default 9 dB: Bellcore receivers must accept 8 dB and reject beyond
   * 10 dB; the extra dB absorbs the level error of a tone pair at 20 dB SNR
   * through µ-law, which made keys at exactly 8 dB go missing.
   */
  readonly maxNormalTwistDb?: number;
  /**
   * High-group tone louder than the low one by at most this (reverse twist).
   * Default 5 dB: must accept 4 dB, reject beyond 10 dB; 1 dB of margin as above.
   */
  readonly maxReverseTwistDb?: number;
  /**
   * Largest relative frequency error accepted, each tone. Default 0.025: the
   * midpoint between Q.24's "must accept ±1.5 %" and "must reject ±3.5 %".
   */
  readonly maxFrequencyDeviation?: number;
  /**
   * Smallest share of a block's energy the tone pair must hold. Default 0.92
   * (−0.36 dB): rejects speech and noise (the energy is elsewhere, including
   * in second harmonics), tones with a noise floor above ≈ −11 dB, and tones
   * shorter than 23 ms (two blocks each ≥ 92 % covered need 188 samples).
   */
  readonly minToneEnergyRatio?: number;
  /**
   * Every other frequency of each group at least this much below the
   * strongest. Default 7 dB: with spandsp's 8 dB, a low tone 6.5 dB or more
   * louder than the high one (normal twist Q.24 accepts) leaks enough into
   * the next column bin of a 102-sample block to reject the key.
   */
  readonly minRelativePeakDb?: number;
  /** A key press was confirmed: its tones began at stream sample `startSample`. */
  readonly onDigitStart?: (key: DtmfKey, startSample: number) => void;
  /** The key's tones stopped at stream sample `endSample`. */
  readonly onDigitEnd?: (key: DtmfKey, startSample: number, endSample: number) => void;
}

/**
 * `idle`: nothing like DTMF in the last block; `tone`: the last block looks
 * like a tone pair that is not (yet) a confirmed key; `digit`: a key press
 * is in progress.
 */
export type DtmfDetectorActivity = 'idle' | 'tone' | 'digit';

/** The eight DTMF frequencies: rows 0–3, columns 4–7. */
const FREQUENCIES = Float64Array.from([...DTMF_ROW_FREQUENCIES, ...DTMF_COLUMN_FREQUENCIES]);
const OMEGA = FREQUENCIES.map((f) => (TWO_PI * f) / FS);
const COEF = OMEGA.map((w) => 2 * Math.cos(w));
const [C0, C1, C2, C3, C4, C5, C6, C7] = Array.from(COEF) as [number, number, number, number, number, number, number, number];
const COS_W = OMEGA.map((w) => Math.cos(w));
const SIN_W = OMEGA.map((w) => Math.sin(w));
const COS_HALF = OMEGA.map((w) => Math.cos(w * HALF));
const SIN_HALF = OMEGA.map((w) => Math.sin(w * HALF));

/** Twist allowed by the lenient "looks like a tone pair" tests: 10 dB either way. */
const LENIENT_TWIST_DB = 10;
const LENIENT_TWIST = dbToPowerRatio(LENIENT_TWIST_DB);
/**
 * Share of a block's energy the tone pair's bins must hold for `activity` to
 * say 'tone' (the masker masks on it). At 0.5, voiced speech with a harmonic
 * in a row bin and one in a column bin (/aɪ/, /ɑ/) passed often enough for
 * the masker to replace 4 % of English speech frames (`npm run masking-quality`).
 */
const TONE_LIKE_MIN_RATIO = 0.7;

function wrapPhase(phase: number): number {
  let p = phase % TWO_PI;
  if (p > Math.PI) p -= TWO_PI;
  else if (p <= -Math.PI) p += TWO_PI;
  return p;
}

/** Power response of an N-sample Goertzel bin to a tone `offsetHz` away (Dirichlet kernel, squared). */
function binGain(offsetHz: number): number {
  const x = (Math.PI * offsetHz) / FS;
  if (Math.abs(x) < 1e-12) return 1;
  const ratio = Math.sin(N * x) / (N * Math.sin(x));
  return ratio * ratio;
}

function dbToPowerRatio(db: number): number {
  return 10 ** (db / 10);
}

/**
 * In-band DTMF detector to the ITU-T Q.24 / Bellcore receiver limits, by
 * Goertzel filters on 102-sample blocks of 8 kHz 16-bit PCM.
 *
 * Each block is run through the eight Goertzel filters as two 51-sample
 * halves, which gives, per frequency, the block's complex DFT coefficient
 * and two phase readings:
 *
 * - a coarse frequency error from the phase advance between the halves
 *   (unambiguous to ±78 Hz, above 3.5 % of 1633 Hz);
 * - a fine one from the phase advance between consecutive blocks (precise,
 *   ambiguous modulo 78 Hz, resolved with the coarse one).
 *
 * The fine error is what enforces the ±1.5 % accept / ±3.5 % reject
 * tolerance: a 78 Hz bin cannot tell 1.5 % from 3.5 % at 697 Hz by
 * amplitude alone. With both frequencies known, a least-squares fit of the
 * two sines to each block gives their exact amplitudes, free of the bins'
 * roll-off and of the other tone's leakage, for the level, twist and
 * energy-ratio tests.
 *
 * A key starts when two consecutive blocks, with the same strongest row and
 * column each ≥ 7 dB above the rest of its group, pass every test for that
 * key (≥ 2 blocks ≥ 92 % filled: tones of 23 ms or less are rejected, 40 ms
 * ones always accepted). It is reported then, with the start of the first block
 * as its start: the earliest a detector that must reject 23 ms tones can be
 * sure. While a key is on, a relaxed presence test (same bins, each ≥ 6 dB
 * under the minimum level, tone pair ≥ 50 % of the energy) keeps it: a
 * break of up to 12 ms (Q.24: ≤ 10 ms must be bridged) spoils at most one
 * block. It ends after two blocks without it: a 40 ms pause (Q.24 minimum)
 * always contains two whole blocks. A different key can follow without a
 * pause (rolled keys). Between blocks `activity` tells a masker whether a
 * tone is starting before it is confirmed.
 *
 * No allocation per frame: state lives in typed arrays; handlers get
 * primitives. A handler that throws does not stop the frame being
 * processed; the first error is rethrown from `process` afterwards.
 */
export class DtmfDetector {
  readonly #minPower: number;
  readonly #normalTwist: number;
  readonly #reverseTwist: number;
  readonly #maxDeviation: number;
  readonly #minRatio: number;
  readonly #relativePeak: number;
  readonly #onDigitStart: DtmfDetectorOptions['onDigitStart'];
  readonly #onDigitEnd: DtmfDetectorOptions['onDigitEnd'];

  readonly #s1 = new Float64Array(8);
  readonly #s2 = new Float64Array(8);
  /** First-half Goertzel outputs of the current block. */
  readonly #aRe = new Float64Array(8);
  readonly #aIm = new Float64Array(8);
  /** Full-block coefficients (up to a common phase factor), current and previous block. */
  #wRe = new Float64Array(8);
  #wIm = new Float64Array(8);
  #prevWRe = new Float64Array(8);
  #prevWIm = new Float64Array(8);
  readonly #power = new Float64Array(8);
  /** Coarse frequency error in Hz, current and previous block. */
  #coarse = new Float64Array(8);
  #prevCoarse = new Float64Array(8);

  /** The last two blocks' samples: block parity p at [p·N, p·N + N). */
  readonly #history = new Float64Array(2 * N);
  #historyBase = 0;
  /** Least-squares normal equations, 4 × 5 augmented, reused. */
  readonly #system = new Float64Array(20);
  #fitRowPower = 0;
  #fitColPower = 0;

  #blockPos = 0;
  #blockStart = 0;
  #energy = 0;
  #havePrev = false;
  #prevRow = -1;
  #prevCol = -1;
  #prevPeaksOk = false;

  #digit = -1;
  #digitStart = 0;
  #digitRowGain = 1;
  #digitColGain = 1;
  #absentBlocks = 0;
  #toneLike = false;
  #handlerError: unknown = undefined;
  #handlerFailed = false;

  constructor(options: DtmfDetectorOptions = {}) {
    const amplitude = dbm0ToAmplitude(options.minToneLevelDbm0 ?? -30);
    this.#minPower = (amplitude * N * amplitude * N) / 4;
    this.#normalTwist = dbToPowerRatio(options.maxNormalTwistDb ?? 9);
    this.#reverseTwist = dbToPowerRatio(options.maxReverseTwistDb ?? 5);
    this.#maxDeviation = options.maxFrequencyDeviation ?? 0.025;
    this.#minRatio = options.minToneEnergyRatio ?? 0.92;
    this.#relativePeak = dbToPowerRatio(options.minRelativePeakDb ?? 7);
    this.#onDigitStart = options.onDigitStart;
    this.#onDigitEnd = options.onDigitEnd;
    if (!(this.#maxDeviation > 0 && this.#maxDeviation < 0.05)) {
      throw new RangeError(`maxFrequencyDeviation must be in (0, 0.05), got ${this.#maxDeviation}`);
    }
    if (!(this.#minRatio > 0.5 && this.#minRatio <= 1)) {
      throw new RangeError(`minToneEnergyRatio must be in (0.5, 1], got ${this.#minRatio}`);
    }
  }

  /** Samples consumed since construction or `reset()`. */
  get samplesProcessed(): number {
    return this.#blockStart + this.#blockPos;
  }

  get activity(): DtmfDetectorActivity {
    return this.#digit >= 0 ? 'digit' : this.#toneLike ? 'tone' : 'idle';
  }

  /** The key being pressed, if one is confirmed and not yet released. */
  get currentKey(): DtmfKey | undefined {
    return this.#digit >= 0 ? DTMF_KEYPAD[this.#digit] : undefined;
  }

  /** Feeds `count` samples of `samples` from `offset` (any frame size; blocks carry over). */
  process(samples: Int16Array, offset = 0, count = samples.length - offset): void {
    if (!Number.isInteger(offset) || !Number.isInteger(count) || offset < 0 || count < 0 || offset + count > samples.length) {
      throw new RangeError(`cannot read ${count} samples at offset ${offset} of ${samples.length}`);
    }
    const end = offset + count;
    // In runs that end at the next half-block boundary, where the filters are read out.
    for (let i = offset; i < end; ) {
      const pos = this.#blockPos;
      const n = Math.min(end - i, (pos < HALF ? HALF : N) - pos);
      this.#feed(samples, i, n);
      i += n;
      if (this.#blockPos === HALF) {
        this.#finishHalf();
      } else if (this.#blockPos === N) {
        this.#finishBlock();
        this.#blockStart += N;
        this.#historyBase = N - this.#historyBase;
        this.#energy = 0;
        this.#blockPos = 0;
      }
    }
    if (this.#handlerFailed) {
      const error = this.#handlerError;
      this.#handlerFailed = false;
      this.#handlerError = undefined;
      throw error;
    }
  }

  /** `n` samples within one half block: into the history, the block's energy and the filters. */
  #feed(samples: Int16Array, from: number, n: number): void {
    const history = this.#history;
    const at = this.#historyBase + this.#blockPos;
    let energy = 0;
    for (let k = 0; k < n; k++) {
      const x = samples[from + k] as number;
      history[at + k] = x;
      energy += x * x;
    }
    this.#energy += energy;
    this.#blockPos += n;
    // Digital silence into filters at rest leaves them at rest: most of a
    // call's received audio is silence (a phone with voice activity detection
    // sends none, and the jitter buffer fills the gap with zeros).
    if (energy === 0 && atRest(this.#s1) && atRest(this.#s2)) return;
    goertzel(samples, from, from + n, this.#s1, this.#s2);
  }

  /** Back to the initial state; a key in progress is dropped without an end report. */
  reset(): void {
    this.#s1.fill(0);
    this.#s2.fill(0);
    this.#blockPos = 0;
    this.#blockStart = 0;
    this.#historyBase = 0;
    this.#energy = 0;
    this.#havePrev = false;
    this.#digit = -1;
    this.#absentBlocks = 0;
    this.#toneLike = false;
  }

  #finishHalf(): void {
    const s1 = this.#s1;
    const s2 = this.#s2;
    for (let k = 0; k < 8; k++) {
      this.#aRe[k] = (s1[k] as number) - (COS_W[k] as number) * (s2[k] as number);
      this.#aIm[k] = (SIN_W[k] as number) * (s2[k] as number);
      s1[k] = 0;
      s2[k] = 0;
    }
  }

  #finishBlock(): void {
    this.#rotateHistory();
    const s1 = this.#s1;
    const s2 = this.#s2;
    const wRe = this.#wRe;
    const wIm = this.#wIm;
    const power = this.#power;
    for (let k = 0; k < 8; k++) {
      const bRe = (s1[k] as number) - (COS_W[k] as number) * (s2[k] as number);
      const bIm = (SIN_W[k] as number) * (s2[k] as number);
      const aRe = this.#aRe[k] as number;
      const aIm = this.#aIm[k] as number;
      s1[k] = 0;
      s2[k] = 0;
      // Both halves' outputs carry the factor e^{jω(H−1)}; the second half also
      // starts H samples later, so it is turned back by e^{−jωH} before the sum.
      const cosH = COS_HALF[k] as number;
      const sinH = SIN_HALF[k] as number;
      const re = aRe + bRe * cosH + bIm * sinH;
      const im = aIm + bIm * cosH - bRe * sinH;
      wRe[k] = re;
      wIm[k] = im;
      power[k] = re * re + im * im;
      // Phase of B·conj(A) is (ω + δ)·H for a tone δ rad/sample off the bin.
      const crossRe = bRe * aRe + bIm * aIm;
      const crossIm = bIm * aRe - bRe * aIm;
      this.#coarse[k] = (wrapPhase(Math.atan2(crossIm, crossRe) - (OMEGA[k] as number) * HALF) * FS) / (TWO_PI * HALF);
    }

    let row = 0;
    let col = 4;
    for (let k = 1; k < 4; k++) {
      if ((power[k] as number) > (power[row] as number)) row = k;
      if ((power[k + 4] as number) > (power[col] as number)) col = k + 4;
    }
    const rowPower = power[row] as number;
    const colPower = power[col] as number;
    let peaksOk = true;
    for (let k = 0; k < 4; k++) {
      if (k !== row && (power[k] as number) * this.#relativePeak > rowPower) peaksOk = false;
      if (k + 4 !== col && (power[k + 4] as number) * this.#relativePeak > colPower) peaksOk = false;
    }
    const energy = this.#energy;
    const relaxedLevel = this.#minPower / 4;
    this.#toneLike =
      rowPower >= relaxedLevel &&
      colPower >= relaxedLevel &&
      rowPower <= colPower * LENIENT_TWIST &&
      colPower <= rowPower * LENIENT_TWIST &&
      2 * (rowPower + colPower) >= TONE_LIKE_MIN_RATIO * N * energy;

    if (this.#digit >= 0) {
      const digitRow = this.#digit >> 2;
      const digitCol = (this.#digit & 3) + 4;
      const present =
        row === digitRow &&
        col === digitCol &&
        rowPower / this.#digitRowGain >= relaxedLevel &&
        colPower / this.#digitColGain >= relaxedLevel &&
        2 * (rowPower / this.#digitRowGain + colPower / this.#digitColGain) >= 0.5 * N * energy;
      if (present) {
        this.#absentBlocks = 0;
      } else if (++this.#absentBlocks >= 2) {
        const key = DTMF_KEYPAD[this.#digit] as DtmfKey;
        this.#digit = -1;
        this.#absentBlocks = 0;
        this.#emitEnd(key, this.#digitStart, this.#blockStart - N);
      }
    }

    if (this.#digit < 0 && this.#havePrev && row === this.#prevRow && col === this.#prevCol && peaksOk && this.#prevPeaksOk) {
      this.#tryStart(row, col);
    }

    this.#prevRow = row;
    this.#prevCol = col;
    this.#prevPeaksOk = peaksOk;
    this.#havePrev = true;
  }

  /** Moves the current block's arrays to "previous" and reuses the old ones. */
  #rotateHistory(): void {
    let spare = this.#prevWRe;
    this.#prevWRe = this.#wRe;
    this.#wRe = spare;
    spare = this.#prevWIm;
    this.#prevWIm = this.#wIm;
    this.#wIm = spare;
    spare = this.#prevCoarse;
    this.#prevCoarse = this.#coarse;
    this.#coarse = spare;
  }

  /** The pair test: this block and the previous one, same strongest row and column. */
  #tryStart(row: number, col: number): void {
    const rowError = this.#fineError(row);
    const colError = this.#fineError(col);
    // Q.24: accept ±1.5 %, reject ±3.5 %; the limit sits between.
    if (Math.abs(rowError) > this.#maxDeviation * (FREQUENCIES[row] as number)) return;
    if (Math.abs(colError) > this.#maxDeviation * (FREQUENCIES[col] as number)) return;
    const rowOmega = (TWO_PI * ((FREQUENCIES[row] as number) + rowError)) / FS;
    const colOmega = (TWO_PI * ((FREQUENCIES[col] as number) + colError)) / FS;
    if (!this.#blockPasses(this.#historyBase, rowOmega, colOmega)) return;
    if (!this.#blockPasses(N - this.#historyBase, rowOmega, colOmega)) return;
    this.#digit = (row << 2) | (col - 4);
    this.#digitStart = this.#blockStart - N;
    this.#digitRowGain = binGain(rowError);
    this.#digitColGain = binGain(colError);
    this.#absentBlocks = 0;
    this.#emitStart(DTMF_KEYPAD[this.#digit] as DtmfKey, this.#digitStart);
  }

  /**
   * Frequency error in Hz of the tone in bin `k`: phase advance from the
   * previous block to this one, (ω + δ)·N, less ω·N; its 78 Hz ambiguity is
   * resolved by the mean of the two blocks' coarse readings.
   */
  #fineError(k: number): number {
    const re = (this.#wRe[k] as number) * (this.#prevWRe[k] as number) + (this.#wIm[k] as number) * (this.#prevWIm[k] as number);
    const im = (this.#wIm[k] as number) * (this.#prevWRe[k] as number) - (this.#wRe[k] as number) * (this.#prevWIm[k] as number);
    const fine = (wrapPhase(Math.atan2(im, re) - (OMEGA[k] as number) * N) * FS) / (TWO_PI * N);
    const coarse = ((this.#coarse[k] as number) + (this.#prevCoarse[k] as number)) / 2;
    return fine + Math.round((coarse - fine) / FINE_ALIAS_HZ) * FINE_ALIAS_HZ;
  }

  /**
   * Level, twist and energy-ratio tests on the block stored at `base`, with
   * the two tones' amplitudes from a least-squares fit of two sines at the
   * measured frequencies. Unlike Goertzel bin powers, which the other tone
   * leaks into by up to ±19 % (941/1209 Hz are 3.4 bins apart), the fit is
   * exact for a clean tone pair, so the energy ratio measures what share of
   * the block the tones fill — that is what rejects tones shorter than 23 ms.
   */
  #blockPasses(base: number, rowOmega: number, colOmega: number): boolean {
    if (!this.#fit(base, rowOmega, colOmega)) return false;
    const rowPower = this.#fitRowPower;
    const colPower = this.#fitColPower;
    if (rowPower < this.#minPower || colPower < this.#minPower) return false;
    if (rowPower > colPower * this.#normalTwist || colPower > rowPower * this.#reverseTwist) return false;
    return true;
  }

  /**
   * Fits a·cos(ω₁n) + b·sin(ω₁n) + c·cos(ω₂n) + d·sin(ω₂n) to the block by
   * least squares (normal equations, Gaussian elimination with partial
   * pivoting). Leaves each tone's power in Goertzel units, (amplitude·N/2)²,
   * and returns whether the fit holds `minToneEnergyRatio` of the energy.
   */
  #fit(base: number, rowOmega: number, colOmega: number): boolean {
    const m = this.#system;
    m.fill(0);
    const history = this.#history;
    let energy = 0;
    for (let n = 0; n < N; n++) {
      const x = history[base + n] as number;
      const v0 = Math.cos(rowOmega * n);
      const v1 = Math.sin(rowOmega * n);
      const v2 = Math.cos(colOmega * n);
      const v3 = Math.sin(colOmega * n);
      energy += x * x;
      m[0] = (m[0] as number) + v0 * v0;
      m[1] = (m[1] as number) + v0 * v1;
      m[2] = (m[2] as number) + v0 * v2;
      m[3] = (m[3] as number) + v0 * v3;
      m[4] = (m[4] as number) + v0 * x;
      m[6] = (m[6] as number) + v1 * v1;
      m[7] = (m[7] as number) + v1 * v2;
      m[8] = (m[8] as number) + v1 * v3;
      m[9] = (m[9] as number) + v1 * x;
      m[12] = (m[12] as number) + v2 * v2;
      m[13] = (m[13] as number) + v2 * v3;
      m[14] = (m[14] as number) + v2 * x;
      m[18] = (m[18] as number) + v3 * v3;
      m[19] = (m[19] as number) + v3 * x;
    }
    if (energy <= 0) return false;
    m[5] = m[1] as number;
    m[10] = m[2] as number;
    m[11] = m[7] as number;
    m[15] = m[3] as number;
    m[16] = m[8] as number;
    m[17] = m[13] as number;
    // Keep the right-hand side: the fitted energy is Σ coefficient·correlation.
    const r0 = m[4] as number;
    const r1 = m[9] as number;
    const r2 = m[14] as number;
    const r3 = m[19] as number;
    for (let col = 0; col < 4; col++) {
      let pivot = col;
      for (let r = col + 1; r < 4; r++) if (Math.abs(m[r * 5 + col] as number) > Math.abs(m[pivot * 5 + col] as number)) pivot = r;
      if (pivot !== col) {
        for (let c = 0; c < 5; c++) {
          const t = m[col * 5 + c] as number;
          m[col * 5 + c] = m[pivot * 5 + c] as number;
          m[pivot * 5 + c] = t;
        }
      }
      const d = m[col * 5 + col] as number;
      if (Math.abs(d) < 1e-9) return false;
      for (let r = 0; r < 4; r++) {
        if (r === col) continue;
        const f = (m[r * 5 + col] as number) / d;
        if (f === 0) continue;
        for (let c = col; c < 5; c++) m[r * 5 + c] = (m[r * 5 + c] as number) - f * (m[col * 5 + c] as number);
      }
    }
    const a = (m[4] as number) / (m[0] as number);
    const b = (m[9] as number) / (m[6] as number);
    const c = (m[14] as number) / (m[12] as number);
    const d = (m[19] as number) / (m[18] as number);
    const quarterN2 = (N * N) / 4;
    this.#fitRowPower = (a * a + b * b) * quarterN2;
    this.#fitColPower = (c * c + d * d) * quarterN2;
    return a * r0 + b * r1 + c * r2 + d * r3 >= this.#minRatio * energy;
  }

  #emitStart(key: DtmfKey, startSample: number): void {
    try {
      this.#onDigitStart?.(key, startSample);
    } catch (error) {
      this.#keepHandlerError(error);
    }
  }

  #emitEnd(key: DtmfKey, startSample: number, endSample: number): void {
    try {
      this.#onDigitEnd?.(key, startSample, endSample);
    } catch (error) {
      this.#keepHandlerError(error);
    }
  }

  #keepHandlerError(error: unknown): void {
    if (!this.#handlerFailed) {
      this.#handlerFailed = true;
      this.#handlerError = error;
    }
  }
}

/**
 * Runs samples [from, to) through the eight DTMF Goertzel filters whose states
 * are `s1` (last output) and `s2` (the one before). The filters are unrolled
 * into locals: this is the hottest loop of the media path (every received
 * sample of every call), about 3× faster than indexing the state arrays per
 * sample.
 */
function goertzel(samples: Int16Array, from: number, to: number, s1: Float64Array, s2: Float64Array): void {
  let p0 = s1[0] as number, p1 = s1[1] as number, p2 = s1[2] as number, p3 = s1[3] as number;
  let p4 = s1[4] as number, p5 = s1[5] as number, p6 = s1[6] as number, p7 = s1[7] as number;
  let q0 = s2[0] as number, q1 = s2[1] as number, q2 = s2[2] as number, q3 = s2[3] as number;
  let q4 = s2[4] as number, q5 = s2[5] as number, q6 = s2[6] as number, q7 = s2[7] as number;
  for (let i = from; i < to; i++) {
    const x = samples[i] as number;
    let t = x + C0 * p0 - q0; q0 = p0; p0 = t;
    t = x + C1 * p1 - q1; q1 = p1; p1 = t;
    t = x + C2 * p2 - q2; q2 = p2; p2 = t;
    t = x + C3 * p3 - q3; q3 = p3; p3 = t;
    t = x + C4 * p4 - q4; q4 = p4; p4 = t;
    t = x + C5 * p5 - q5; q5 = p5; p5 = t;
    t = x + C6 * p6 - q6; q6 = p6; p6 = t;
    t = x + C7 * p7 - q7; q7 = p7; p7 = t;
  }
  s1[0] = p0; s1[1] = p1; s1[2] = p2; s1[3] = p3; s1[4] = p4; s1[5] = p5; s1[6] = p6; s1[7] = p7;
  s2[0] = q0; s2[1] = q1; s2[2] = q2; s2[3] = q3; s2[4] = q4; s2[5] = q5; s2[6] = q6; s2[7] = q7;
}

function atRest(state: Float64Array): boolean {
  for (let k = 0; k < 8; k++) if (state[k] !== 0) return false;
  return true;
}

const probeS1 = new Float64Array(8);
const probeS2 = new Float64Array(8);

export interface DtmfProbeOptions {
  /** As `DtmfDetectorOptions.minToneLevelDbm0`, less 6 dB of allowance. Default −30 dBm0. */
  readonly minToneLevelDbm0?: number;
  /** Largest level difference between the row and the column tone, either way. Default 10 dB. */
  readonly maxTwistDb?: number;
  /** Smallest share of the frame's energy the two tones' bins must hold. Default 0.5. */
  readonly minEnergyRatio?: number;
}

/**
 * A quick, stateless look at one frame (any length, 80+ samples sensible):
 * does it hold a row and a column tone, within 10 dB of each other
 * (`maxTwistDb`), that together carry at least half of its energy
 * (`minEnergyRatio`), each no more than 6 dB under the detector's minimum
 * level? With its defaults, a lenient ear for DTMF in audio that should have
 * none (a recording's paused span); `DtmfMasker` sets its own, against
 * speech. No frequency tolerance or duration tests. Allocates nothing.
 */
export function dtmfToneEnergyPresent(samples: Int16Array, offset = 0, count = samples.length - offset, options: DtmfProbeOptions = {}): boolean {
  return dtmfTonePairIndex(samples, offset, count, options) >= 0;
}

/**
 * As `dtmfToneEnergyPresent`, but tells which pair: the index in
 * `DTMF_KEYPAD` of the strongest row and column, or −1 when the frame does
 * not pass. A tone stays on its pair from one frame to the next; speech
 * that passes now and then mostly hops between bins.
 */
export function dtmfTonePairIndex(samples: Int16Array, offset = 0, count = samples.length - offset, options: DtmfProbeOptions = {}): number {
  if (!Number.isInteger(offset) || !Number.isInteger(count) || offset < 0 || count <= 0 || offset + count > samples.length) {
    throw new RangeError(`cannot read ${count} samples at offset ${offset} of ${samples.length}`);
  }
  const end = offset + count;
  let energy = 0;
  for (let i = offset; i < end; i++) {
    const x = samples[i] as number;
    energy += x * x;
  }
  const amplitude = dbm0ToAmplitude((options.minToneLevelDbm0 ?? -30) - 6);
  const minPower = (amplitude * count * amplitude * count) / 4;
  // No bin of a window holds more than count × its energy (Cauchy–Schwarz):
  // a quiet window (silence, most of a call) is answered without the filters.
  if (count * energy < minPower) return -1;
  probeS1.fill(0);
  probeS2.fill(0);
  goertzel(samples, offset, end, probeS1, probeS2);
  let row = 0;
  let col = 4;
  let rowPower = 0;
  let colPower = 0;
  for (let k = 0; k < 8; k++) {
    const a = probeS1[k] as number;
    const b = probeS2[k] as number;
    const p = a * a + b * b - (COEF[k] as number) * a * b;
    if (k < 4 && p > rowPower) {
      rowPower = p;
      row = k;
    } else if (k >= 4 && p > colPower) {
      colPower = p;
      col = k;
    }
  }
  const twist = dbToPowerRatio(options.maxTwistDb ?? LENIENT_TWIST_DB);
  const present =
    rowPower >= minPower &&
    colPower >= minPower &&
    rowPower <= colPower * twist &&
    colPower <= rowPower * twist &&
    2 * (rowPower + colPower) >= (options.minEnergyRatio ?? 0.5) * count * energy;
  return present ? (row << 2) | (col - 4) : -1;
}
