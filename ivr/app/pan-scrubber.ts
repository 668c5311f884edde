import { luhnValid } from '../domain/card-rules.js';

/**
 * 12–19 digits, optionally grouped by single spaces or dashes as people write
 * card numbers ("4242 4242 4242 4242"), not touching other digits.
 */
const CARD_LIKE_RUN = /(?<![0-9])[0-9](?:[ -]?[0-9]){11,18}(?![0-9])/g;

/**
 * Replaces every Luhn-valid 12–19 digit run in `text` with a masked form that
 * keeps only the last four digits (PCI DSS 4.0 req. 3.4.1). A safety net under
 * the logger's field redaction: whatever path a PAN takes into a string, it
 * does not leave the process readable.
 */
export function scrubPans(text: string): string {
  if (!/[0-9]{4}/.test(text)) return text;
  return text.replace(CARD_LIKE_RUN, (run: string, offset: number) => {
    const digits = run.replace(/[ -]/g, '');
    if (digits.length < 12 || digits.length > 19 || !luhnValid(digits)) return run;
    const masked = `[PAN ****${digits.slice(-4)}]`;
    // A bare JSON number becomes a string, so the line stays valid JSON.
    const before = text[offset - 1];
    const after = text[offset + run.length];
    const bareNumber = (before === ':' || before === '[' || before === ',') && (after === ',' || after === '}' || after === ']');
    return bareNumber ? `"${masked}"` : masked;
  });
}
