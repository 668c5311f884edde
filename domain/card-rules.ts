import { brandRule, detectBrand, type CardBrand } from './card-brand.js';

/** Shortest and longest PAN we accept (ISO/IEC 7812-1). */
export const PAN_MIN_LENGTH = 12;
export const PAN_MAX_LENGTH = 19;
export const EXPIRY_LENGTH = 4;
/** Expiry dates further ahead than this are refused as mistyped. */
export const EXPIRY_MAX_YEARS_AHEAD = 20;

/** Luhn (mod 10) check of a digit string (ISO/IEC 7812-1 Annex B). */
export function luhnValid(digits: string): boolean {
  if (digits.length === 0 || !/^\d+$/.test(digits)) return false;
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

export type PanVerdict =
  | { readonly ok: true; readonly brand: CardBrand }
  | { readonly ok: false; readonly error: 'invalid-card-number' | 'invalid-card-type'; readonly brand?: CardBrand };

/** Whether a complete PAN may be sent for authorisation. */
export function checkPan(pan: string, acceptedBrands: ReadonlySet<CardBrand>): PanVerdict {
  if (pan.length < PAN_MIN_LENGTH || pan.length > PAN_MAX_LENGTH || !luhnValid(pan)) {
    return { ok: false, error: 'invalid-card-number' };
  }
  const brand = detectBrand(pan);
  if (!brand) return { ok: false, error: 'invalid-card-type' };
  if (!brandRule(brand).lengths.includes(pan.length)) return { ok: false, error: 'invalid-card-number', brand };
  if (!acceptedBrands.has(brand)) return { ok: false, error: 'invalid-card-type', brand };
  return { ok: true, brand };
}

/**
 * Whether the digits keyed so far form a whole PAN, so the field can end
 * without `#`: at the brand's usual length when Luhn passes, or at the
 * brand's longest length (19 when the brand is unknown).
 */
export function panComplete(digits: string): boolean {
  if (digits.length >= PAN_MAX_LENGTH) return true;
  const brand = detectBrand(digits);
  if (!brand) return false;
  const rule = brandRule(brand);
  if (digits.length >= Math.max(...rule.lengths)) return true;
  return digits.length === rule.usualLength && luhnValid(digits);
}

export type ExpiryVerdict = { readonly ok: true } | { readonly ok: false; readonly reason: 'format' | 'past' | 'too-far' };

/**
 * MMYY, month 01–12, not before the current month and at most
 * EXPIRY_MAX_YEARS_AHEAD years ahead. A card is valid to the end of its
 * expiry month; months are compared in UTC.
 */
export function checkExpiry(mmyy: string, now: Date): ExpiryVerdict {
  if (!/^\d{4}$/.test(mmyy)) return { ok: false, reason: 'format' };
  const month = Number(mmyy.slice(0, 2));
  const year = 2000 + Number(mmyy.slice(2));
  if (month < 1 || month > 12) return { ok: false, reason: 'format' };
  const current = now.getUTCFullYear() * 12 + now.getUTCMonth();
  const expiry = year * 12 + (month - 1);
  if (expiry < current) return { ok: false, reason: 'past' };
  if (expiry > current + EXPIRY_MAX_YEARS_AHEAD * 12) return { ok: false, reason: 'too-far' };
  return { ok: true };
}

/** The number of security-code digits the brand prints (4 on Amex). */
export function securityCodeLength(brand: CardBrand | undefined): 3 | 4 {
  return brand ? brandRule(brand).securityCodeLength : 3;
}

export function checkSecurityCode(code: string, brand: CardBrand | undefined): boolean {
  return /^\d+$/.test(code) && code.length === securityCodeLength(brand);
}
