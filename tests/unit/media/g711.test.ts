import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ALAW_DECODE_TABLE,
  MULAW_DECODE_TABLE,
  PCMA,
  PCMU,
  decodeAlawSample,
  decodeMulawSample,
  encodeAlawSample,
  encodeMulawSample,
  g711CodecByName,
  type G711Codec,
} from '../../../media-server/embedded/media/g711.js';
import { dbm0ToAmplitude, meanSquareToDbm0 } from '../../../media-server/embedded/media/signal-level.js';

function hasSox(): boolean {
  try {
    execFileSync('sox', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const ALL_SAMPLES = Int16Array.from({ length: 65536 }, (_, i) => i - 32768);

describe('G.711 known values', () => {
  it('µ-law: zero, minus one, full scale (ITU-T G.191 reference encoder)', () => {
    expect(encodeMulawSample(0)).toBe(0xff);
    expect(encodeMulawSample(-1)).toBe(0x7f);
    expect(encodeMulawSample(32767)).toBe(0x80);
    expect(encodeMulawSample(-32768)).toBe(0x00);
    expect(decodeMulawSample(0xff)).toBe(0);
    expect(decodeMulawSample(0x7f)).toBe(0);
    expect(decodeMulawSample(0x80)).toBe(32124);
    expect(decodeMulawSample(0x00)).toBe(-32124);
  });

  it('A-law: zero, minus one, full scale', () => {
    expect(encodeAlawSample(0)).toBe(0xd5);
    expect(encodeAlawSample(-1)).toBe(0x55);
    expect(encodeAlawSample(32767)).toBe(0xaa);
    expect(encodeAlawSample(-32768)).toBe(0x2a);
    expect(decodeAlawSample(0xd5)).toBe(8);
    expect(decodeAlawSample(0x55)).toBe(-8);
    expect(decodeAlawSample(0xaa)).toBe(32256);
    expect(decodeAlawSample(0x2a)).toBe(-32256);
  });

  // G.711 Tables 5 and 6: the digital milliwatt, a 1 kHz sine at 0 dBm0 sampled at 22.5° + k·45°.
  it.each([
    [PCMU, [0x1e, 0x0b, 0x0b, 0x1e, 0x9e, 0x8b, 0x8b, 0x9e]],
    [PCMA, [0x34, 0x21, 0x21, 0x34, 0xb4, 0xa1, 0xa1, 0xb4]],
  ] as const)('encodes a 0 dBm0 1 kHz sine to the digital milliwatt sequence (%s)', (codec, sequence) => {
    const amplitude = dbm0ToAmplitude(0);
    const pcm = Int16Array.from({ length: 8 }, (_, k) => Math.round(-amplitude * Math.sin(Math.PI / 8 + (k * Math.PI) / 4)));
    const codes = new Uint8Array(8);
    codec.encode(pcm, codes);
    expect([...codes]).toEqual(sequence);
    const decoded = new Int16Array(8);
    codec.decode(Uint8Array.from(sequence), decoded);
    const meanSquare = decoded.reduce((sum, x) => sum + x * x, 0) / 8;
    expect(Math.abs(meanSquareToDbm0(meanSquare))).toBeLessThan(0.1);
  });
});

describe.each([
  ['PCMU', PCMU],
  ['PCMA', PCMA],
] as const)('%s', (_name, codec: G711Codec) => {
  it('codes each word for one contiguous range of samples and decodes it to the middle of that range', () => {
    // G.711 reconstructs at the midpoint of each decision interval; the ranges here are what the
    // reference encoder's decision values make of 16-bit input.
    const codes = new Uint8Array(ALL_SAMPLES.length);
    codec.encode(ALL_SAMPLES, codes);
    const seen = new Set<number>();
    let start = 0;
    for (let i = 1; i <= codes.length; i++) {
      if (i < codes.length && codes[i] === codes[start]) continue;
      const code = codes[start] as number;
      expect(seen.has(code), `code 0x${code.toString(16)} used for two ranges`).toBe(false);
      seen.add(code);
      const low = ALL_SAMPLES[start] as number;
      const high = ALL_SAMPLES[i - 1] as number;
      const decoded = codec.decodeTable[code] as number;
      // The outermost ranges also take the clipped samples; µ-law's two zeros split [−4, 3].
      if (low !== -32768 && high !== 32767) {
        expect(Math.abs(decoded - (low + high) / 2), `0x${code.toString(16)} for [${low}, ${high}]`).toBeLessThanOrEqual(decoded === 0 ? 2.5 : 0.5);
      }
      start = i;
    }
    expect(seen.size).toBe(256);
  });

  it('decode then encode gives back every code word (but µ-law negative zero)', () => {
    const codes = Uint8Array.from({ length: 256 }, (_, i) => i);
    const pcm = new Int16Array(256);
    const again = new Uint8Array(256);
    codec.decode(codes, pcm);
    codec.encode(pcm, again);
    for (let c = 0; c < 256; c++) {
      if (codec === PCMU && c === 0x7f) expect(again[c]).toBe(0xff);
      else expect(again[c]).toBe(c);
    }
  });

  it('codes a 160-sample frame into caller buffers and honours count', () => {
    const pcm = Int16Array.from({ length: 160 }, (_, i) => Math.round(8000 * Math.sin(i / 3)));
    const codes = new Uint8Array(200).fill(0x42);
    codec.encode(pcm, codes);
    expect(codes[160]).toBe(0x42);
    const back = new Int16Array(160);
    codec.decode(codes, back, 160);
    for (let i = 0; i < 160; i++) expect(Math.abs((back[i] as number) - (pcm[i] as number))).toBeLessThan(300);
    codec.encode(pcm, codes, 10);
    expect(() => codec.encode(pcm, new Uint8Array(100))).toThrow(RangeError);
    expect(() => codec.decode(codes, new Int16Array(10), 11)).toThrow(RangeError);
    expect(() => codec.encode(pcm, codes, 161)).toThrow(RangeError);
  });

  it('has silence and RTP metadata', () => {
    expect(codec.decodeTable[codec.silence]).toBe(codec === PCMU ? 0 : 8);
    expect(g711CodecByName(codec.encodingName.toLowerCase())).toBe(codec);
  });
});

describe.skipIf(!hasSox())('G.711 against sox', () => {
  it('decodes every code word exactly as sox does', () => {
    const dir = mkdtempSync(join(tmpdir(), 'g711-'));
    try {
      writeFileSync(join(dir, 'codes'), Uint8Array.from({ length: 256 }, (_, i) => i));
      for (const [encoding, table] of [
        ['mu-law', MULAW_DECODE_TABLE],
        ['a-law', ALAW_DECODE_TABLE],
      ] as const) {
        execFileSync('sox', ['-D', '-t', 'raw', '-r', '8000', '-c', '1', '-e', encoding, '-b', '8', join(dir, 'codes'), '-t', 'raw', '-e', 'signed', '-b', '16', '-L', join(dir, 'pcm')]);
        const pcm = readFileSync(join(dir, 'pcm'));
        expect(Array.from({ length: 256 }, (_, i) => pcm.readInt16LE(2 * i))).toEqual([...table]);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('encodes as sox does except right at decision boundaries (sox rounds where G.191 truncates)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'g711-'));
    try {
      writeFileSync(join(dir, 'pcm'), Buffer.from(ALL_SAMPLES.buffer));
      for (const [encoding, codec] of [
        ['mu-law', PCMU],
        ['a-law', PCMA],
      ] as const) {
        execFileSync('sox', ['-D', '-V1', '-t', 'raw', '-r', '8000', '-c', '1', '-e', 'signed', '-b', '16', '-L', join(dir, 'pcm'), '-t', 'raw', '-e', encoding, '-b', '8', join(dir, 'codes')]);
        const theirs = readFileSync(join(dir, 'codes'));
        const ours = new Uint8Array(ALL_SAMPLES.length);
        codec.encode(ALL_SAMPLES, ours);
        let differences = 0;
        for (let i = 0; i < ours.length; i++) {
          if (ours[i] === theirs[i]) continue;
          differences++;
          const x = ALL_SAMPLES[i] as number;
          // Within 8 of a boundary of ours: the code changes between x − 8 and x + 8.
          const below = codec === PCMU ? encodeMulawSample(Math.max(-32768, x - 8)) : encodeAlawSample(Math.max(-32768, x - 8));
          const above = codec === PCMU ? encodeMulawSample(Math.min(32767, x + 8)) : encodeAlawSample(Math.min(32767, x + 8));
          expect(below === above, `sample ${x}`).toBe(false);
        }
        expect(differences / ours.length).toBeLessThan(0.02);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
