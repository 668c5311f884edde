/**
 * `npm run audit:pan [DIR]`: scans a data directory (default DATA_DIR or
 * ./data) for card numbers. Prints each finding (file, offset, last four
 * only) and exits 1 if there is any.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { auditDirectoryForPans } from '../ivr/audit/pan-audit.js';

const dir = resolve(process.argv[2] ?? process.env.DATA_DIR ?? './data');
if (!existsSync(dir)) {
  console.error(`audit:pan: ${dir} does not exist`);
  process.exit(2);
}
const report = auditDirectoryForPans(dir);
for (const f of report.findings) console.log(`PAN ****${f.last4} in ${f.file} at byte ${f.offset}`);
console.log(`audit:pan: ${report.filesScanned} files, ${report.bytesScanned} bytes, ${report.findings.length} card numbers found`);
process.exit(report.findings.length === 0 ? 0 : 1);
