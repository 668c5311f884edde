/**
 * The sixteen keys of the telephone keypad (ITU-T Q.23), as every layer names
 * them: the caller's key press in the flow, a detected tone or an RFC 4733
 * event in the media server, a SIP INFO digit.
 */
export type DtmfKey = '0' | '1' | '2' | '3' | '4' | '5' | '6' | '7' | '8' | '9' | '*' | '#' | 'A' | 'B' | 'C' | 'D';

/** Every key, in RFC 4733 event-code order (§3.2: 0–9, then * = 10, # = 11, A–D = 12–15). */
export const DTMF_KEYS: readonly DtmfKey[] = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '#', 'A', 'B', 'C', 'D'];

export function isDtmfKey(value: string): value is DtmfKey {
  return value.length === 1 && DTMF_KEYS.includes(value as DtmfKey);
}
