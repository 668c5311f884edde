import { type DtmfKey } from '../../../domain/dtmf-key.js';
import { dtmfFrequencies } from './dtmf-keypad.js';
import { dbm0ToAmplitude } from './signal-level.js';

export interface ToneComponent {
  readonly frequencyHz: number;
  readonly levelDbm0: number;
}

export interface ToneGeneratorOptions {
  /** Default 8000 Hz. */
  readonly sampleRate?: number;
}

export interface DtmfToneOptions extends ToneGeneratorOptions {
  /** Level of the low-group (row) tone. Default −10 dBm0 (spandsp's DTMF sending level). */
  readonly lowLevelDbm0?: number;
  /** Level of the high-group (column) tone. Default −10 dBm0. */
  readonly highLevelDbm0?: number;
  /** Relative frequency error of the low tone, e.g. 0.015 for +1.5 %. Default 0. */
  readonly lowDeviation?: number;
  /** Relative frequency error of the high tone. Default 0. */
  readonly highDeviation?: number;
}

const TWO_PI = 2 * Math.PI;

/**
 * A sum of sines written into caller-provided 16-bit PCM buffers, phase
 * continuous from one call to the next: DTMF keys for tests, a flat tone
 * (`single(400, −20)`) for the masker. Samples saturate at the 16-bit range.
 */
export class ToneGenerator {
  readonly components: readonly ToneComponent[];
  readonly sampleRate: number;
  readonly #amplitude: Float64Array;
  readonly #increment: Float64Array;
  readonly #phase: Float64Array;

  constructor(components: readonly ToneComponent[], options: ToneGeneratorOptions = {}) {
    this.sampleRate = options.sampleRate ?? 8000;
    if (!(this.sampleRate > 0)) throw new RangeError(`sampleRate must be positive, got ${this.sampleRate}`);
    for (const c of components) {
      if (!(c.frequencyHz >= 0 && c.frequencyHz < this.sampleRate / 2)) {
        throw new RangeError(`tone frequency ${c.frequencyHz} Hz is not below the Nyquist frequency ${this.sampleRate / 2} Hz`);
      }
      if (!Number.isFinite(c.levelDbm0)) throw new RangeError(`tone level ${c.levelDbm0} dBm0 is not finite`);
    }
    this.components = components.map((c) => ({ ...c }));
    this.#amplitude = Float64Array.from(components, (c) => dbm0ToAmplitude(c.levelDbm0));
    this.#increment = Float64Array.from(components, (c) => (TWO_PI * c.frequencyHz) / this.sampleRate);
    this.#phase = new Float64Array(components.length);
  }

  /** One sine. */
  static single(frequencyHz: number, levelDbm0: number, options?: ToneGeneratorOptions): ToneGenerator {
    return new ToneGenerator([{ frequencyHz, levelDbm0 }], options);
  }

  /** The tone pair of a key (ITU-T Q.23), optionally off-level or off-frequency for detector tests. */
  static dtmf(key: DtmfKey, options: DtmfToneOptions = {}): ToneGenerator {
    const { low, high } = dtmfFrequencies(key);
    return new ToneGenerator(
      [
        { frequencyHz: low * (1 + (options.lowDeviation ?? 0)), levelDbm0: options.lowLevelDbm0 ?? -10 },
        { frequencyHz: high * (1 + (options.highDeviation ?? 0)), levelDbm0: options.highLevelDbm0 ?? -10 },
      ],
      options,
    );
  }

  /** Writes `count` samples (default: to the end of `out`) from `offset`. */
  fill(out: Int16Array, offset = 0, count = out.length - offset): void {
    this.#render(out, offset, count, false);
  }

  /** Adds `count` samples of the tone onto what `out` holds, saturating. */
  add(out: Int16Array, offset = 0, count = out.length - offset): void {
    this.#render(out, offset, count, true);
  }

  /** Restarts every component at phase 0. */
  reset(): void {
    this.#phase.fill(0);
  }

  #render(out: Int16Array, offset: number, count: number, add: boolean): void {
    if (!Number.isInteger(offset) || !Number.isInteger(count) || offset < 0 || count < 0 || offset + count > out.length) {
      throw new RangeError(`cannot write ${count} samples at offset ${offset} of ${out.length}`);
    }
    const n = this.#phase.length;
    for (let i = offset; i < offset + count; i++) {
      let value = add ? (out[i] as number) : 0;
      for (let c = 0; c < n; c++) {
        const phase = this.#phase[c] as number;
        value += (this.#amplitude[c] as number) * Math.sin(phase);
        const next = phase + (this.#increment[c] as number);
        this.#phase[c] = next >= TWO_PI ? next - TWO_PI : next;
      }
      value = Math.round(value);
      out[i] = value > 32767 ? 32767 : value < -32768 ? -32768 : value;
    }
  }
}
