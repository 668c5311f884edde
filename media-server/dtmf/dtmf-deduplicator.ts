import type { DtmfMethod } from '../media-server-port.js';
import type { DtmfKey } from '../../domain/dtmf-key.js';

export interface DtmfDeduplicatorOptions {
  /**
   * Two reports of the same key by different methods this close together
   * (the later report to the span the press is known to cover) are one key
   * press. Default 300 ms: in-band
   * detection trails the first RFC 4733 packet by the jitter buffer (40 ms)
   * plus the detector's two blocks (26–38 ms), and an INFO may lead or trail
   * the RTP by a SIP hop; a person cannot press the same key twice within
   * 300 ms *and* have one method miss one press and the other miss the other.
   */
  readonly windowMs?: number;
}

const METHOD_BIT: Readonly<Record<DtmfMethod, number>> = { rfc4733: 1, info: 2, inband: 4 };

/** Presses remembered; 16 presses in one window is far beyond human (Q.24: ≥ 80 ms per digit). */
const CAPACITY = 16;

/**
 * Counts each key press once when it reaches us by more than one method (a
 * phone that sends RFC 4733 events and leaves the tones in the audio, or
 * sends INFO and RFC 4733).
 *
 * Every accepted report opens a press record: key, the span of time the
 * press is known to cover, the set of methods that reported it. A report
 * carries a time and, if it says so (an INFO's Duration), how long the key
 * was held; whether it was sent as the key went down or as it came up is
 * not said (phones do both), so it covers that long either side of its
 * time. `extend` stretches a record while its method still sees the key
 * held (an RFC 4733 event's later packets). A later report of the same key
 * by a method the record does not hold yet, within `windowMs` of the
 * record's span, joins that record and is a duplicate; records are matched
 * oldest first, so two quick presses of the same key each pair with their
 * own reports. A report by a method that already reported the press is a
 * new press: each method's own receiver already reports a press once, so
 * "1 1" by RFC 4733 alone is never merged. Allocation-free.
 */
export class DtmfDeduplicator {
  readonly windowMs: number;
  readonly #keys: (DtmfKey | undefined)[] = new Array<DtmfKey | undefined>(CAPACITY).fill(undefined);
  /** Each record's span: from its first report's start to the latest time the press was seen held. */
  readonly #from = new Float64Array(CAPACITY);
  readonly #to = new Float64Array(CAPACITY);
  readonly #methods = new Uint8Array(CAPACITY);
  #next = 0;
  #duplicates = 0;

  constructor(options: DtmfDeduplicatorOptions = {}) {
    this.windowMs = options.windowMs ?? 300;
    if (!(this.windowMs >= 0) || !Number.isFinite(this.windowMs)) throw new RangeError(`windowMs must be a finite number ≥ 0, got ${this.windowMs}`);
  }

  /** Reports dropped as another method's report of an accepted press. */
  get duplicates(): number {
    return this.#duplicates;
  }

  /**
   * Whether this report is a new key press (report it) or another method's
   * report of a press already accepted (drop it). `atMs`: a monotonic clock;
   * `durationMs`: how long the key was held, when the report says (an INFO's
   * Duration), sent at key-down or key-up.
   */
  accept(key: DtmfKey, method: DtmfMethod, atMs: number, durationMs = 0): boolean {
    const bit = METHOD_BIT[method];
    const held = Number.isFinite(durationMs) && durationMs > 0 ? durationMs : 0;
    const from = atMs - held - this.windowMs;
    const to = atMs + held + this.windowMs;
    let match = -1;
    let matchFrom = Number.POSITIVE_INFINITY;
    for (let i = 0; i < CAPACITY; i++) {
      if (this.#keys[i] !== key || (this.#methods[i] as number) & bit) continue;
      const recordFrom = this.#from[i] as number;
      if (to < recordFrom || from > (this.#to[i] as number)) continue;
      if (recordFrom < matchFrom) {
        match = i;
        matchFrom = recordFrom;
      }
    }
    if (match >= 0) {
      this.#methods[match] = (this.#methods[match] as number) | bit;
      if (atMs > (this.#to[match] as number)) this.#to[match] = atMs;
      this.#duplicates++;
      return false;
    }
    const slot = this.#next;
    this.#next = (slot + 1) % CAPACITY;
    this.#keys[slot] = key;
    this.#from[slot] = atMs;
    this.#to[slot] = atMs;
    this.#methods[slot] = bit;
    return true;
  }

  /**
   * The press of `key` that `method` reported last is still held at
   * `untilMs` (a later packet of its RFC 4733 event, its end): a report by
   * another method near then is the same press, however long it lasted.
   */
  extend(key: DtmfKey, method: DtmfMethod, untilMs: number): void {
    const bit = METHOD_BIT[method];
    let latest = -1;
    for (let i = 0; i < CAPACITY; i++) {
      if (this.#keys[i] !== key || !((this.#methods[i] as number) & bit)) continue;
      if (latest < 0 || (this.#from[i] as number) > (this.#from[latest] as number)) latest = i;
    }
    if (latest >= 0 && untilMs > (this.#to[latest] as number)) this.#to[latest] = untilMs;
  }

  reset(): void {
    this.#keys.fill(undefined);
    this.#methods.fill(0);
    this.#next = 0;
  }
}
