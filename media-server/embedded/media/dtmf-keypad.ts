import { DTMF_KEYS, type DtmfKey } from '../../../domain/dtmf-key.js';

/**
 * The keys' tone pairs (ITU-T Q.23) and their RFC 4733 event codes (§3.2).
 *
 * ```
 *            1209 Hz  1336 Hz  1477 Hz  1633 Hz
 *   697 Hz     1        2        3        A
 *   770 Hz     4        5        6        B
 *   852 Hz     7        8        9        C
 *   941 Hz     *        0        #        D
 * ```
 */

/** Low ("row") group frequencies in Hz, ITU-T Q.23. */
export const DTMF_ROW_FREQUENCIES: readonly number[] = [697, 770, 852, 941];

/** High ("column") group frequencies in Hz, ITU-T Q.23. */
export const DTMF_COLUMN_FREQUENCIES: readonly number[] = [1209, 1336, 1477, 1633];

/** Keys laid out row by row: index `row * 4 + column`. */
export const DTMF_KEYPAD: readonly DtmfKey[] = ['1', '2', '3', 'A', '4', '5', '6', 'B', '7', '8', '9', 'C', '*', '0', '#', 'D'];

/** The key an RFC 4733 event code stands for, or undefined for a non-DTMF event (flash = 16, tones …). */
export function dtmfKeyFromEventCode(event: number): DtmfKey | undefined {
  return Number.isInteger(event) && event >= 0 && event < 16 ? DTMF_KEYS[event] : undefined;
}

export function dtmfEventCode(key: DtmfKey): number {
  return DTMF_KEYS.indexOf(key);
}

export interface DtmfTonePair {
  readonly low: number;
  readonly high: number;
}

const TONE_PAIRS = new Map<DtmfKey, DtmfTonePair>(
  DTMF_KEYPAD.map((key, index) => [
    key,
    { low: DTMF_ROW_FREQUENCIES[index >> 2] as number, high: DTMF_COLUMN_FREQUENCIES[index & 3] as number },
  ]),
);

/** The key's tone pair in Hz. */
export function dtmfFrequencies(key: DtmfKey): DtmfTonePair {
  return TONE_PAIRS.get(key) as DtmfTonePair;
}
