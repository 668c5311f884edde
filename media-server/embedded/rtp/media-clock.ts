/**
 * One 20 ms clock for every call's RTP (not a timer per call): each tick runs
 * every registered frame handler once. Ticks are scheduled against absolute
 * times (start + n × 20 ms), so timer lateness does not accumulate into
 * drift; when the event loop was blocked for more than a frame, the missed
 * frames are run back to back, up to `maxCatchUpFrames`, and the rest are
 * skipped (their media is late anyway, and bursts would overflow a peer's
 * jitter buffer).
 */

export const FRAME_MS = 20;

export type FrameHandler = (frameIndex: number) => void;

export interface MediaClockOptions {
  /** Default 20 ms (160 samples at 8 kHz). */
  readonly frameMs?: number;
  /** Frames run back to back after a stall before the clock resynchronises. Default 3. */
  readonly maxCatchUpFrames?: number;
  /** Called when a handler throws; the clock keeps running. */
  readonly onHandlerError?: (err: unknown) => void;
  /** Monotonic milliseconds. Default performance.now. */
  readonly now?: () => number;
}

export interface MediaClockStats {
  readonly ticks: number;
  readonly skippedFrames: number;
  /** Lateness of ticks against their due time, in ms (p50/p99/max over the last window). */
  readonly latenessP50Ms: number;
  readonly latenessP99Ms: number;
  readonly latenessMaxMs: number;
}

const WINDOW = 2048;

export class MediaClock {
  readonly #frameMs: number;
  readonly #maxCatchUp: number;
  readonly #onError: (err: unknown) => void;
  readonly #now: () => number;
  readonly #handlers = new Set<FrameHandler>();
  #timer: NodeJS.Timeout | undefined;
  #start = 0;
  #frame = 0;
  #ticks = 0;
  #skipped = 0;
  readonly #lateness = new Float64Array(WINDOW);
  #latenessCount = 0;

  constructor(options: MediaClockOptions = {}) {
    this.#frameMs = options.frameMs ?? FRAME_MS;
    this.#maxCatchUp = options.maxCatchUpFrames ?? 3;
    this.#onError = options.onHandlerError ?? (() => undefined);
    this.#now = options.now ?? (() => performance.now());
  }

  get running(): boolean {
    return this.#timer !== undefined;
  }

  /** Adds a handler; the clock starts with the first one and stops after the last. */
  add(handler: FrameHandler): void {
    this.#handlers.add(handler);
    if (!this.#timer) this.#startClock();
  }

  remove(handler: FrameHandler): void {
    this.#handlers.delete(handler);
    if (this.#handlers.size === 0) this.stop();
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  stats(): MediaClockStats {
    const n = Math.min(this.#latenessCount, WINDOW);
    const sorted = Array.from(this.#lateness.subarray(0, n)).sort((a, b) => a - b);
    const at = (q: number): number => (n === 0 ? 0 : (sorted[Math.min(n - 1, Math.floor(q * n))] ?? 0));
    return {
      ticks: this.#ticks,
      skippedFrames: this.#skipped,
      latenessP50Ms: at(0.5),
      latenessP99Ms: at(0.99),
      latenessMaxMs: n === 0 ? 0 : (sorted[n - 1] ?? 0),
    };
  }

  #startClock(): void {
    this.#start = this.#now();
    this.#frame = 0;
    this.#schedule();
  }

  #schedule(): void {
    const due = this.#start + (this.#frame + 1) * this.#frameMs;
    this.#timer = setTimeout(() => this.#tick(), Math.max(0, due - this.#now()));
  }

  #tick(): void {
    const now = this.#now();
    const lateness = now - (this.#start + (this.#frame + 1) * this.#frameMs);
    this.#lateness[this.#latenessCount++ % WINDOW] = Math.max(0, lateness);
    let due = Math.floor((now - this.#start) / this.#frameMs);
    if (due - this.#frame > this.#maxCatchUp) {
      this.#skipped += due - this.#frame - this.#maxCatchUp;
      this.#frame = due - this.#maxCatchUp;
    }
    if (due <= this.#frame) due = this.#frame + 1;
    while (this.#frame < due) {
      this.#frame++;
      this.#ticks++;
      for (const handler of this.#handlers) {
        try {
          handler(this.#frame);
        } catch (err) {
          this.#onError(err);
        }
      }
    }
    if (this.#handlers.size > 0) this.#schedule();
    else this.#timer = undefined;
  }
}
