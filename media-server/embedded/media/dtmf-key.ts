/**
 * The sixteen keys of the DTMF keypad, their tone pairs (ITU-T Q.23) and
 * their RFC 4733 event codes (§3.2: 0–9, then * = 10, # = 11, A–D = 12–15).
 *
 * ```
 *            1209 Hz  1336 Hz  1477 Hz  1633 Hz
 *   697 Hz     1        2        3        A
 *   770 Hz     4        5        6        B
 *   852 Hz     7        8        9        C
 *   941 Hz     *        0        #        D
 * ```
 */
export type DtmfKey = '0' | '1' | '2' | '3' | '4' | '5' | '6' | '7' | '8' | '9' | '*' | '#' | 'A' | 'B' | 'C' | 'D';

/** Every key, in RFC 4733 event-code order. */
export const DTMF_KEYS: readonly DtmfKey[] = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '#', 'A', 'B', 'C', 'D'];

/** Low ("row") group frequencies in Hz, ITU-T Q.23. */
export const DTMF_ROW_FREQUENCIES: readonly number[] = [697, 770, 852, 941];

/** High ("column") group frequencies in Hz, ITU-T Q.23. */
export const DTMF_COLUMN_FREQUENCIES: readonly number[] = [1209, 1336, 1477, 1633];

/** Keys laid out row by row: index `row * 4 + column`. */
export const DTMF_KEYPAD: readonly DtmfKey[] = ['1', '2', '3', 'A', '4', '5', '6', 'B', '7', '8', '9', 'C', '*', '0', '#', 'D'];

export function isDtmfKey(value: string): value is DtmfKey {
  return value.length === 1 && DTMF_KEYS.includes(value as DtmfKey);
}

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
