/**
 * Raw G.711 µ-law audio of DTMF key presses, for SIPp's `rtp_stream` (which
 * sends a file's bytes verbatim, 160 per 20 ms, so the file has no header).
 *
 * `npm run dtmf-audio` (scripts/dtmf-audio.ts) writes one from the command line.
 *
 * Each segment is `wait:MS` (silence) or `keys:DIGITS` (each key TONE_MS of
 * tone then GAP_MS of silence; defaults 100 and 100, Q.24 timing with margin).
 */
import { writeFileSync } from 'node:fs';
import { PCMU } from '../media-server/embedded/media/g711.js';
import { ToneGenerator } from '../media-server/embedded/media/tone-generator.js';
import { isDtmfKey } from '../domain/dtmf-key.js';

export type AudioSegment = { readonly waitMs: number } | { readonly keys: string; readonly toneMs?: number; readonly gapMs?: number };

const RATE = 8000;

/** The PCM of the segments, padded to whole 20 ms frames. */
export function dtmfPcm(segments: readonly AudioSegment[]): Int16Array {
  const chunks: Int16Array[] = [];
  for (const segment of segments) {
    if ('waitMs' in segment) {
      chunks.push(new Int16Array((segment.waitMs * RATE) / 1000));
      continue;
    }
    for (const key of segment.keys) {
      if (!isDtmfKey(key)) throw new RangeError(`not a DTMF key: ${key}`);
      const tone = new Int16Array(((segment.toneMs ?? 100) * RATE) / 1000);
      ToneGenerator.dtmf(key).fill(tone);
      chunks.push(tone, new Int16Array(((segment.gapMs ?? 100) * RATE) / 1000));
    }
  }
  const total = chunks.reduce((n, c) => n + c.length, 0);
  const pcm = new Int16Array(Math.ceil(total / 160) * 160);
  let at = 0;
  for (const c of chunks) {
    pcm.set(c, at);
    at += c.length;
  }
  return pcm;
}

/** Writes the segments as headerless µ-law; returns the duration in ms. */
export function writeDtmfUlaw(path: string, segments: readonly AudioSegment[]): number {
  const pcm = dtmfPcm(segments);
  const out = new Uint8Array(pcm.length);
  PCMU.encode(pcm, out, pcm.length);
  writeFileSync(path, out);
  return (pcm.length * 1000) / RATE;
}
