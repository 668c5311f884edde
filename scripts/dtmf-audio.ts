/**
 * Writes raw G.711 µ-law audio of DTMF key presses for SIPp's `rtp_stream`:
 *
 *   npm run dtmf-audio -- OUT.ulaw "wait:1000" "keys:1001#" "wait:2000" "keys:<card>" ...
 *
 * Each segment is `wait:MS` (silence) or `keys:DIGITS` (see tools/dtmf-audio.ts).
 */
import { writeDtmfUlaw, type AudioSegment } from '../tools/dtmf-audio.js';

function parseSegment(arg: string): AudioSegment {
  const [kind, value] = [arg.slice(0, arg.indexOf(':')), arg.slice(arg.indexOf(':') + 1)];
  if (kind === 'wait' && /^\d+$/.test(value)) return { waitMs: Number(value) };
  if (kind === 'keys' && value.length > 0) return { keys: value };
  throw new RangeError(`bad segment ${arg}: use wait:MS or keys:DIGITS`);
}

const [out, ...segments] = process.argv.slice(2);
if (!out || segments.length === 0) {
  console.error('usage: npm run dtmf-audio -- OUT.ulaw wait:MS keys:DIGITS ...');
  process.exit(2);
}
const ms = writeDtmfUlaw(out, segments.map(parseSegment));
console.log(`${out}: ${ms} ms of µ-law audio`);
