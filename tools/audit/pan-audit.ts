import { closeSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { findPans } from '../../domain/pan-scrubber.js';

export interface FileFinding {
  readonly file: string;
  readonly offset: number;
  readonly last4: string;
}

export interface PanAuditReport {
  readonly filesScanned: number;
  readonly bytesScanned: number;
  readonly findings: readonly FileFinding[];
}

const CHUNK = 1 << 20;
/** Longest card-like run with separators ("4242 4242 4242 4242 424"): a run cut at a chunk end is seen whole. */
const OVERLAP = 40;

/**
 * Scans every file under `dir` (database, WAL, logs, recordings, sidecars,
 * anything) as bytes for Luhn-valid 12–19 digit runs. PCI DSS 4.0 req. 3.2.1:
 * sensitive authentication data must not be stored after authorisation;
 * this is the check that it was not.
 */
export function auditDirectoryForPans(dir: string): PanAuditReport {
  const findings: FileFinding[] = [];
  let filesScanned = 0;
  let bytesScanned = 0;
  const walk = (path: string): void => {
    for (const name of readdirSync(path)) {
      const full = join(path, name);
      const stat = statSync(full);
      if (stat.isDirectory()) {
        walk(full);
      } else if (stat.isFile()) {
        filesScanned++;
        bytesScanned += stat.size;
        for (const f of scanFile(full)) findings.push({ ...f, file: relative(dir, full) });
      }
    }
  };
  walk(dir);
  return { filesScanned, bytesScanned, findings };
}

const HEX = /[0-9a-fA-F]/;
/** Hex tokens at least this long are ids, keys and hashes (a SHA-256 in the audit chain is 64). */
const MIN_HEX_TOKEN = 20;

/**
 * A digit run inside a longer hexadecimal token (a random id, a hash of the
 * audit chain) is part of that token: one in ten random digit runs passes the
 * Luhn check, so without this every database would "hold" card numbers. A
 * PAN written anywhere as a number — in JSON, a log line, a CSV — has a
 * delimiter or a non-hex letter beside it and is still found.
 */
function insideHexToken(text: string, offset: number, length: number): boolean {
  let start = offset;
  while (start > 0 && HEX.test(text[start - 1] as string)) start--;
  let end = offset + length;
  while (end < text.length && HEX.test(text[end] as string)) end++;
  return end - start >= MIN_HEX_TOKEN && end - start > length;
}

/**
 * No card number starts with 0 (ISO/IEC 7812: major industry identifier 0 is
 * not a card issuer); a run of zeros (the audit chain's genesis hash, padding)
 * passes the Luhn check and would otherwise be "found".
 */
function cannotBeAPan(text: string, offset: number): boolean {
  return text[offset] === '0';
}

function scanFile(path: string): { offset: number; last4: string }[] {
  const found = new Map<number, string>();
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(CHUNK + OVERLAP);
    let carried = 0;
    let base = 0;
    for (;;) {
      const read = readSync(fd, buf, carried, CHUNK, null);
      const total = carried + read;
      if (total === 0) break;
      const text = buf.toString('latin1', 0, total);
      for (const hit of findPans(text)) {
        if (!insideHexToken(text, hit.offset, hit.length) && !cannotBeAPan(text, hit.offset)) found.set(base + hit.offset, hit.last4);
      }
      if (read === 0) break;
      carried = Math.min(OVERLAP, total);
      buf.copy(buf, 0, total - carried, total);
      base += total - carried;
    }
  } finally {
    closeSync(fd);
  }
  return [...found].map(([offset, last4]) => ({ offset, last4 }));
}
