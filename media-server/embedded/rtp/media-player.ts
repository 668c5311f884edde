import { FRAME_SAMPLES } from './jitter-buffer.js';
import type { PromptCache } from './prompt-cache.js';

/** One thing to play: an 8 kHz mono WAV file, or silence (the media-server port's `AudioItem`). */
export type PlayerItem = { readonly file: string } | { readonly silenceMs: number };

/** How a play ended (the port's `PlaybackResult`). */
export type PlayerResult = 'completed' | 'stopped' | 'hangup';

export interface PlayerPlayOptions {
  /** A key press stops this play (see `RtpSession`). Default false. */
  readonly bargeIn?: boolean;
}

export interface MediaPlayerOptions {
  readonly cache: PromptCache;
}

/** A segment: decoded samples, or a count of silent samples. */
type Segment = Int16Array | number;

class PlayJob {
  readonly bargeIn: boolean;
  readonly done: Promise<PlayerResult>;
  segments: readonly Segment[] | undefined;
  index = 0;
  offset = 0;
  settled = false;
  #resolve!: (result: PlayerResult) => void;
  #reject!: (error: unknown) => void;

  constructor(bargeIn: boolean) {
    this.bargeIn = bargeIn;
    this.done = new Promise<PlayerResult>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
  }

  settle(result: PlayerResult): void {
    if (this.settled) return;
    this.settled = true;
    this.#resolve(result);
  }

  fail(error: unknown): void {
    if (this.settled) return;
    this.settled = true;
    this.#reject(error);
  }
}

/**
 * Plays a queue of audio items into 20 ms frames, one frame per tick (the
 * session pulls them). One play at a time: a new `play` stops the current
 * one, which resolves 'stopped'. Every file of a play is loaded (through the
 * shared `PromptCache`) before its first sample goes out, so a missing or
 * malformed prompt rejects the play with `PromptLoadError` and nothing of it
 * is heard. The play resolves 'completed' at the tick that emits its last
 * sample.
 */
export class MediaPlayer {
  readonly #cache: PromptCache;
  #job: PlayJob | undefined;
  #closed = false;

  constructor(options: MediaPlayerOptions) {
    this.#cache = options.cache;
  }

  /** A play is loading or sounding. */
  get playing(): boolean {
    return this.#job !== undefined;
  }

  /** The current play asked for barge-in. */
  get bargeIn(): boolean {
    return this.#job?.bargeIn ?? false;
  }

  play(items: readonly PlayerItem[], options: PlayerPlayOptions = {}): Promise<PlayerResult> {
    if (this.#closed) return Promise.resolve('hangup');
    this.stop('stopped');
    const job = new PlayJob(options.bargeIn ?? false);
    this.#job = job;
    this.#load(items).then(
      (segments) => {
        if (this.#job !== job) return;
        job.segments = segments;
        if (segments.length === 0) this.#finish(job);
      },
      (error: unknown) => {
        if (this.#job === job) this.#job = undefined;
        job.fail(error);
      },
    );
    return job.done;
  }

  /** Ends the current play, if any, with `result`. */
  stop(result: 'stopped' | 'hangup' = 'stopped'): void {
    const job = this.#job;
    if (!job) return;
    this.#job = undefined;
    job.settle(result);
  }

  /** Stops for good: the current play and any later one resolve 'hangup'. */
  close(): void {
    this.#closed = true;
    this.stop('hangup');
  }

  /**
   * Writes the next 160 samples into `out`: the play's audio, zero-padded
   * past its end, or zeros when nothing plays (or it is still loading).
   * Returns whether a play produced the frame.
   */
  nextFrame(out: Int16Array): boolean {
    const job = this.#job;
    const segments = job?.segments;
    if (!job || !segments) {
      out.fill(0, 0, FRAME_SAMPLES);
      return false;
    }
    let filled = 0;
    while (filled < FRAME_SAMPLES && job.index < segments.length) {
      const segment = segments[job.index] as Segment;
      const length = typeof segment === 'number' ? segment : segment.length;
      const n = Math.min(length - job.offset, FRAME_SAMPLES - filled);
      if (typeof segment === 'number') {
        out.fill(0, filled, filled + n);
      } else {
        for (let i = 0; i < n; i++) out[filled + i] = segment[job.offset + i] as number;
      }
      filled += n;
      job.offset += n;
      if (job.offset >= length) {
        job.index++;
        job.offset = 0;
      }
    }
    if (filled < FRAME_SAMPLES) out.fill(0, filled, FRAME_SAMPLES);
    if (job.index >= segments.length) this.#finish(job);
    return true;
  }

  #finish(job: PlayJob): void {
    if (this.#job === job) this.#job = undefined;
    job.settle('completed');
  }

  async #load(items: readonly PlayerItem[]): Promise<Segment[]> {
    for (const item of items) {
      if ('file' in item) continue;
      if (!(Number.isFinite(item.silenceMs) && item.silenceMs >= 0)) {
        throw new RangeError(`silenceMs must be a finite number ≥ 0, got ${item.silenceMs}`);
      }
    }
    return Promise.all(items.map((item): Segment | Promise<Segment> => ('file' in item ? this.#cache.get(item.file) : Math.round(item.silenceMs * 8))));
  }
}
