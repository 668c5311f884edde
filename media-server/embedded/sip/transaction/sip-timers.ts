/**
 * The SIP timers of RFC 3261 §17 and Appendix A (Table 4), all derived from
 * T1, T2 and T4, and the clock every transaction and dialog schedules them
 * on. Tests shrink the base values and inject a fake clock; nothing in the
 * SIP core calls `setTimeout` directly.
 */

/** Base timer values (RFC 3261 Appendix A). */
export interface TimerValues {
  /** RTT estimate (§17.1.1.1). Default 500 ms. */
  readonly t1: number;
  /** Longest retransmit interval for non-INVITE requests and INVITE responses (§17.1.2.2). Default 4 000 ms. */
  readonly t2: number;
  /** Longest a message stays in the network (§17.1.2.2). Default 5 000 ms. */
  readonly t4: number;
}

export const DEFAULT_TIMER_VALUES: TimerValues = Object.freeze({ t1: 500, t2: 4_000, t4: 5_000 });

/** Fills in the defaults and refuses values that would make the schedules meaningless. */
export function timerValues(partial: Partial<TimerValues> = {}): TimerValues {
  const values = { ...DEFAULT_TIMER_VALUES, ...partial };
  for (const [name, ms] of Object.entries(values)) {
    if (!Number.isFinite(ms) || ms <= 0) throw new RangeError(`SIP timer ${name} must be a positive number of ms`);
  }
  if (values.t2 < values.t1) throw new RangeError('SIP timer T2 must not be below T1');
  return Object.freeze(values);
}

/** 64·T1: Timers B, F, H, J (unreliable), L and M, and the 2xx retransmission window of §13.3.1.4. */
export const transactionTimeout = (t: TimerValues): number => 64 * t.t1;

/**
 * Timer D: "at least 32 seconds for unreliable transports, zero for
 * reliable" (§17.1.1.2). 64·T1, which is exactly 32 s at the default T1
 * and shrinks with it in tests.
 */
export const timerD = (t: TimerValues, reliable: boolean): number => (reliable ? 0 : 64 * t.t1);

/** Timer I (§17.2.1) and Timer K (§17.1.2.2): T4 over unreliable transports, zero over reliable ones. */
export const timerIK = (t: TimerValues, reliable: boolean): number => (reliable ? 0 : t.t4);

/** Timer J (§17.2.2): 64·T1 over unreliable transports, zero over reliable ones. */
export const timerJ = (t: TimerValues, reliable: boolean): number => (reliable ? 0 : 64 * t.t1);

/** An opaque timer handle of a `SipClock`. */
export type SipTimerHandle = object | number;

/** Where SIP timers run. The system clock in production, a fake in tests. */
export interface SipClock {
  setTimer(callback: () => void, delayMs: number): SipTimerHandle;
  clearTimer(handle: SipTimerHandle): void;
}

/**
 * Node's timers, unref'd: a pending Timer K or D must never hold the process
 * open on its own (the sockets do that while the server runs).
 */
export const systemClock: SipClock = {
  setTimer(callback, delayMs) {
    const handle = setTimeout(callback, delayMs);
    handle.unref();
    return handle;
  },
  clearTimer(handle) {
    clearTimeout(handle as NodeJS.Timeout);
  },
};
