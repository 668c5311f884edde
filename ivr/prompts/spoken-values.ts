import type { PromptLanguage } from './prompt-texts.js';

/**
 * Amounts, references and digits are spoken by concatenating short recorded
 * fragments ("quarante-deux" + "euros" + "cinquante"). This module decides
 * which fragments, in which order; `FRAGMENT_TEXTS` says what each one says,
 * for the prompt generator.
 */

/** Currencies with their words; others are spelled out by their ISO code. */
const CURRENCY_WORDS: Readonly<Record<PromptLanguage, Readonly<Record<string, readonly [string, string]>>>> = {
  'fr-FR': { EUR: ['euro', 'euros'], GBP: ['livre', 'livres'], USD: ['dollar', 'dollars'], CHF: ['franc', 'francs'] },
  'en-GB': { EUR: ['euro', 'euros'], GBP: ['pound', 'pounds'], USD: ['dollar', 'dollars'], CHF: ['franc', 'francs'] },
};

/** ISO 4217 minor-unit exponents that are not 2. */
const MINOR_UNIT_EXPONENT: Readonly<Record<string, number>> = { JPY: 0, KRW: 0, ISK: 0, BHD: 3, KWD: 3, TND: 3 };

const LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';

/** Every fragment's text, per language. */
export const FRAGMENT_TEXTS: Readonly<Record<PromptLanguage, Readonly<Record<string, string>>>> = {
  'fr-FR': fragmentTexts('fr-FR', { hundred: 'cent', hundreds: 'cents', thousand: 'mille', and: 'et' }),
  'en-GB': fragmentTexts('en-GB', { hundred: 'hundred', hundreds: 'hundred', thousand: 'thousand', and: 'and' }),
};

function fragmentTexts(language: PromptLanguage, words: Record<string, string>): Record<string, string> {
  const texts: Record<string, string> = {};
  // espeak-ng reads digits in the voice's language ("80" → "quatre-vingts").
  for (let n = 0; n < 100; n++) texts[`number-${n}`] = String(n);
  for (const [id, text] of Object.entries(words)) texts[`word-${id}`] = text;
  for (const [code, [one, many]] of Object.entries(CURRENCY_WORDS[language])) {
    texts[`currency-${code}-one`] = one;
    texts[`currency-${code}-many`] = many;
  }
  for (const letter of LETTERS) texts[`letter-${letter}`] = letter;
  return texts;
}

/** A whole number as fragments (0 ≤ n < 1,000,000; larger numbers digit by digit). */
export function numberFragments(n: number, language: PromptLanguage): string[] {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`cannot speak ${n}`);
  if (n < 100) return [`number-${n}`];
  if (n >= 1_000_000) return characterFragments(String(n));
  const fr = language === 'fr-FR';
  if (n < 1000) {
    const hundreds = Math.floor(n / 100);
    const rest = n % 100;
    const head = hundreds > 1 || !fr ? [`number-${hundreds}`] : [];
    // "deux cents" but "deux cent un" (French); "two hundred and one" (British English).
    const word = fr && hundreds > 1 && rest === 0 ? 'word-hundreds' : 'word-hundred';
    const tail = rest === 0 ? [] : fr ? numberFragments(rest, language) : ['word-and', ...numberFragments(rest, language)];
    return [...head, word, ...tail];
  }
  const thousands = Math.floor(n / 1000);
  const rest = n % 1000;
  const head = thousands > 1 || !fr ? numberFragments(thousands, language) : [];
  const tail = rest === 0 ? [] : !fr && rest < 100 ? ['word-and', ...numberFragments(rest, language)] : numberFragments(rest, language);
  return [...head, 'word-thousand', ...tail];
}

/**
 * An amount as it is said: "quarante-deux euros cinquante", "forty-two
 * pounds fifty"; the minor part is left out when it is zero.
 */
export function amountFragments(amountMinor: number, currency: string, language: PromptLanguage): string[] {
  const exponent = MINOR_UNIT_EXPONENT[currency] ?? 2;
  const scale = 10 ** exponent;
  const major = Math.floor(amountMinor / scale);
  const minor = amountMinor % scale;
  const words = CURRENCY_WORDS[language][currency];
  // French keeps the singular below 2 ("zéro euro", "un euro"); English only for 1.
  const singular = language === 'fr-FR' ? major < 2 : major === 1;
  const unit = words ? [`currency-${currency}-${singular ? 'one' : 'many'}`] : characterFragments(currency);
  return [...numberFragments(major, language), ...unit, ...(minor > 0 ? numberFragments(minor, language) : [])];
}

/** A reference read one character at a time; anything but A–Z and 0–9 is skipped. */
export function characterFragments(value: string): string[] {
  const out: string[] = [];
  for (const ch of value.toUpperCase()) {
    if (ch >= '0' && ch <= '9') out.push(`number-${ch}`);
    else if (LETTERS.includes(ch)) out.push(`letter-${ch}`);
  }
  return out;
}
