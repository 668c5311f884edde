import { describe, expect, it } from 'vitest';
import { InvalidPhoneNumberError, parsePhoneNumber } from '../../../sms/phone-number.js';

// Made-up numbers valid for libphonenumber; none is Luhn-valid, so no scan takes one for a card number.
describe('phone numbers, E.164 with libphonenumber-js', () => {
  it.each([
    ['06 12 34 56 78', 'FR', '+33612345678'],
    ['+33 6 12 34 56 78', 'GB', '+33612345678'],
    ['0033612345678', 'GB', '+33612345678'],
    ['07400 123456', 'GB', '+447400123456'],
    ['+447400123456', 'FR', '+447400123456'],
  ])('%s (default %s) is %s, a mobile', (raw, country, e164) => {
    const number = parsePhoneNumber(raw, country);
    expect(number.e164).toBe(e164);
    expect(number.mobile).toBe(true);
    expect(number.ending(3)).toBe(e164.slice(-3));
  });

  it('knows a fixed line is no mobile', () => {
    expect(parsePhoneNumber('01 23 45 67 89', 'FR')).toMatchObject({ e164: '+33123456789', mobile: false });
  });

  it.each(['', 'abc', '123', '+999123456789', '06 12'])('refuses %j without repeating it', (raw) => {
    let thrown: unknown;
    try {
      parsePhoneNumber(raw, 'FR');
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(InvalidPhoneNumberError);
    if (raw) expect((thrown as Error).message).not.toContain(raw);
  });
});
