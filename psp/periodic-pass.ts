/**
 * A pass over the store's unfinished work (in-doubt payments, in-doubt
 * reversals) run at once and then every `intervalMs`, on an unref'd timer so
 * it never keeps the process alive. A failed pass is reported and the next
 * one runs on time.
 */
export class PeriodicPass {
  readonly #pass: () => Promise<unknown>;
  readonly #intervalMs: number;
  readonly #onError: (err: unknown) => void;
  #timer: NodeJS.Timeout | undefined;

  constructor(pass: () => Promise<unknown>, intervalMs: number, onError: (err: unknown) => void) {
    this.#pass = pass;
    this.#intervalMs = intervalMs;
    this.#onError = onError;
  }

  /** Runs a pass now and then every interval. Calling it again does nothing. */
  start(): void {
    if (this.#timer) return;
    const run = (): void => {
      this.#pass().catch(this.#onError);
    };
    this.#timer = setInterval(run, this.#intervalMs);
    this.#timer.unref();
    run();
  }

  /** Stops the timer; a pass under way finishes. Safe to call twice. */
  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
