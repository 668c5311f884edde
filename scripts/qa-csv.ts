/**
 * The injection file for tests/sipp/direct-pay-info.xml: one line per call,
 * fields 0–9 the reference keys and #, fields 10–39 the card keys (number,
 * expiry, security code), one key per field, unused fields empty.
 *
 *   npm run qa-csv -- OUT.csv REFERENCE CARD EXPIRY CODE [REFERENCE CARD EXPIRY CODE ...]
 */
import { writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

export const REFERENCE_SLOTS = 10;
export const CARD_SLOTS = 30;

export interface InfoCall {
  readonly reference: string;
  readonly card: string;
  readonly expiry: string;
  readonly securityCode: string;
}

/** The CSV text (SIPp `SEQUENTIAL` order). */
export function infoInjectionCsv(calls: readonly InfoCall[]): string {
  const lines = calls.map((c) => {
    const reference = `${c.reference}#`;
    const card = `${c.card}${c.expiry}${c.securityCode}`;
    if (reference.length > REFERENCE_SLOTS || card.length > CARD_SLOTS || !/^[0-9#*]*$/.test(reference + card)) {
      throw new RangeError('a reference of up to 9 digits and card fields of up to 30 keys');
    }
    const slots = [...reference.padEnd(REFERENCE_SLOTS, ' '), ...card.padEnd(CARD_SLOTS, ' ')].map((k) => k.trim());
    return `${slots.join(';')};`;
  });
  return `SEQUENTIAL\n${lines.join('\n')}\n`;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [out, ...rest] = process.argv.slice(2);
  if (!out || rest.length === 0 || rest.length % 4 !== 0) {
    console.error('usage: npm run qa-csv -- OUT.csv REFERENCE CARD EXPIRY CODE [...]');
    process.exit(2);
  }
  const calls: InfoCall[] = [];
  for (let i = 0; i < rest.length; i += 4) {
    calls.push({ reference: rest[i]!, card: rest[i + 1]!, expiry: rest[i + 2]!, securityCode: rest[i + 3]! });
  }
  writeFileSync(out, infoInjectionCsv(calls), { mode: 0o600 });
  console.log(`${out}: ${calls.length} calls`);
}
