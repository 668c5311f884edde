/**
 * Level of a full-scale sine (peak ±32768 on the 16-bit scale) in dBm0: the
 * G.711 A-law theoretical load capacity, +3.14 dBm0 (µ-law's is +3.17; the
 * 0.03 dB difference is ignored). The digital milliwatt, 0 dBm0, is then a
 * sine of peak ≈ 22 827.
 */
export const FULL_SCALE_SINE_DBM0 = 3.14;

const FULL_SCALE = 32768;

/** Peak amplitude, on the 16-bit scale, of a sine at `levelDbm0`. */
export function dbm0ToAmplitude(levelDbm0: number): number {
  return FULL_SCALE * 10 ** ((levelDbm0 - FULL_SCALE_SINE_DBM0) / 20);
}

/** Level in dBm0 of a sine of peak `amplitude` on the 16-bit scale. */
export function amplitudeToDbm0(amplitude: number): number {
  return FULL_SCALE_SINE_DBM0 + 20 * Math.log10(amplitude / FULL_SCALE);
}

/** Level in dBm0 of a signal of mean power `meanSquare` (16-bit scale; a sine's is peak²/2). */
export function meanSquareToDbm0(meanSquare: number): number {
  return FULL_SCALE_SINE_DBM0 + 10 * Math.log10((2 * meanSquare) / (FULL_SCALE * FULL_SCALE));
}
