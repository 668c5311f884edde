import { FRAME_SAMPLES } from './jitter-buffer.js';

/** Frames a pipe holds; a reader further behind than this skips ahead. */
const RING_FRAMES = 8;
/** A reader more than this many frames behind the writer drops to one frame behind (bounded delay). */
const MAX_BEHIND = 3;
const HEADER_BYTES = Int32Array.BYTES_PER_ELEMENT * 2;

/**
 * One direction of a bridge between two sessions on different media
 * workers: the sender's forwarded frames (already masked or muted) in a
 * ring of 20 ms frames in shared memory, written by one thread and read by
 * the other without a message or an allocation per frame. The two workers'
 * clocks tick apart, so the reader takes the oldest frame it has not read
 * (silence when none has come, skipping ahead when it fell behind): about
 * one frame more delay than a bridge inside one worker.
 *
 * Layout: Int32 [frames written, unused], then RING_FRAMES × 160 Int16 samples.
 */
export function createFramePipeBuffer(): SharedArrayBuffer {
  return new SharedArrayBuffer(HEADER_BYTES + RING_FRAMES * FRAME_SAMPLES * Int16Array.BYTES_PER_ELEMENT);
}

export class FramePipeWriter {
  readonly #count: Int32Array;
  readonly #ring: Int16Array;

  constructor(buffer: SharedArrayBuffer) {
    this.#count = new Int32Array(buffer, 0, 2);
    this.#ring = new Int16Array(buffer, HEADER_BYTES, RING_FRAMES * FRAME_SAMPLES);
  }

  /** Publishes one frame: samples first, then the count the reader polls. */
  write(frame: Int16Array): void {
    const written = Atomics.load(this.#count, 0);
    const ring = this.#ring;
    const at = (written % RING_FRAMES) * FRAME_SAMPLES;
    // A loop, not set(subarray()): no view object per frame.
    for (let i = 0; i < FRAME_SAMPLES; i++) ring[at + i] = frame[i] as number;
    Atomics.store(this.#count, 0, written + 1);
  }
}

export class FramePipeReader {
  readonly #count: Int32Array;
  readonly #ring: Int16Array;
  #read = -1;

  constructor(buffer: SharedArrayBuffer) {
    this.#count = new Int32Array(buffer, 0, 2);
    this.#ring = new Int16Array(buffer, HEADER_BYTES, RING_FRAMES * FRAME_SAMPLES);
  }

  /** Copies the next unread frame into `into`; false (and silence) when the writer has none. */
  read(into: Int16Array): boolean {
    const written = Atomics.load(this.#count, 0);
    if (this.#read < 0 || written - this.#read > MAX_BEHIND) this.#read = Math.max(0, written - 1);
    if (this.#read >= written) {
      into.fill(0, 0, FRAME_SAMPLES);
      return false;
    }
    const at = (this.#read % RING_FRAMES) * FRAME_SAMPLES;
    const ring = this.#ring;
    for (let i = 0; i < FRAME_SAMPLES; i++) into[i] = ring[at + i] as number;
    this.#read++;
    return true;
  }
}
