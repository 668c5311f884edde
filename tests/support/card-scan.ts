import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Where each of `needles` (test card numbers, expiries, security codes the
 * test keyed) occurs in the files under `dir`, read as bytes (latin1) so a
 * number inside a binary page of a database is found too. Empty when clean.
 */
export function findCardDataInFiles(dir: string, needles: readonly string[]): string[] {
  const hits: string[] = [];
  const walk = (path: string): void => {
    for (const name of readdirSync(path)) {
      const full = join(path, name);
      if (statSync(full).isDirectory()) walk(full);
      else hits.push(...findCardDataInText(readFileSync(full).toString('latin1'), needles).map((n) => `${full}: ${n}`));
    }
  };
  walk(dir);
  return hits;
}

/** The needles found in `text`, also when written in groups of four ("4242 4242 ..."). */
export function findCardDataInText(text: string, needles: readonly string[]): string[] {
  const found: string[] = [];
  for (const needle of needles) {
    const grouped = needle.replace(/(\d{4})(?=\d)/g, '$1 ');
    if (text.includes(needle) || text.includes(grouped)) found.push(`…${needle.slice(-4)}`);
  }
  return found;
}
