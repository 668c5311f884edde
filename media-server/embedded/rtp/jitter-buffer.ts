/** Samples per 20 ms frame at 8 kHz: what every tick reads and sends. */
export const FRAME_SAMPLES = 160;

export interface JitterBufferOptions {
  /** Samples read per tick. Default 160 (20 ms at 8 kHz). */
  readonly frameSamples?: number;
  /**
   * Playout point set this far behind the first packet's timestamp when the
   * buffer (re)starts, in samples. Default 320 (40 ms): with 20 ms ticks at
   * an arbitrary phase to the packets' arrival, a packet then has 40–60 ms
   * to arrive before its turn.
   */
  readonly targetDelaySamples?: number;
  /** Ring size in samples, a power of two. Default 4096 (512 ms). */
  readonly capacitySamples?: number;
  /** Frames concealed, by repeating the last audio at falling gain, before silence. Default 2. */
  readonly maxConcealedFrames?: number;
  /** Consecutive late packets after which the playout point moves to them. Default 3. */
  readonly lateResyncPackets?: number;
}

/** What a read produced: all received samples, some, a repeat of the last frame, or nothing. */
export type JitterFrameKind = 'audio' | 'partial' | 'concealed' | 'silence';

export interface JitterBufferStats {
  /** Packets too late for their turn, dropped. */
  readonly late: number;
  /** Packets too far ahead of the playout point: the buffer restarted at them. */
  readonly overflows: number;
  /** Restarts of the playout point (overflow, persistent lateness, a late talkspurt start). */
  readonly resyncs: number;
  readonly concealedFrames: number;
  /** Frames read with no sample received (after the first packet). */
  readonly silentFrames: number;
}

/**
 * A small fixed-delay jitter buffer in RTP timestamp space: received PCM is
 * written where its timestamp says, whatever the packet size or order, and
 * each tick reads one frame from the playout point. Lost samples read as
 * zeros; a wholly lost frame right after audio repeats the last frame at
 * falling gain (2/3, 1/3) — a crude packet loss concealment that keeps a
 * DTMF tone continuous for the detector — then silence.
 *
 * RFC 3550 §5.1: timestamps advance with the sampling clock, so a sender
 * that paused (silence suppression, hold) comes back at the right place; a
 * sender that restarts its timestamps is followed after
 * `lateResyncPackets` late packets, or at once if the first has the marker
 * bit (start of a talkspurt, RFC 3551 §4.1). Allocation-free.
 */
export class JitterBuffer {
  readonly frameSamples: number;
  readonly targetDelaySamples: number;
  readonly #mask: number;
  readonly #capacity: number;
  readonly #maxConcealed: number;
  readonly #lateResync: number;
  readonly #ring: Int16Array;
  readonly #present: Uint8Array;
  /** When each stored sample's packet arrived (monotonic ms; NaN when not said). */
  readonly #arrival: Float64Array;
  readonly #last: Int16Array;
  #lastReadArrivalMs = Number.NaN;
  #started = false;
  #readTs = 0;
  #haveLast = false;
  #concealedRun = 0;
  #lateRun = 0;
  #late = 0;
  #overflows = 0;
  #resyncs = 0;
  #concealedFrames = 0;
  #silentFrames = 0;

  constructor(options: JitterBufferOptions = {}) {
    this.frameSamples = options.frameSamples ?? FRAME_SAMPLES;
    this.targetDelaySamples = options.targetDelaySamples ?? 320;
    this.#capacity = options.capacitySamples ?? 4096;
    this.#maxConcealed = options.maxConcealedFrames ?? 2;
    this.#lateResync = options.lateResyncPackets ?? 3;
    if (this.#capacity <= 0 || (this.#capacity & (this.#capacity - 1)) !== 0) {
      throw new RangeError(`capacitySamples must be a power of two, got ${this.#capacity}`);
    }
    if (!(this.targetDelaySamples >= 0 && this.targetDelaySamples + 2 * this.frameSamples <= this.#capacity)) {
      throw new RangeError(`targetDelaySamples ${this.targetDelaySamples} does not fit a ${this.#capacity}-sample buffer`);
    }
    this.#mask = this.#capacity - 1;
    this.#ring = new Int16Array(this.#capacity);
    this.#present = new Uint8Array(this.#capacity);
    this.#arrival = new Float64Array(this.#capacity);
    this.#last = new Int16Array(this.frameSamples);
  }

  /**
   * When the newest packet that went into the last frame read arrived; NaN
   * for a frame with no received audio. What the detector finds in a frame
   * happened then, however late a stalled event loop reads it.
   */
  get lastReadArrivalMs(): number {
    return this.#lastReadArrivalMs;
  }

  /** Whether a packet has arrived since construction or `reset()`. */
  get started(): boolean {
    return this.#started;
  }

  stats(): JitterBufferStats {
    return {
      late: this.#late,
      overflows: this.#overflows,
      resyncs: this.#resyncs,
      concealedFrames: this.#concealedFrames,
      silentFrames: this.#silentFrames,
    };
  }

  /**
   * Stores `count` samples whose first has RTP timestamp `timestamp`.
   * Returns false when the packet was dropped as late. `arrivalMs`: when
   * the packet arrived, on the caller's monotonic clock.
   */
  write(timestamp: number, samples: Int16Array, count: number, marker = false, arrivalMs = Number.NaN): boolean {
    if (!Number.isInteger(count) || count < 0 || count > samples.length) throw new RangeError(`cannot write ${count} of ${samples.length} samples`);
    const ts = timestamp >>> 0;
    if (!this.#started) this.#restart(ts);
    let offset = (ts - this.#readTs) | 0;
    if (offset + count <= 0) {
      if (!marker && ++this.#lateRun < this.#lateResync) {
        this.#late++;
        return false;
      }
      this.#resync(ts);
      offset = this.targetDelaySamples;
    } else if (offset + count > this.#capacity) {
      this.#overflows++;
      this.#resync(ts);
      offset = this.targetDelaySamples;
    }
    this.#lateRun = 0;
    const ring = this.#ring;
    const present = this.#present;
    const arrival = this.#arrival;
    const mask = this.#mask;
    const base = this.#readTs + offset;
    for (let i = offset < 0 ? -offset : 0; i < count; i++) {
      const index = (base + i) & mask;
      ring[index] = samples[i] as number;
      present[index] = 1;
      arrival[index] = arrivalMs;
    }
    return true;
  }

  /** Reads the next frame into `out` (its first `frameSamples`) and advances the playout point. */
  read(out: Int16Array): JitterFrameKind {
    const n = this.frameSamples;
    if (out.length < n) throw new RangeError(`output of ${out.length} samples is shorter than a ${n}-sample frame`);
    this.#lastReadArrivalMs = Number.NaN;
    if (!this.#started) {
      out.fill(0, 0, n);
      return 'silence';
    }
    const ring = this.#ring;
    const present = this.#present;
    const arrival = this.#arrival;
    const mask = this.#mask;
    const start = this.#readTs;
    let got = 0;
    let arrivedMs = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < n; i++) {
      const index = (start + i) & mask;
      if (present[index]) {
        out[i] = ring[index] as number;
        present[index] = 0;
        const at = arrival[index] as number;
        if (at > arrivedMs) arrivedMs = at;
        got++;
      } else {
        out[i] = 0;
      }
    }
    this.#readTs = (start + n) >>> 0;
    if (arrivedMs > Number.NEGATIVE_INFINITY) this.#lastReadArrivalMs = arrivedMs;
    if (got > 0) {
      const last = this.#last;
      for (let i = 0; i < n; i++) last[i] = out[i] as number;
      this.#haveLast = true;
      this.#concealedRun = 0;
      return got === n ? 'audio' : 'partial';
    }
    if (this.#haveLast && this.#concealedRun < this.#maxConcealed) {
      this.#concealedRun++;
      this.#concealedFrames++;
      const gain = 1 - this.#concealedRun / (this.#maxConcealed + 1);
      const last = this.#last;
      for (let i = 0; i < n; i++) out[i] = Math.round((last[i] as number) * gain);
      return 'concealed';
    }
    this.#haveLast = false;
    this.#silentFrames++;
    return 'silence';
  }

  /** Forgets all audio (a new SSRC): the next packet restarts the playout point. */
  reset(): void {
    this.#started = false;
    this.#present.fill(0);
    this.#haveLast = false;
    this.#concealedRun = 0;
    this.#lateRun = 0;
  }

  #restart(ts: number): void {
    this.#started = true;
    this.#readTs = (ts - this.targetDelaySamples) >>> 0;
  }

  #resync(ts: number): void {
    this.#resyncs++;
    this.#present.fill(0);
    this.#restart(ts);
  }
}
