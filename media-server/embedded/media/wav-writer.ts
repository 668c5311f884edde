import { open } from 'node:fs/promises';
import { endianness } from 'node:os';
import { WAV_PCM_HEADER_LENGTH, WavHeaderOffset, writePcm16WavHeader } from './wav-format.js';

/** What the writer needs of an open file; a `fs.promises` FileHandle is one. */
export interface WavFileSink {
  write(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesWritten: number }>;
  close(): Promise<void>;
}

export interface WavFileWriterOptions {
  /** Default 8000 Hz. */
  readonly sampleRate?: number;
  /** 1 or 2. Default 2 (a call recording: caller left, agent right). */
  readonly channels?: 1 | 2;
  /** Bytes gathered before each write to disk. Default one second of audio. */
  readonly chunkBytes?: number;
  /** File mode when created. Default 0o600: recordings are personal data. */
  readonly mode?: number;
  /** Opens the destination. Default: `fs.promises.open(path, 'w', mode)`. */
  readonly openFile?: (path: string, mode: number) => Promise<WavFileSink>;
}

/** The writer was used after `close()`, or a write to disk failed earlier. */
export class WavWriterStateError extends Error {
  override readonly name = 'WavWriterStateError';
}

async function writeFully(file: WavFileSink, buffer: Buffer, length: number, position: number): Promise<void> {
  let done = 0;
  while (done < length) {
    const { bytesWritten } = await file.write(buffer, done, length - done, position + done);
    if (bytesWritten <= 0) throw new Error(`write returned ${bytesWritten} bytes`);
    done += bytesWritten;
  }
}

/** Largest data chunk a RIFF file can describe (32-bit sizes). */
const MAX_DATA_BYTES = 0xffffffff - (WAV_PCM_HEADER_LENGTH - 8);

/**
 * A 16-bit PCM WAV file written as audio arrives — a call recording. The
 * header goes first with zero sizes; frames are interleaved into reusable
 * chunk buffers and written in order in the background; `close()` flushes
 * and patches the RIFF and data sizes. A file that was never closed keeps
 * zero sizes: it is recognisably incomplete rather than silently truncated.
 *
 * `append` never waits for the disk. If a write fails, the error is kept:
 * the next `append` and `close()` throw it (as the `cause` of a
 * `WavWriterStateError`).
 */
export class WavFileWriter {
  readonly path: string;
  readonly sampleRate: number;
  readonly channels: 1 | 2;
  readonly #file: WavFileSink;
  readonly #chunkBytes: number;
  readonly #spare: Buffer[] = [];
  #chunk: Buffer;
  /** The chunk as samples; `#chunkUsed` counts bytes. */
  #chunkSamples: Int16Array;
  #chunkUsed = 0;
  /** File position of the next chunk to be queued. */
  #position = WAV_PCM_HEADER_LENGTH;
  #dataBytes = 0;
  #writes: Promise<void> = Promise.resolve();
  #failure: unknown = undefined;
  #failed = false;
  #closing: Promise<void> | undefined;

  private constructor(path: string, file: WavFileSink, sampleRate: number, channels: 1 | 2, chunkBytes: number) {
    this.path = path;
    this.#file = file;
    this.sampleRate = sampleRate;
    this.channels = channels;
    this.#chunkBytes = chunkBytes;
    this.#chunk = newChunk(chunkBytes);
    this.#chunkSamples = samplesOf(this.#chunk);
  }

  /** Creates (or truncates) `path` and writes the provisional header. */
  static async create(path: string, options: WavFileWriterOptions = {}): Promise<WavFileWriter> {
    const sampleRate = options.sampleRate ?? 8000;
    const channels = options.channels ?? 2;
    if (!Number.isInteger(sampleRate) || sampleRate <= 0) throw new RangeError(`sampleRate must be a positive integer, got ${sampleRate}`);
    if (channels !== 1 && channels !== 2) throw new RangeError(`channels must be 1 or 2, got ${String(channels)}`);
    const frameBytes = 2 * channels;
    const chunkBytes = options.chunkBytes ?? sampleRate * frameBytes;
    if (!Number.isInteger(chunkBytes) || chunkBytes < frameBytes || chunkBytes % frameBytes !== 0) {
      throw new RangeError(`chunkBytes must be a positive multiple of ${frameBytes}, got ${chunkBytes}`);
    }
    const openFile = options.openFile ?? ((p: string, mode: number) => open(p, 'w', mode));
    const file = await openFile(path, options.mode ?? 0o600);
    try {
      const header = Buffer.alloc(WAV_PCM_HEADER_LENGTH);
      writePcm16WavHeader(header, sampleRate, channels, 0);
      await writeFully(file, header, header.length, 0);
    } catch (error) {
      await file.close();
      throw error;
    }
    return new WavFileWriter(path, file, sampleRate, channels, chunkBytes);
  }

  /** Frames (samples per channel) appended so far. */
  get framesWritten(): number {
    return this.#dataBytes / (2 * this.channels);
  }

  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /**
   * Appends `count` frames: `left` alone for mono; `left` and `right`
   * interleaved for stereo (both required, each at least `count` long).
   */
  append(left: Int16Array, right?: Int16Array, count = left.length): void {
    this.#checkWritable();
    if (!Number.isInteger(count) || count < 0 || count > left.length) {
      throw new RangeError(`cannot append ${count} frames from a ${left.length}-sample channel`);
    }
    if (this.channels === 2) {
      if (!right) throw new RangeError('a stereo recording needs both channels');
      if (count > right.length) throw new RangeError(`cannot append ${count} frames from a ${right.length}-sample right channel`);
    } else if (right) {
      throw new RangeError('a mono recording takes one channel');
    }
    this.#reserve(count);
    const step = right ? 2 : 1;
    let i = 0;
    while (i < count) {
      if (this.#chunkUsed === this.#chunkBytes) this.#queueChunk();
      const out = this.#chunkSamples;
      let at = this.#chunkUsed >> 1;
      const n = Math.min(count - i, (out.length - at) / step);
      const end = i + n;
      if (right) {
        for (; i < end; i++) {
          out[at++] = left[i] as number;
          out[at++] = right[i] as number;
        }
      } else {
        for (; i < end; i++) out[at++] = left[i] as number;
      }
      this.#chunkUsed = at << 1;
    }
  }

  /** Appends `frames` frames of silence (e.g. while recording is paused, to keep the timeline). */
  appendSilence(frames: number): void {
    this.#checkWritable();
    if (!Number.isInteger(frames) || frames < 0) throw new RangeError(`cannot append ${frames} frames of silence`);
    this.#reserve(frames);
    let bytes = frames * 2 * this.channels;
    while (bytes > 0) {
      if (this.#chunkUsed === this.#chunkBytes) this.#queueChunk();
      const n = Math.min(bytes, this.#chunkBytes - this.#chunkUsed);
      this.#chunk.fill(0, this.#chunkUsed, this.#chunkUsed + n);
      this.#chunkUsed += n;
      bytes -= n;
    }
  }

  /** Resolves once everything appended so far is on disk (sizes are patched only by `close`). */
  async flush(): Promise<void> {
    this.#queueChunk();
    await this.#writes;
    this.#throwIfFailed();
  }

  /** Flushes, writes the final sizes and closes the file. Safe to call twice. */
  close(): Promise<void> {
    this.#closing ??= this.#finish();
    return this.#closing;
  }

  async #finish(): Promise<void> {
    this.#queueChunk();
    await this.#writes;
    try {
      if (!this.#failed) {
        const sizes = Buffer.alloc(4);
        sizes.writeUInt32LE(WAV_PCM_HEADER_LENGTH - 8 + this.#dataBytes, 0);
        await writeFully(this.#file, sizes, 4, WavHeaderOffset.RIFF_SIZE);
        sizes.writeUInt32LE(this.#dataBytes, 0);
        await writeFully(this.#file, sizes, 4, WavHeaderOffset.DATA_SIZE);
      }
    } finally {
      await this.#file.close();
    }
    this.#throwIfFailed();
  }

  #checkWritable(): void {
    if (this.#closing) throw new WavWriterStateError(`WAV writer for ${this.path} is closed`);
    this.#throwIfFailed();
  }

  #throwIfFailed(): void {
    if (this.#failed) throw new WavWriterStateError(`writing ${this.path} failed`, { cause: this.#failure });
  }

  #reserve(frames: number): void {
    const bytes = frames * 2 * this.channels;
    if (this.#dataBytes + bytes > MAX_DATA_BYTES) {
      throw new WavWriterStateError(`WAV file ${this.path} would exceed the 4 GiB RIFF limit`);
    }
    this.#dataBytes += bytes;
  }

  /** Hands the filled part of the current chunk to the write queue and takes a fresh buffer. */
  #queueChunk(): void {
    const used = this.#chunkUsed;
    if (used === 0) return;
    const chunk = this.#chunk;
    const position = this.#position;
    this.#position += used;
    this.#chunk = this.#spare.pop() ?? newChunk(this.#chunkBytes);
    this.#chunkSamples = samplesOf(this.#chunk);
    this.#chunkUsed = 0;
    // WAV samples are little-endian; the typed array writes the host's order.
    if (BIG_ENDIAN_HOST) chunk.swap16();
    this.#writes = this.#writes.then(async () => {
      try {
        if (!this.#failed) await writeFully(this.#file, chunk, used, position);
      } catch (error) {
        this.#failed = true;
        this.#failure = error;
      } finally {
        this.#spare.push(chunk);
      }
    });
  }
}

const BIG_ENDIAN_HOST = endianness() === 'BE';

/** A chunk on its own ArrayBuffer, so a 16-bit view of it is aligned. */
function newChunk(bytes: number): Buffer {
  return Buffer.from(new ArrayBuffer(bytes));
}

function samplesOf(chunk: Buffer): Int16Array {
  return new Int16Array(chunk.buffer, chunk.byteOffset, chunk.length >> 1);
}
