/**
 * The receiver's replay list (RFC 3711 §3.3.2): a sliding window over the
 * packet indices, here 128 wide (libsrtp's default; the RFC asks for 64 at
 * least). An index is remembered in the slot `index mod size`; any two
 * indices within one window differ in their slot, so a slot holding the
 * very index means a replay.
 */
export class SrtpReplayWindow {
  readonly size: number;
  readonly #seen: Float64Array;
  #highest = -1;

  constructor(size = 128) {
    this.size = size;
    this.#seen = new Float64Array(size).fill(-1);
  }

  /** The highest index accepted so far; -1 before the first. */
  get highest(): number {
    return this.#highest;
  }

  /** 'ok' for an index not seen and not left behind by the window; checked before authentication, recorded after. */
  check(index: number): 'ok' | 'replayed' | 'too-old' {
    if (this.#highest >= 0 && index <= this.#highest - this.size) return 'too-old';
    return this.#seen[index % this.size] === index ? 'replayed' : 'ok';
  }

  /** Records an index that authenticated (§3.3: the list is updated only then). */
  accept(index: number): void {
    this.#seen[index % this.size] = index;
    if (index > this.#highest) this.#highest = index;
  }
}
