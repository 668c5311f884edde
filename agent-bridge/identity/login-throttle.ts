/**
 * Failed logins per username (`user:` keys) and per source address (`ip:`
 * keys), in a sliding window: past the limit, login answers 429 until the
 * window moves on (PCI DSS 4.0 req. 8.3.4 asks for lock-out after at most 10
 * attempts per user). An address gets a higher limit: a whole call centre may
 * sit behind one.
 */
export class LoginThrottle {
  readonly #limit: number;
  readonly #addressLimit: number;
  readonly #windowMs: number;
  readonly #now: () => number;
  readonly #failures = new Map<string, number[]>();

  constructor(options: { limit?: number; addressLimit?: number; windowMs?: number; now?: () => number } = {}) {
    this.#limit = options.limit ?? 5;
    this.#addressLimit = options.addressLimit ?? 50;
    this.#windowMs = options.windowMs ?? 15 * 60_000;
    this.#now = options.now ?? Date.now;
  }

  /** Milliseconds until a login may be tried again for these keys, 0 when it may now. */
  retryAfterMs(keys: readonly string[]): number {
    const now = this.#now();
    let wait = 0;
    for (const key of keys) {
      const recent = this.#recent(key, now);
      const limit = key.startsWith('ip:') ? this.#addressLimit : this.#limit;
      if (recent.length >= limit) wait = Math.max(wait, recent[0]! + this.#windowMs - now);
    }
    return wait;
  }

  fail(keys: readonly string[]): void {
    const now = this.#now();
    for (const key of keys) this.#failures.set(key, [...this.#recent(key, now), now]);
  }

  succeed(keys: readonly string[]): void {
    for (const key of keys) this.#failures.delete(key);
  }

  #recent(key: string, now: number): number[] {
    const recent = (this.#failures.get(key) ?? []).filter((t) => t > now - this.#windowMs);
    if (recent.length === 0) this.#failures.delete(key);
    else this.#failures.set(key, recent);
    return recent;
  }
}
