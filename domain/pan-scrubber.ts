import { luhnValid } from './card-rules.js';

/**
 * 12–19 digits not touching other digits: either unbroken, or grouped as
 * card numbers are written ("4242 4242 4242 4242", "3782-822463-10005":
 * groups of 3 to 6 digits split by one space or dash). Any other grouping is
 * something else: a last four stored beside an ISO date ("4242" then
 * "2026-12-10") reads "42422026-12-10", which passes the Luhn check.
 */
const CARD_LIKE_RUN = /(?<![0-9])(?:[0-9]{12,19}|[0-9]{3,6}(?:[ -][0-9]{3,6}){2,5})(?![0-9])/g;

/** A Luhn-valid 12–19 digit run found in some text. */
export interface PanFinding {
  readonly offset: number;
  readonly length: number;
  /** The only digits a finding may show (PCI DSS 4.0 req. 3.4.1). */
  readonly last4: string;
}

/** Every Luhn-valid 12–19 digit run in `text` (grouped by spaces or dashes too). */
export function findPans(text: string): PanFinding[] {
  const found: PanFinding[] = [];
  if (!/[0-9]{4}/.test(text)) return found;
  for (const match of text.matchAll(CARD_LIKE_RUN)) {
    const digits = match[0].replace(/[ -]/g, '');
    if (digits.length >= 12 && digits.length <= 19 && luhnValid(digits)) {
      found.push({ offset: match.index, length: match[0].length, last4: digits.slice(-4) });
    }
  }
  return found;
}

/**
 * Replaces every Luhn-valid 12–19 digit run in `text` with a masked form that
 * keeps only the last four digits (PCI DSS 4.0 req. 3.4.1). A safety net under
 * the logger's field redaction: whatever path a PAN takes into a string, it
 * does not leave the process readable.
 */
export function scrubPans(text: string): string {
  const found = findPans(text);
  if (found.length === 0) return text;
  let out = '';
  let from = 0;
  for (const { offset, length, last4 } of found) {
    const masked = `[PAN ****${last4}]`;
    // A bare JSON number becomes a string, so the line stays valid JSON.
    const before = text[offset - 1];
    const after = text[offset + length];
    const bareNumber = (before === ':' || before === '[' || before === ',') && (after === ',' || after === '}' || after === ']');
    out += text.slice(from, offset) + (bareNumber ? `"${masked}"` : masked);
    from = offset + length;
  }
  return out + text.slice(from);
}
