import type { SipClock, SipTimerHandle } from '../../../media-server/embedded/sip/transaction/sip-timers.js';

interface Scheduled {
  readonly id: number;
  readonly at: number;
  readonly callback: () => void;
}

/**
 * A `SipClock` that only moves when told: `advance(ms)` runs every timer
 * due within that span in time order (a timer set by a callback runs too if
 * it falls inside the span), with `now` at each timer's own deadline.
 */
export class FakeClock implements SipClock {
  now = 0;
  #nextId = 1;
  #timers = new Map<number, Scheduled>();

  setTimer(callback: () => void, delayMs: number): SipTimerHandle {
    const id = this.#nextId++;
    this.#timers.set(id, { id, at: this.now + Math.max(0, delayMs), callback });
    return { id };
  }

  clearTimer(handle: SipTimerHandle): void {
    this.#timers.delete((handle as { id: number }).id);
  }

  /** Timers still pending. */
  get pending(): number {
    return this.#timers.size;
  }

  advance(ms: number): void {
    const end = this.now + ms;
    for (;;) {
      let due: Scheduled | undefined;
      for (const timer of this.#timers.values()) {
        if (timer.at <= end && (!due || timer.at < due.at || (timer.at === due.at && timer.id < due.id))) due = timer;
      }
      if (!due) break;
      this.#timers.delete(due.id);
      this.now = due.at;
      due.callback();
    }
    this.now = end;
  }
}
