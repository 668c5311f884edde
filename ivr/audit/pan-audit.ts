import { closeSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { findPans } from '../app/pan-scrubber.js';

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
      for (const hit of findPans(buf.toString('latin1', 0, total))) found.set(base + hit.offset, hit.last4);
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
