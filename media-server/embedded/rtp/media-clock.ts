/**
 * One 20 ms clock for every call's RTP (not a timer per call). Handlers are
 * spread over `phases` slots of the frame (four of 5 ms by default): each
 * handler runs once per frame, always in its own slot, so a stream's packets
 * stay 20 ms apart while no single timer callback has to send for every call
 * at once. With hundreds of calls one all-calls tick held the event loop
 * for several milliseconds, and everything queued behind it (received
 * packets, SIP, the next tick) waited that long.
 *
 * Slots are scheduled against absolute times (start + k × 5 ms), so timer
 * lateness does not accumulate into drift; when the event loop was blocked
 * for more than a frame, the missed slots are run back to back, up to
 * `maxCatchUpFrames` frames' worth, and the rest are skipped (their media is
 * late anyway, and bursts would overflow a peer's jitter buffer). All slots
 * share one frame count, so two bridged legs in different slots agree on
 * which frame is which.
 */

export const FRAME_MS = 20;

export type FrameHandler = (frameIndex: number) => void;

export interface MediaClockOptions {
  /** Default 20 ms (160 samples at 8 kHz). */
  readonly frameMs?: number;
  /** Frames run back to back after a stall before the clock resynchronises. Default 3. */
  readonly maxCatchUpFrames?: number;
  /** Slots per frame the handlers are spread over. Default 4 (every 5 ms); 1 runs them all together. */
  readonly phases?: number;
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
  readonly #phases: number;
  readonly #slotMs: number;
  readonly #slots: Set<FrameHandler>[];
  readonly #slotOf = new Map<FrameHandler, Set<FrameHandler>>();
  #timer: NodeJS.Timeout | undefined;
  #start = 0;
  /** Slots run since the start; slot k (from 1) is phase (k − 1) mod phases of frame ⌊(k − 1) / phases⌋ + 1. */
  #slot = 0;
  #ticks = 0;
  #skipped = 0;
  readonly #lateness = new Float64Array(WINDOW);
  #latenessCount = 0;

  constructor(options: MediaClockOptions = {}) {
    this.#frameMs = options.frameMs ?? FRAME_MS;
    this.#maxCatchUp = options.maxCatchUpFrames ?? 3;
    this.#onError = options.onHandlerError ?? (() => undefined);
    this.#now = options.now ?? (() => performance.now());
    this.#phases = options.phases ?? 4;
    if (!Number.isInteger(this.#phases) || this.#phases < 1) throw new RangeError(`phases must be a positive integer, got ${this.#phases}`);
    this.#slotMs = this.#frameMs / this.#phases;
    this.#slots = Array.from({ length: this.#phases }, () => new Set<FrameHandler>());
  }

  get running(): boolean {
    return this.#timer !== undefined;
  }

  /** Adds a handler to the emptiest slot; the clock starts with the first one and stops after the last. */
  add(handler: FrameHandler): void {
    if (this.#slotOf.has(handler)) return;
    let slot = this.#slots[0] as Set<FrameHandler>;
    for (const s of this.#slots) if (s.size < slot.size) slot = s;
    slot.add(handler);
    this.#slotOf.set(handler, slot);
    if (!this.#timer) this.#startClock();
  }

  remove(handler: FrameHandler): void {
    this.#slotOf.get(handler)?.delete(handler);
    this.#slotOf.delete(handler);
    if (this.#slotOf.size === 0) this.stop();
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
    this.#slot = 0;
    this.#schedule();
  }

  #schedule(): void {
    const due = this.#start + (this.#slot + 1) * this.#slotMs;
    this.#timer = setTimeout(() => this.#tick(), Math.max(0, due - this.#now()));
  }

  #tick(): void {
    const phases = this.#phases;
    const now = this.#now();
    const lateness = now - (this.#start + (this.#slot + 1) * this.#slotMs);
    this.#lateness[this.#latenessCount++ % WINDOW] = Math.max(0, lateness);
    let due = Math.floor((now - this.#start) / this.#slotMs);
    const catchUp = this.#maxCatchUp * phases;
    if (due - this.#slot > catchUp) {
      // Skip whole frames, so every handler keeps its place in the frame.
      const skip = Math.floor((due - this.#slot - catchUp) / phases) * phases;
      this.#skipped += skip / phases;
      this.#slot += skip;
    }
    if (due <= this.#slot) due = this.#slot + 1;
    while (this.#slot < due) {
      const index = this.#slot++;
      const phase = index % phases;
      const frame = Math.floor(index / phases) + 1;
      if (phase === 0) this.#ticks++;
      for (const handler of this.#slots[phase] as Set<FrameHandler>) {
        try {
          handler(frame);
        } catch (err) {
          this.#onError(err);
        }
      }
    }
    if (this.#slotOf.size > 0) this.#schedule();
    else this.#timer = undefined;
  }
}
