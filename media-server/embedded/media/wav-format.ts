/**
 * RIFF/WAVE constants shared by the reader and the writer (Microsoft
 * "Multimedia Programming Interface and Data Specifications 1.0", 1991, and
 * the WAVE_FORMAT_EXTENSIBLE addendum).
 */

/** WAVE format tags this engine reads. */
export const WaveFormatTag = {
  PCM: 0x0001,
  ALAW: 0x0006,
  MULAW: 0x0007,
  EXTENSIBLE: 0xfffe,
} as const;

/** Sample encodings this engine reads and writes. */
export type WavEncoding = 'pcm16' | 'alaw' | 'mulaw';

/** A malformed or unsupported WAV file. */
export class WavFormatError extends Error {
  override readonly name = 'WavFormatError';
}

/** Length of the canonical header the writer produces: RIFF + fmt (16) + data chunk header. */
export const WAV_PCM_HEADER_LENGTH = 44;

/** Offsets of the two size fields the writer patches on close. */
export const WavHeaderOffset = {
  RIFF_SIZE: 4,
  DATA_SIZE: 40,
} as const;

/**
 * Writes the canonical 44-byte header of a 16-bit PCM file with `dataBytes`
 * bytes of samples at the start of `target`.
 */
export function writePcm16WavHeader(target: Buffer, sampleRate: number, channels: number, dataBytes: number): void {
  const blockAlign = channels * 2;
  target.write('RIFF', 0, 'latin1');
  // The RIFF size counts everything after its own field: "WAVE", the fmt chunk and the data chunk.
  target.writeUInt32LE(WAV_PCM_HEADER_LENGTH - 8 + dataBytes, WavHeaderOffset.RIFF_SIZE);
  target.write('WAVE', 8, 'latin1');
  target.write('fmt ', 12, 'latin1');
  target.writeUInt32LE(16, 16);
  target.writeUInt16LE(WaveFormatTag.PCM, 20);
  target.writeUInt16LE(channels, 22);
  target.writeUInt32LE(sampleRate, 24);
  target.writeUInt32LE(sampleRate * blockAlign, 28);
  target.writeUInt16LE(blockAlign, 32);
  target.writeUInt16LE(16, 34);
  target.write('data', 36, 'latin1');
  target.writeUInt32LE(dataBytes, WavHeaderOffset.DATA_SIZE);
}
