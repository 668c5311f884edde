import { readFile } from 'node:fs/promises';
import { PCMA, PCMU } from './g711.js';
import { WaveFormatTag, WavFormatError, type WavEncoding } from './wav-format.js';

/** The sub-format GUID tail of WAVE_FORMAT_EXTENSIBLE: {xxxxxxxx-0000-0010-8000-00AA00389B71}. */
const EXTENSIBLE_GUID_TAIL = Buffer.from([0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71]);

export interface WavExpectation {
  /** Reject any other sample rate. Default: any. */
  readonly sampleRate?: number;
  /** Reject any other channel count. Default: any. */
  readonly channels?: number;
}

/** A parsed WAV file: its format and a view of its sample bytes. */
export class WavAudio {
  constructor(
    readonly encoding: WavEncoding,
    readonly sampleRate: number,
    readonly channels: number,
    /** The data chunk's bytes, interleaved, a view into the file buffer. */
    readonly data: Buffer,
  ) {}

  /** Samples per channel. */
  get frameCount(): number {
    return this.data.length / this.bytesPerFrame;
  }

  get bytesPerFrame(): number {
    return this.channels * (this.encoding === 'pcm16' ? 2 : 1);
  }

  get durationMs(): number {
    return (this.frameCount * 1000) / this.sampleRate;
  }

  /** Every sample as 16-bit PCM, channels interleaved (G.711 decoded). */
  toPcm16(): Int16Array {
    const count = this.data.length / (this.encoding === 'pcm16' ? 2 : 1);
    const out = new Int16Array(count);
    if (this.encoding === 'pcm16') {
      for (let i = 0; i < count; i++) out[i] = this.data.readInt16LE(2 * i);
    } else {
      (this.encoding === 'mulaw' ? PCMU : PCMA).decode(this.data, out);
    }
    return out;
  }

  /** One channel as 16-bit PCM. */
  channel(index: number): Int16Array {
    if (!Number.isInteger(index) || index < 0 || index >= this.channels) {
      throw new RangeError(`channel ${index} out of range 0..${this.channels - 1}`);
    }
    const all = this.toPcm16();
    if (this.channels === 1) return all;
    const out = new Int16Array(this.frameCount);
    for (let i = 0; i < out.length; i++) out[i] = all[i * this.channels + index] as number;
    return out;
  }
}

interface FormatChunk {
  encoding: WavEncoding;
  channels: number;
  sampleRate: number;
  blockAlign: number;
}

function fourcc(buf: Buffer, offset: number): string {
  return buf.toString('latin1', offset, offset + 4);
}

function parseFormat(buf: Buffer, offset: number, size: number): FormatChunk {
  if (size < 16) throw new WavFormatError(`fmt chunk of ${size} bytes is shorter than 16`);
  let tag = buf.readUInt16LE(offset);
  const channels = buf.readUInt16LE(offset + 2);
  const sampleRate = buf.readUInt32LE(offset + 4);
  const byteRate = buf.readUInt32LE(offset + 8);
  const blockAlign = buf.readUInt16LE(offset + 12);
  const bitsPerSample = buf.readUInt16LE(offset + 14);
  if (tag === WaveFormatTag.EXTENSIBLE) {
    if (size < 40) throw new WavFormatError(`WAVE_FORMAT_EXTENSIBLE fmt chunk of ${size} bytes is shorter than 40`);
    const extensionSize = buf.readUInt16LE(offset + 16);
    if (extensionSize < 22) throw new WavFormatError(`WAVE_FORMAT_EXTENSIBLE extension of ${extensionSize} bytes is shorter than 22`);
    const validBits = buf.readUInt16LE(offset + 18);
    if (validBits !== 0 && validBits !== bitsPerSample) {
      throw new WavFormatError(`${validBits} valid bits in ${bitsPerSample}-bit containers are not supported`);
    }
    if (!buf.subarray(offset + 26, offset + 40).equals(EXTENSIBLE_GUID_TAIL)) {
      throw new WavFormatError('WAVE_FORMAT_EXTENSIBLE sub-format is not a standard format GUID');
    }
    tag = buf.readUInt16LE(offset + 24);
  }
  let encoding: WavEncoding;
  if (tag === WaveFormatTag.PCM && bitsPerSample === 16) encoding = 'pcm16';
  else if (tag === WaveFormatTag.MULAW && bitsPerSample === 8) encoding = 'mulaw';
  else if (tag === WaveFormatTag.ALAW && bitsPerSample === 8) encoding = 'alaw';
  else throw new WavFormatError(`WAV format tag ${tag} with ${bitsPerSample} bits per sample is not supported (16-bit PCM, 8-bit µ-law or A-law)`);
  if (channels === 0) throw new WavFormatError('WAV declares 0 channels');
  if (sampleRate === 0) throw new WavFormatError('WAV declares a sample rate of 0');
  const expectedAlign = channels * (bitsPerSample / 8);
  if (blockAlign !== expectedAlign) throw new WavFormatError(`WAV block align ${blockAlign}, expected ${expectedAlign}`);
  if (byteRate !== sampleRate * blockAlign) throw new WavFormatError(`WAV byte rate ${byteRate}, expected ${sampleRate * blockAlign}`);
  return { encoding, channels, sampleRate, blockAlign };
}

/**
 * Parses a WAV file held in memory: 16-bit PCM, µ-law (format 7) or A-law
 * (format 6), plain or WAVE_FORMAT_EXTENSIBLE. Strict about structure: the
 * RIFF size must match the file length, each chunk must fit (and be padded
 * to an even length), there must be exactly one fmt chunk before exactly
 * one data chunk, and the data must be whole frames. Other chunks (LIST,
 * fact, cue …) are skipped. Throws `WavFormatError`.
 */
export function parseWav(buf: Buffer, expect: WavExpectation = {}): WavAudio {
  if (buf.length < 12) throw new WavFormatError(`file of ${buf.length} bytes is too short for a RIFF header`);
  if (fourcc(buf, 0) !== 'RIFF') throw new WavFormatError(`not a RIFF file (starts with ${JSON.stringify(fourcc(buf, 0))})`);
  if (fourcc(buf, 8) !== 'WAVE') throw new WavFormatError(`RIFF form type ${JSON.stringify(fourcc(buf, 8))} is not WAVE`);
  const riffEnd = 8 + buf.readUInt32LE(4);
  if (riffEnd !== buf.length) throw new WavFormatError(`RIFF size says ${riffEnd} bytes, file has ${buf.length}`);

  let format: FormatChunk | undefined;
  let data: Buffer | undefined;
  let offset = 12;
  while (offset < riffEnd) {
    if (offset + 8 > riffEnd) throw new WavFormatError(`truncated chunk header at byte ${offset}`);
    const id = fourcc(buf, offset);
    const size = buf.readUInt32LE(offset + 4);
    const body = offset + 8;
    if (body + size > riffEnd) throw new WavFormatError(`chunk ${JSON.stringify(id)} of ${size} bytes overruns the file at byte ${offset}`);
    // RIFF chunks are word aligned: an odd-sized chunk is followed by a pad byte.
    const next = body + size + (size & 1);
    if (next > riffEnd) throw new WavFormatError(`chunk ${JSON.stringify(id)} lacks its pad byte`);
    if (id === 'fmt ') {
      if (format) throw new WavFormatError('more than one fmt chunk');
      format = parseFormat(buf, body, size);
    } else if (id === 'data') {
      if (!format) throw new WavFormatError('data chunk before the fmt chunk');
      if (data) throw new WavFormatError('more than one data chunk');
      if (size % format.blockAlign !== 0) {
        throw new WavFormatError(`data chunk of ${size} bytes is not a whole number of ${format.blockAlign}-byte frames`);
      }
      data = buf.subarray(body, body + size);
    }
    offset = next;
  }
  if (!format) throw new WavFormatError('no fmt chunk');
  if (!data) throw new WavFormatError('no data chunk');
  if (expect.sampleRate !== undefined && format.sampleRate !== expect.sampleRate) {
    throw new WavFormatError(`sample rate ${format.sampleRate} Hz, expected ${expect.sampleRate} Hz`);
  }
  if (expect.channels !== undefined && format.channels !== expect.channels) {
    throw new WavFormatError(`${format.channels} channels, expected ${expect.channels}`);
  }
  return new WavAudio(format.encoding, format.sampleRate, format.channels, data);
}

/** Reads and parses a WAV file (see `parseWav`). */
export async function readWavFile(path: string, expect?: WavExpectation): Promise<WavAudio> {
  return parseWav(await readFile(path), expect);
}

/** The prompt format the engine plays: 8 kHz mono, 16-bit PCM or G.711. */
export const PROMPT_WAV: WavExpectation = Object.freeze({ sampleRate: 8000, channels: 1 });
