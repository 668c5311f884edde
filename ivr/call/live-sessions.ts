import type { AgentCommand } from '../flow/flow-types.js';
import type { Actor } from '../../domain/actor.js';
import type { PaymentCall } from './payment-call.js';

/**
 * The payment calls in progress, by session id, so an agent's command from
 * the REST API reaches the call its session's caller is on.
 */
export class LiveSessions {
  readonly #calls = new Map<string, PaymentCall>();

  register(sessionId: string, call: PaymentCall): void {
    this.#calls.set(sessionId, call);
    void call.done.finally(() => {
      if (this.#calls.get(sessionId) === call) this.#calls.delete(sessionId);
    });
  }

  get(sessionId: string): PaymentCall | undefined {
    return this.#calls.get(sessionId);
  }

  command(sessionId: string, command: AgentCommand, actor: Actor): 'applied' | 'not-joined' {
    const call = this.#calls.get(sessionId);
    if (!call) return 'not-joined';
    call.command(command, actor);
    return 'applied';
  }
}
