/**
 * `npm run audit:pan [DIR]`: scans a data directory (default DATA_DIR or
 * ./data) for card numbers in any file, and its call recordings for sound
 * (DTMF above all) inside the spans paused for card capture. Prints each
 * finding (file, offset, last four only) and exits 1 if there is any.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { auditDirectoryForPans } from '../tools/audit/pan-audit.js';
import { auditRecordings } from '../tools/audit/recording-audit.js';

const dir = resolve(process.argv[2] ?? process.env.DATA_DIR ?? './data');
if (!existsSync(dir)) {
  console.error(`audit:pan: ${dir} does not exist`);
  process.exit(2);
}
const pans = auditDirectoryForPans(dir);
for (const f of pans.findings) console.log(`PAN ****${f.last4} in ${f.file} at byte ${f.offset}`);
console.log(`audit:pan: ${pans.filesScanned} files, ${pans.bytesScanned} bytes, ${pans.findings.length} card numbers found`);

const recordings = auditRecordings(dir);
for (const f of recordings.findings) console.log(`${f.kind.toUpperCase()} in paused span of ${f.file} (${f.channel}) at sample ${f.atSample}`);
for (const f of recordings.unreadable) console.log(`UNREADABLE recording ${f}`);
for (const f of recordings.unfinished) console.log(`unfinished recording ${f} (never closed; audited on what reached the disk)`);
console.log(
  `audit:pan: ${recordings.recordingsScanned} recordings, ${Math.round(recordings.pausedMs)} ms paused, ` +
    `${recordings.findings.length} sounds in paused spans, ${recordings.unreadable.length} unreadable, ${recordings.unfinished.length} unfinished`,
);
const clean = pans.findings.length === 0 && recordings.findings.length === 0 && recordings.unreadable.length === 0;
process.exit(clean ? 0 : 1);
