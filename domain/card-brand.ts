/**
 * Card brands, recognised from the issuer identification number (IIN) at the
 * start of the PAN. Ranges follow the networks' published IIN tables as
 * summarised by ISO/IEC 7812 registrars; where two brands claim a range the
 * longer (more specific) prefix wins.
 */
export type CardBrand =
  | 'visa'
  | 'mastercard'
  | 'amex'
  | 'discover'
  | 'diners'
  | 'jcb'
  | 'unionpay'
  | 'maestro';

export const CARD_BRANDS: readonly CardBrand[] = [
  'visa',
  'mastercard',
  'amex',
  'discover',
  'diners',
  'jcb',
  'unionpay',
  'maestro',
];

export interface CardBrandRule {
  readonly brand: CardBrand;
  /** Inclusive prefix ranges; both ends have the same number of digits. */
  readonly ranges: readonly (readonly [string, string])[];
  /** Every PAN length the brand issues. */
  readonly lengths: readonly number[];
  /**
   * The length most cards of the brand have: a PAN of this length that passes
   * Luhn completes the field without `#` (a longer card keeps collecting).
   */
  readonly usualLength: number;
  readonly securityCodeLength: 3 | 4;
}

const range = (lo: string, hi: string = lo): readonly [string, string] => [lo, hi];

export const CARD_BRAND_RULES: readonly CardBrandRule[] = [
  { brand: 'visa', ranges: [range('4')], lengths: [13, 16, 19], usualLength: 16, securityCodeLength: 3 },
  {
    brand: 'mastercard',
    // 2-series BINs (2221–2720) since 2017.
    ranges: [range('51', '55'), range('2221', '2720')],
    lengths: [16],
    usualLength: 16,
    securityCodeLength: 3,
  },
  { brand: 'amex', ranges: [range('34'), range('37')], lengths: [15], usualLength: 15, securityCodeLength: 4 },
  {
    brand: 'discover',
    ranges: [range('6011'), range('644', '649'), range('65'), range('622126', '622925')],
    lengths: [16, 17, 18, 19],
    usualLength: 16,
    securityCodeLength: 3,
  },
  {
    brand: 'diners',
    ranges: [range('300', '305'), range('3095'), range('36'), range('38', '39')],
    lengths: [14, 15, 16, 17, 18, 19],
    usualLength: 14,
    securityCodeLength: 3,
  },
  { brand: 'jcb', ranges: [range('3528', '3589')], lengths: [16, 17, 18, 19], usualLength: 16, securityCodeLength: 3 },
  {
    brand: 'unionpay',
    ranges: [range('62'), range('81')],
    lengths: [14, 15, 16, 17, 18, 19],
    usualLength: 16,
    securityCodeLength: 3,
  },
  {
    brand: 'maestro',
    ranges: [
      range('5018'),
      range('5020'),
      range('5038'),
      range('5893'),
      range('6304'),
      range('6759'),
      range('6761', '6763'),
      range('56', '58'),
      range('639'),
      range('67'),
    ],
    lengths: [12, 13, 14, 15, 16, 17, 18, 19],
    usualLength: 19,
    securityCodeLength: 3,
  },
];

const RULE_BY_BRAND = new Map(CARD_BRAND_RULES.map((r) => [r.brand, r]));

export function brandRule(brand: CardBrand): CardBrandRule {
  const rule = RULE_BY_BRAND.get(brand);
  if (!rule) throw new RangeError(`unknown card brand ${String(brand)}`);
  return rule;
}

export function isCardBrand(value: string): value is CardBrand {
  return RULE_BY_BRAND.has(value as CardBrand);
}

/**
 * The brand of a (possibly partial) PAN, or undefined while the digits keyed so
 * far match no range or are too few to tell. The most specific match wins.
 */
export function detectBrand(digits: string): CardBrand | undefined {
  let best: { brand: CardBrand; specificity: number } | undefined;
  for (const rule of CARD_BRAND_RULES) {
    for (const [lo, hi] of rule.ranges) {
      const n = lo.length;
      if (digits.length < n) continue;
      const prefix = digits.slice(0, n);
      if (prefix >= lo && prefix <= hi && (!best || n > best.specificity)) {
        best = { brand: rule.brand, specificity: n };
      }
    }
  }
  return best?.brand;
}
