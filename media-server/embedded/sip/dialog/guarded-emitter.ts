import { EventEmitter } from 'node:events';

type Listener = (...args: unknown[]) => unknown;

/**
 * A typed EventEmitter whose listeners cannot hurt the emitter: a listener
 * that throws, or returns a promise that rejects, is reported through
 * `onListenerError` and the remaining listeners still run. The SIP core
 * emits only through `emitSafely`, so an application bug never unwinds into
 * the transport's receive loop or another call's state.
 */
export abstract class GuardedEmitter<T extends Record<keyof T, unknown[]>> extends EventEmitter<T> {
  /** Where listener failures go (a log line); must not throw. */
  protected abstract onListenerError(error: unknown, event: string): void;

  /** Calls each listener in turn, guarded; returns how many there were. */
  protected emitSafely<K extends keyof T & string>(event: K, ...args: T[K]): number {
    const listeners = (this as unknown as EventEmitter).rawListeners(event) as Listener[];
    for (const listener of listeners) {
      try {
        const result = listener.apply(this, args);
        if (result instanceof Promise) result.catch((err: unknown) => this.onListenerError(err, event));
      } catch (err) {
        this.onListenerError(err, event);
      }
    }
    return listeners.length;
  }
}
