import type { DtmfKey } from '../../domain/dtmf-key.js';

export interface StartCodeReaderOptions {
  /** What the agent keys first, e.g. `*7`. */
  readonly startCode: string;
  /** Digits the code after it may have (a session's code: 4 to 12). */
  readonly minCodeLength: number;
  readonly maxCodeLength: number;
}

/** What to do with the key just pressed, and with any held before it. */
export interface StartCodeStep {
  /**
   * Keys to send on to the other party now, in order (keys held while they
   * looked like the start code, then this one, once they were not). Empty
   * while the key is held or swallowed.
   */
  readonly relay: readonly DtmfKey[];
  /** The code keyed after the start code, once `#` ended it. */
  readonly code?: string;
}

/**
 * Reads an agent's start code and session code on the PBX leg of an
 * in-line call (`*7` 1234 `#`), so none of those keys reaches the caller:
 * keys that begin like the start code are held, and sent on if the next key
 * shows they were not; after the whole start code every key is the agent's
 * and is never sent on. A pause (`timeout()`) ends either.
 *
 *   idle ──start code key──▶ prefix(n) ──last one──▶ code(digits) ──#──▶ idle (code)
 *   prefix(n) ──other key / timeout──▶ idle (held keys sent on)
 *   code ──* / too long / timeout──▶ idle (swallowed)
 */
export class StartCodeReader {
  readonly #options: StartCodeReaderOptions;
  /** Keys of the start code matched so far. */
  #matched = 0;
  /** Digits after the whole start code; undefined before it. */
  #code: string | undefined;

  constructor(options: StartCodeReaderOptions) {
    this.#options = options;
  }

  /** Whether keys are held or being read now (the caller of `timeout()` arms a timer while so). */
  get reading(): boolean {
    return this.#matched > 0;
  }

  push(key: DtmfKey): StartCodeStep {
    const { startCode, minCodeLength, maxCodeLength } = this.#options;
    if (this.#code !== undefined) {
      if (key === '#') {
        const code = this.#code;
        this.#reset();
        return code.length >= minCodeLength ? { relay: [], code } : { relay: [] };
      }
      if (/[0-9]/.test(key) && this.#code.length < maxCodeLength) this.#code += key;
      else this.#reset();
      return { relay: [] };
    }
    if (key === startCode[this.#matched]) {
      this.#matched++;
      if (this.#matched === startCode.length) this.#code = '';
      return { relay: [] };
    }
    const held = [...startCode.slice(0, this.#matched)] as DtmfKey[];
    this.#reset();
    // The key that broke the match may begin the start code itself.
    if (key === startCode[0]) {
      this.#matched = 1;
      return { relay: held };
    }
    return { relay: [...held, key] };
  }

  /** The agent paused: keys held as a possible start code are sent on; a code half keyed is dropped. */
  timeout(): StartCodeStep {
    const held = this.#code === undefined ? ([...this.#options.startCode.slice(0, this.#matched)] as DtmfKey[]) : [];
    this.#reset();
    return { relay: held };
  }

  #reset(): void {
    this.#matched = 0;
    this.#code = undefined;
  }
}
