import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PCMA, PCMU } from '../../../media-server/embedded/media/g711.js';
import { ToneGenerator } from '../../../media-server/embedded/media/tone-generator.js';
import { WavFormatError, writePcm16WavHeader } from '../../../media-server/embedded/media/wav-format.js';
import { PROMPT_WAV, parseWav, readWavFile } from '../../../media-server/embedded/media/wav-reader.js';
import { WavFileWriter, WavWriterStateError } from '../../../media-server/embedded/media/wav-writer.js';

const dir = mkdtempSync(join(tmpdir(), 'wav-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function hasSox(): boolean {
  try {
    execFileSync('sox', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function tone(samples: number, frequency: number, level = -10): Int16Array {
  const pcm = new Int16Array(samples);
  ToneGenerator.single(frequency, level).fill(pcm);
  return pcm;
}

interface ChunkSpec {
  readonly id: string;
  readonly body: Buffer;
}

function chunk(id: string, body: Buffer): ChunkSpec {
  return { id, body };
}

function fmt(tag: number, channels: number, rate: number, bits: number, extra: Buffer = Buffer.alloc(0)): ChunkSpec {
  const body = Buffer.alloc(16);
  const align = (channels * bits) / 8;
  body.writeUInt16LE(tag, 0);
  body.writeUInt16LE(channels, 2);
  body.writeUInt32LE(rate, 4);
  body.writeUInt32LE(rate * align, 8);
  body.writeUInt16LE(align, 12);
  body.writeUInt16LE(bits, 14);
  return chunk('fmt ', Buffer.concat([body, extra]));
}

/** A RIFF/WAVE file from chunks, each padded to an even length. */
function riff(chunks: readonly ChunkSpec[]): Buffer {
  const parts: Buffer[] = [Buffer.from('WAVE', 'latin1')];
  for (const c of chunks) {
    const header = Buffer.alloc(8);
    header.write(c.id, 0, 'latin1');
    header.writeUInt32LE(c.body.length, 4);
    parts.push(header, c.body);
    if (c.body.length % 2) parts.push(Buffer.alloc(1));
  }
  const body = Buffer.concat(parts);
  const head = Buffer.alloc(8);
  head.write('RIFF', 0, 'latin1');
  head.writeUInt32LE(body.length, 4);
  return Buffer.concat([head, body]);
}

function pcmBytes(pcm: Int16Array): Buffer {
  const out = Buffer.alloc(pcm.length * 2);
  pcm.forEach((x, i) => out.writeInt16LE(x, 2 * i));
  return out;
}

describe('WavFileWriter', () => {
  it('streams a stereo 8 kHz recording, patches the sizes on close, and reads back', async () => {
    const path = join(dir, 'call.wav');
    const writer = await WavFileWriter.create(path, { chunkBytes: 1000 });
    const left = tone(8000, 440);
    const right = tone(8000, 1000);
    // 20 ms frames, as the RTP loop delivers them, across many chunk boundaries.
    for (let i = 0; i < 8000; i += 160) writer.append(left.subarray(i, i + 160), right.subarray(i, i + 160));
    writer.appendSilence(800);
    expect(writer.framesWritten).toBe(8800);
    await writer.close();
    await writer.close();

    const bytes = readFileSync(path);
    expect(bytes.length).toBe(44 + 8800 * 4);
    expect(bytes.readUInt32LE(4)).toBe(36 + 8800 * 4);
    expect(bytes.readUInt32LE(40)).toBe(8800 * 4);
    const audio = await readWavFile(path, { sampleRate: 8000, channels: 2 });
    expect(audio).toMatchObject({ encoding: 'pcm16', sampleRate: 8000, channels: 2, frameCount: 8800, durationMs: 1100 });
    expect(audio.channel(0).subarray(0, 8000)).toEqual(left);
    expect(audio.channel(1).subarray(0, 8000)).toEqual(right);
    expect(audio.channel(1).subarray(8000)).toEqual(new Int16Array(800));
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it('writes mono, honours count, and refuses channel mismatches', async () => {
    const writer = await WavFileWriter.create(join(dir, 'mono.wav'), { channels: 1 });
    const samples = tone(320, 700);
    writer.append(samples, undefined, 160);
    expect(() => writer.append(samples, samples)).toThrow(RangeError);
    expect(() => writer.append(samples, undefined, 321)).toThrow(RangeError);
    await writer.flush();
    await writer.close();
    expect((await readWavFile(join(dir, 'mono.wav'), PROMPT_WAV)).toPcm16()).toEqual(samples.subarray(0, 160));

    const stereo = await WavFileWriter.create(join(dir, 'stereo.wav'));
    expect(() => stereo.append(samples)).toThrow(RangeError);
    expect(() => stereo.append(samples, samples.subarray(0, 10), 11)).toThrow(RangeError);
    await stereo.close();
  });

  it('refuses to append after close', async () => {
    const writer = await WavFileWriter.create(join(dir, 'closed.wav'));
    await writer.close();
    expect(writer.closed).toBe(true);
    expect(() => writer.appendSilence(1)).toThrow(WavWriterStateError);
  });

  it('leaves a file that was never closed recognisably incomplete', async () => {
    const path = join(dir, 'crashed.wav');
    const writer = await WavFileWriter.create(path, { chunkBytes: 400 });
    writer.append(tone(800, 500), tone(800, 600));
    await writer.flush();
    expect(readFileSync(path).readUInt32LE(40)).toBe(0);
    expect(() => parseWav(readFileSync(path))).toThrow(WavFormatError);
    await writer.close();
    expect(parseWav(readFileSync(path)).frameCount).toBe(800);
  });

  it('reports a failed disk write on the next append and on close', async () => {
    const writes: number[] = [];
    let closed = false;
    const full = new Error('ENOSPC: no space left on device');
    const writer = await WavFileWriter.create('disk-full.wav', {
      channels: 1,
      chunkBytes: 320,
      openFile: async () => ({
        write: async (_buffer: Buffer, _offset: number, length: number, position: number) => {
          writes.push(position);
          if (position > 0) throw full;
          return { bytesWritten: length };
        },
        close: async () => {
          closed = true;
        },
      }),
    });
    writer.append(tone(160, 500));
    await expect(writer.flush()).rejects.toThrow(WavWriterStateError);
    expect(() => writer.append(tone(160, 500))).toThrow(WavWriterStateError);
    const error = await writer.close().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WavWriterStateError);
    expect((error as Error).cause).toBe(full);
    expect(closed).toBe(true);
    // Header, then the one chunk; no size patch over a failed file.
    expect(writes).toEqual([0, 44]);
  });

  it('carries on after a short write', async () => {
    const file = Buffer.alloc(44 + 640);
    const writer = await WavFileWriter.create('short-writes.wav', {
      channels: 1,
      openFile: async () => ({
        write: async (buffer: Buffer, offset: number, length: number, position: number) => {
          const n = Math.min(length, 7);
          buffer.copy(file, position, offset, offset + n);
          return { bytesWritten: n };
        },
        close: async () => undefined,
      }),
    });
    writer.append(tone(320, 500));
    await writer.close();
    expect(parseWav(file).toPcm16()).toEqual(tone(320, 500));
  });

  it('refuses bad options', async () => {
    await expect(WavFileWriter.create(join(dir, 'x.wav'), { chunkBytes: 3 })).rejects.toThrow(RangeError);
    await expect(WavFileWriter.create(join(dir, 'x.wav'), { sampleRate: 0 })).rejects.toThrow(RangeError);
  });
});

describe('parseWav', () => {
  const samples = tone(160, 1000);

  it('reads 16-bit PCM, skipping LIST and other unknown chunks, odd-sized ones with their pad byte', () => {
    const file = riff([
      chunk('LIST', Buffer.from('INFOISFT\x05\x00\x00\x00sox\x00\x00\x00', 'latin1')),
      fmt(1, 1, 8000, 16),
      chunk('junk', Buffer.from([1, 2, 3])),
      chunk('data', pcmBytes(samples)),
      chunk('cue ', Buffer.alloc(4)),
    ]);
    const audio = parseWav(file, PROMPT_WAV);
    expect(audio).toMatchObject({ encoding: 'pcm16', frameCount: 160, durationMs: 20 });
    expect(audio.toPcm16()).toEqual(samples);
  });

  it('reads µ-law (format 7) and A-law (format 6) and decodes them', () => {
    for (const [tag, codec, encoding] of [
      [7, PCMU, 'mulaw'],
      [6, PCMA, 'alaw'],
    ] as const) {
      const codes = new Uint8Array(160);
      codec.encode(samples, codes);
      const file = riff([fmt(tag, 1, 8000, 8, Buffer.alloc(2)), chunk('fact', Buffer.alloc(4)), chunk('data', Buffer.from(codes))]);
      const audio = parseWav(file, PROMPT_WAV);
      expect(audio.encoding).toBe(encoding);
      const expected = new Int16Array(160);
      codec.decode(codes, expected);
      expect(audio.toPcm16()).toEqual(expected);
    }
  });

  it('reads WAVE_FORMAT_EXTENSIBLE with a standard sub-format', () => {
    const extension = Buffer.alloc(24);
    extension.writeUInt16LE(22, 0);
    extension.writeUInt16LE(16, 2);
    extension.writeUInt32LE(4, 4);
    Buffer.from('0100000000001000800000aa00389b71', 'hex').copy(extension, 8);
    const audio = parseWav(riff([fmt(0xfffe, 1, 8000, 16, extension), chunk('data', pcmBytes(samples))]));
    expect(audio.toPcm16()).toEqual(samples);
    Buffer.from('0100000000001000800000aa00389b72', 'hex').copy(extension, 8);
    expect(() => parseWav(riff([fmt(0xfffe, 1, 8000, 16, extension), chunk('data', pcmBytes(samples))]))).toThrow(WavFormatError);
  });

  it('reads the canonical header the writer uses', () => {
    const header = Buffer.alloc(44);
    writePcm16WavHeader(header, 8000, 1, 320);
    expect(parseWav(Buffer.concat([header, pcmBytes(samples)])).toPcm16()).toEqual(samples);
  });

  const good = riff([fmt(1, 1, 8000, 16), chunk('data', pcmBytes(samples))]);
  const withRiffSize = (buf: Buffer, size: number): Buffer => {
    const copy = Buffer.from(buf);
    copy.writeUInt32LE(size, 4);
    return copy;
  };
  it.each([
    ['too short', Buffer.from('RIFF')],
    ['not RIFF', Buffer.concat([Buffer.from('RIFX'), good.subarray(4)])],
    ['not WAVE', Buffer.concat([good.subarray(0, 8), Buffer.from('AVI '), good.subarray(12)])],
    ['RIFF size larger than the file', withRiffSize(good, good.length)],
    ['RIFF size smaller than the file', withRiffSize(good, good.length - 10)],
    ['streaming placeholder size', withRiffSize(good, 0x7ffff000)],
    ['a truncated chunk header', riff([fmt(1, 1, 8000, 16), chunk('data', pcmBytes(samples))]).subarray(0, 40)],
    ['a chunk overrunning the file', (() => {
      const copy = Buffer.from(good);
      copy.writeUInt32LE(10_000, 40);
      return copy;
    })()],
    ['a missing pad byte', (() => {
      const file = riff([fmt(1, 1, 8000, 16), chunk('data', pcmBytes(samples)), chunk('odd ', Buffer.alloc(3))]);
      return withRiffSize(file.subarray(0, file.length - 1), file.length - 9);
    })()],
    ['no fmt chunk', riff([chunk('data', pcmBytes(samples))])],
    ['no data chunk', riff([fmt(1, 1, 8000, 16)])],
    ['data before fmt', riff([chunk('data', pcmBytes(samples)), fmt(1, 1, 8000, 16)])],
    ['two fmt chunks', riff([fmt(1, 1, 8000, 16), fmt(1, 1, 8000, 16), chunk('data', pcmBytes(samples))])],
    ['two data chunks', riff([fmt(1, 1, 8000, 16), chunk('data', pcmBytes(samples)), chunk('data', pcmBytes(samples))])],
    ['a short fmt chunk', riff([chunk('fmt ', Buffer.alloc(14)), chunk('data', pcmBytes(samples))])],
    ['8-bit PCM', riff([fmt(1, 1, 8000, 8), chunk('data', Buffer.alloc(160))])],
    ['IEEE float', riff([fmt(3, 1, 8000, 32), chunk('data', Buffer.alloc(640))])],
    ['16-bit µ-law', riff([fmt(7, 1, 8000, 16), chunk('data', Buffer.alloc(320))])],
    ['zero channels', riff([fmt(1, 0, 8000, 16), chunk('data', Buffer.alloc(0))])],
    ['a wrong block align', (() => {
      const f = fmt(1, 1, 8000, 16);
      f.body.writeUInt16LE(4, 12);
      return riff([f, chunk('data', pcmBytes(samples))]);
    })()],
    ['a wrong byte rate', (() => {
      const f = fmt(1, 1, 8000, 16);
      f.body.writeUInt32LE(8000, 8);
      return riff([f, chunk('data', pcmBytes(samples))]);
    })()],
    ['data that is not whole frames', riff([fmt(1, 2, 8000, 16), chunk('data', Buffer.alloc(6))])],
  ])('rejects %s with WavFormatError', (_what, file) => {
    expect(() => parseWav(file)).toThrow(WavFormatError);
  });

  it('rejects a file that is not what the caller expects (a prompt must be 8 kHz mono)', () => {
    expect(() => parseWav(riff([fmt(1, 1, 16000, 16), chunk('data', pcmBytes(samples))]), PROMPT_WAV)).toThrow(WavFormatError);
    expect(() => parseWav(riff([fmt(1, 2, 8000, 16), chunk('data', pcmBytes(samples))]), PROMPT_WAV)).toThrow(WavFormatError);
  });

  it('range-checks channel access', () => {
    expect(() => parseWav(good).channel(1)).toThrow(RangeError);
  });
});

describe.skipIf(!hasSox())('parseWav on files sox writes', () => {
  it('reads PCM, and µ-law and A-law with their fmt extension and fact chunk, as sox decodes them', () => {
    const source = join(dir, 'source.wav');
    execFileSync('sox', ['-n', '-r', '8000', '-c', '1', '-b', '16', '-e', 'signed', source, 'synth', '0.5', 'sine', '300-3000']);
    const reference = parseWav(readFileSync(source), PROMPT_WAV).toPcm16();
    expect(reference.length).toBe(4000);
    for (const [encoding, codec] of [
      ['mu-law', PCMU],
      ['a-law', PCMA],
    ] as const) {
      const file = join(dir, `${encoding}.wav`);
      execFileSync('sox', ['-D', source, '-e', encoding, '-b', '8', file]);
      const audio = parseWav(readFileSync(file), PROMPT_WAV);
      expect(audio.encoding).toBe(encoding === 'mu-law' ? 'mulaw' : 'alaw');
      const raw = join(dir, `${encoding}.raw`);
      execFileSync('sox', ['-D', file, '-t', 'raw', '-e', 'signed', '-b', '16', '-L', raw]);
      const soxPcm = readFileSync(raw);
      expect(audio.toPcm16()).toEqual(Int16Array.from({ length: soxPcm.length / 2 }, (_, i) => soxPcm.readInt16LE(2 * i)));
      // Our encoder agrees with the file's codes except at decision boundaries (sox rounds).
      const ours = new Uint8Array(4000);
      codec.encode(reference, ours);
      const same = ours.filter((code, i) => code === audio.data[i]).length;
      expect(same / 4000).toBeGreaterThan(0.95);
    }
  });

  it('reads a stereo recording sox made from two mono files', () => {
    const left = join(dir, 'l.wav');
    const right = join(dir, 'r.wav');
    writeFileSync(left, riff([fmt(1, 1, 8000, 16), chunk('data', pcmBytes(tone(800, 440)))]));
    writeFileSync(right, riff([fmt(1, 1, 8000, 16), chunk('data', pcmBytes(tone(800, 880)))]));
    const both = join(dir, 'both.wav');
    execFileSync('sox', ['-M', left, right, both]);
    const audio = parseWav(readFileSync(both), { sampleRate: 8000, channels: 2 });
    expect(audio.channel(0)).toEqual(tone(800, 440));
    expect(audio.channel(1)).toEqual(tone(800, 880));
  });
});
