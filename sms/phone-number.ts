import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max';

/** A number libphonenumber-js cannot read as a valid one (for its country, or the default country). */
export class InvalidPhoneNumberError extends Error {
  override readonly name = 'InvalidPhoneNumberError';
  constructor() {
    // The number itself is personal data: not in the message.
    super('not a valid phone number');
  }
}

export interface PhoneNumber {
  /** E.164 (ITU-T E.164: +, country code, national number). */
  readonly e164: string;
  /** The number's type says a mobile (or one that may be: FIXED_LINE_OR_MOBILE), so it takes text messages. */
  readonly mobile: boolean;
  /** The last `n` digits, to read back or show: the rest of the number is never repeated. */
  ending(n: number): string;
}

/**
 * Reads a number as a person or a SIP From header gives it (`07400 123456`,
 * `+44 7400 123456`, `0033612345678`), with `defaultCountry` for a national
 * one, and normalises it to E.164 with libphonenumber-js (Google's
 * libphonenumber metadata, the full set: a number's type needs it).
 * @throws InvalidPhoneNumberError
 */
export function parsePhoneNumber(raw: string, defaultCountry: string): PhoneNumber {
  const cleaned = raw.trim().replace(/^00/, '+');
  const parsed = parsePhoneNumberFromString(cleaned, defaultCountry as CountryCode);
  if (!parsed?.isValid()) throw new InvalidPhoneNumberError();
  const type = parsed.getType();
  const e164 = parsed.number;
  return { e164, mobile: type === 'MOBILE' || type === 'FIXED_LINE_OR_MOBILE', ending: (n) => e164.slice(-n) };
}
