import type { TransportAddress } from '../transport/sip-transport.js';
import type { SipClock, SipTimerHandle, TimerValues } from './sip-timers.js';
import { InvalidStateError } from './transaction-errors.js';

/** What every transaction needs from the layer that owns it: one sender, one clock, one set of timer values. */
export interface TransactionContext {
  /** Hands serialised bytes to the transport; rejects when they could not be sent. */
  readonly send: (message: Buffer, to: TransportAddress) => Promise<void>;
  readonly clock: SipClock;
  readonly timers: TimerValues;
}

/** The four transaction types of RFC 3261 §17. */
export type TransactionKind = 'ist' | 'nist' | 'ict' | 'nict';

/** A table of legal moves: for each state, the states it may go to. */
export type TransitionTable<S extends string> = Readonly<Record<S, readonly S[]>>;

const TERMINATED = 'terminated';

/**
 * What the four transactions share: a key, a state changed only through
 * `transition()` against the type's table, named timers on the layer's
 * clock, and a send that turns a transport failure into the "inform the TU"
 * of RFC 3261 §17.1.4 and §17.2.4.
 */
export abstract class SipTransaction<S extends string> {
  abstract readonly kind: TransactionKind;
  /** The §17.1.3 / §17.2.3 matching key. */
  readonly key: string;
  /** Where this transaction sends: the next hop (client) or the §18.2.2 response address (server). */
  readonly peer: TransportAddress;
  /** Over TCP nothing is retransmitted and the wait timers (D, I, J, K) are zero (§17.1.1.2, §17.2.1, §17.2.2). */
  readonly reliable: boolean;
  protected readonly context: TransactionContext;
  #state: S;
  readonly #table: TransitionTable<S>;
  readonly #timers = new Map<string, SipTimerHandle>();
  readonly #forget: () => void;

  protected constructor(
    context: TransactionContext,
    key: string,
    peer: TransportAddress,
    initial: S,
    table: TransitionTable<S>,
    forget: () => void,
  ) {
    this.context = context;
    this.key = key;
    this.peer = peer;
    this.reliable = peer.protocol !== 'udp';
    this.#state = initial;
    this.#table = table;
    this.#forget = forget;
  }

  get state(): S {
    return this.#state;
  }

  get terminated(): boolean {
    return this.#state === TERMINATED;
  }

  /**
   * The one place the state changes. Throws `InvalidStateError` for a move
   * the table does not list; entering Terminated cancels every timer and
   * takes the transaction out of the layer's table.
   */
  protected transition(to: S): void {
    const from = this.#state;
    if (!this.#table[from].includes(to)) throw new InvalidStateError(this.constructor.name, from, to);
    this.#state = to;
    if (to === TERMINATED) {
      this.#clearTimers();
      this.#forget();
      this.didTerminate();
    }
  }

  /** Called once on entering Terminated, after the layer forgot the transaction. */
  protected abstract didTerminate(): void;

  /** Called when the transport refused a message of this transaction. */
  protected abstract onTransportError(error: Error): void;

  /** Starts (or restarts) a named timer; a zero delay fires at once, synchronously. */
  protected startTimer(name: string, delayMs: number, fire: () => void): void {
    this.stopTimer(name);
    if (delayMs <= 0) {
      fire();
      return;
    }
    const handle = this.context.clock.setTimer(() => {
      this.#timers.delete(name);
      fire();
    }, delayMs);
    this.#timers.set(name, handle);
  }

  protected stopTimer(name: string): void {
    const handle = this.#timers.get(name);
    if (handle === undefined) return;
    this.context.clock.clearTimer(handle);
    this.#timers.delete(name);
  }

  /** Sends bytes to the peer; a failure becomes `onTransportError` unless the transaction ended meanwhile. */
  protected sendBytes(message: Buffer): void {
    this.context.send(message, this.peer).catch((err: unknown) => {
      if (this.terminated) return;
      this.onTransportError(err instanceof Error ? err : new Error(String(err)));
    });
  }

  /** Stops every timer without telling anyone: the user agent is shutting down. */
  dispose(): void {
    this.#clearTimers();
    if (this.#state !== TERMINATED) {
      this.#state = TERMINATED as S;
      this.#forget();
    }
  }

  #clearTimers(): void {
    for (const handle of this.#timers.values()) this.context.clock.clearTimer(handle);
    this.#timers.clear();
  }
}
