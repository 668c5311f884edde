import { randomInt } from 'node:crypto';

/** Letters and digits a caller cannot mishear or misread: no 0/O, no 1/I. */
const ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';

/** Characters in a confirmation code: 32^8 ≈ 10^12 codes, short enough to read out on the phone. */
export const CONFIRMATION_LENGTH = 8;

/**
 * The short human reference of an approved payment: read out to the caller
 * at the end of the call and printed on receipts, so a caller quoting it
 * finds the payment. Eight characters cannot be taken for a card number.
 */
export function newConfirmationCode(): string {
  let code = '';
  for (let i = 0; i < CONFIRMATION_LENGTH; i++) code += ALPHABET[randomInt(ALPHABET.length)];
  return code;
}
