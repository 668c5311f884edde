import type { AgentCommand } from '../flow/flow-types.js';
import type { Actor } from '../../domain/actor.js';
import type { PaymentCall } from './payment-call.js';

/**
 * The payment calls in progress, by session id, so an agent's command from
 * the REST API reaches the call its session's caller is on; and the callers'
 * legs, until they end, so the console can release a caller (an
 * agent-assisted caller stays bridged to the agent after the payment).
 */
export class LiveSessions {
  readonly #calls = new Map<string, PaymentCall>();
  readonly #callers = new Map<string, () => Promise<void>>();
  /** The number the caller called from (the From URI's user part), while the caller is on the line. */
  readonly #numbers = new Map<string, string>();

  register(sessionId: string, call: PaymentCall): void {
    this.#calls.set(sessionId, call);
    void call.done.finally(() => {
      if (this.#calls.get(sessionId) === call) this.#calls.delete(sessionId);
    });
  }

  get(sessionId: string): PaymentCall | undefined {
    return this.#calls.get(sessionId);
  }

  /** The caller of `sessionId` is on `hangup`'s leg until `ended` settles; `number`: theirs, from the call (a payment link goes there). */
  registerCaller(sessionId: string, hangup: () => Promise<void>, ended: Promise<void>, number?: string): void {
    this.#callers.set(sessionId, hangup);
    if (number) this.#numbers.set(sessionId, number);
    void ended.finally(() => {
      if (this.#callers.get(sessionId) === hangup) {
        this.#callers.delete(sessionId);
        this.#numbers.delete(sessionId);
      }
    });
  }

  /** The number the session's caller is calling from, while they are on the line. */
  callerNumber(sessionId: string): string | undefined {
    return this.#numbers.get(sessionId);
  }

  /**
   * Ends the caller's leg (BYE): the payment flow hears a hang-up and ends as
   * it would (a payment being authorised still gets its answer). Sending the
   * caller back to the agent (REFER) is not done. 'not-joined' when no caller is on the session.
   */
  releaseCaller(sessionId: string): 'released' | 'not-joined' {
    const hangup = this.#callers.get(sessionId);
    if (!hangup) return 'not-joined';
    this.#callers.delete(sessionId);
    void hangup().catch(() => undefined);
    return 'released';
  }

  command(sessionId: string, command: AgentCommand, actor: Actor): 'applied' | 'not-joined' {
    const call = this.#calls.get(sessionId);
    if (!call) return 'not-joined';
    call.command(command, actor);
    return 'applied';
  }
}
