import { describe, expect, it } from 'vitest';
import { detectBrand, brandRule, CARD_BRAND_RULES } from '../../../domain/card-brand.js';
import {
  checkExpiry,
  checkPan,
  checkSecurityCode,
  luhnValid,
  panComplete,
  securityCodeLength,
} from '../../../domain/card-rules.js';

// Public test card numbers from the PSPs' documentation (Stripe, Adyen).
const CARDS = {
  visa: '4242424242424242',
  visa13: '4222222222222',
  mastercard: '5555555555554444',
  mastercard2: '2223003122003222',
  amex: '378282246310005',
  discover: '6011111111111117',
  diners: '36227206271667',
  jcb: '3566002020360505',
  unionpay: '6200000000000005',
  maestro: '6771798021000008',
} as const;

/** Appends the Luhn check digit to a prefix. */
function withCheckDigit(prefix: string): string {
  for (let d = 0; d <= 9; d++) if (luhnValid(prefix + d)) return prefix + d;
  throw new Error('unreachable');
}

const ALL = new Set(CARD_BRAND_RULES.map((r) => r.brand));

describe('Luhn', () => {
  it('accepts the test cards and refuses one changed digit', () => {
    for (const pan of Object.values(CARDS)) expect(luhnValid(pan)).toBe(true);
    expect(luhnValid('4242424242424241')).toBe(false);
    expect(luhnValid('')).toBe(false);
    expect(luhnValid('42a2')).toBe(false);
  });
});

describe('brand from IIN', () => {
  it('recognises every brand on its test card', () => {
    for (const [name, pan] of Object.entries(CARDS)) {
      expect(detectBrand(pan), name).toBe(name.replace(/\d+$/, ''));
    }
  });

  it('knows the Mastercard 2-series edges and Amex 34/37', () => {
    expect(detectBrand('2221000000000000')).toBe('mastercard');
    expect(detectBrand('2720990000000000')).toBe('mastercard');
    expect(detectBrand('2220990000000000')).toBeUndefined();
    expect(detectBrand('2721000000000000')).toBeUndefined();
    expect(detectBrand('340000000000000')).toBe('amex');
    expect(detectBrand('350000000000000')).toBeUndefined();
  });

  it('prefers the more specific range (Discover 622126 over UnionPay 62)', () => {
    expect(detectBrand('6221260000000000')).toBe('discover');
    expect(detectBrand('6221250000000000')).toBe('unionpay');
  });

  it('says nothing until enough digits are keyed', () => {
    expect(detectBrand('')).toBeUndefined();
    expect(detectBrand('3')).toBeUndefined();
    expect(detectBrand('4')).toBe('visa');
  });
});

describe('PAN check', () => {
  it('accepts a valid card of an accepted brand', () => {
    expect(checkPan(CARDS.visa, new Set(['visa']))).toEqual({ ok: true, brand: 'visa' });
    expect(checkPan(CARDS.visa13, ALL)).toEqual({ ok: true, brand: 'visa' });
  });

  it('refuses a brand that is not accepted as invalid-card-type', () => {
    expect(checkPan(CARDS.discover, new Set(['visa', 'mastercard', 'amex']))).toEqual({
      ok: false,
      error: 'invalid-card-type',
      brand: 'discover',
    });
  });

  it('refuses wrong Luhn, too short, too long and a length the brand does not issue', () => {
    expect(checkPan('4242424242424241', ALL)).toMatchObject({ error: 'invalid-card-number' });
    expect(checkPan('42424242424', ALL)).toMatchObject({ error: 'invalid-card-number' });
    expect(checkPan(withCheckDigit('4242424242424242424'), ALL)).toMatchObject({ error: 'invalid-card-number' });
    // A 14-digit Luhn-valid number with a Visa prefix: Visa issues 13, 16, 19.
    expect(checkPan(withCheckDigit('4242424242424'), ALL)).toMatchObject({ error: 'invalid-card-number', brand: 'visa' });
  });

  it('refuses an unknown IIN as invalid-card-type', () => {
    expect(checkPan(withCheckDigit('999999999999999'), ALL)).toMatchObject({ error: 'invalid-card-type' });
  });
});

describe('PAN completion', () => {
  it('completes at the usual length when Luhn passes, else keeps collecting to the maximum', () => {
    expect(panComplete(CARDS.visa)).toBe(true);
    expect(panComplete(CARDS.visa.slice(0, 15))).toBe(false);
    expect(panComplete('4242424242424241')).toBe(false);
    expect(panComplete('4242424242424241000')).toBe(true);
    expect(panComplete(CARDS.amex)).toBe(true);
    expect(panComplete(CARDS.mastercard)).toBe(true);
    expect(panComplete('5555555555554445')).toBe(true);
    expect(panComplete('9'.repeat(19))).toBe(true);
  });
});

describe('expiry', () => {
  const now = new Date('2026-11-22T23:59:00Z');
  it('accepts this month up to 20 years ahead', () => {
    expect(checkExpiry('1126', now)).toEqual({ ok: true });
    expect(checkExpiry('1146', now)).toEqual({ ok: true });
  });
  it('refuses last month, beyond 20 years, month 00 or 13, and non-digits', () => {
    expect(checkExpiry('1026', now)).toEqual({ ok: false, reason: 'past' });
    expect(checkExpiry('1246', now)).toEqual({ ok: false, reason: 'too-far' });
    expect(checkExpiry('0030', now)).toEqual({ ok: false, reason: 'format' });
    expect(checkExpiry('1330', now)).toEqual({ ok: false, reason: 'format' });
    expect(checkExpiry('12', now)).toEqual({ ok: false, reason: 'format' });
  });
});

describe('security code', () => {
  it('is 4 digits on Amex and 3 elsewhere', () => {
    expect(securityCodeLength('amex')).toBe(4);
    expect(securityCodeLength('visa')).toBe(3);
    expect(securityCodeLength(undefined)).toBe(3);
    expect(checkSecurityCode('1234', 'amex')).toBe(true);
    expect(checkSecurityCode('123', 'amex')).toBe(false);
    expect(checkSecurityCode('123', 'mastercard')).toBe(true);
    expect(checkSecurityCode('12a', 'visa')).toBe(false);
    expect(brandRule('amex').lengths).toEqual([15]);
  });
});
