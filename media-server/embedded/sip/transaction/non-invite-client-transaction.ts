import { serializeSipMessage, type SipRequest, type SipResponse } from '../message/index.js';
import type { TransportAddress } from '../transport/sip-transport.js';
import type { ClientTransactionUser } from './client-transaction-user.js';
import { timerIK, transactionTimeout } from './sip-timers.js';
import { SipTransaction, type TransactionContext, type TransitionTable } from './sip-transaction.js';

/**
 * States of the non-INVITE client transaction, RFC 3261 §17.1.2 (Figure 6):
 *
 *   trying     → proceeding   1xx
 *   trying     → completed    200–699
 *   trying     → terminated   Timer F, transport error
 *   proceeding → completed    200–699
 *   proceeding → terminated   Timer F, transport error
 *   completed  → terminated   Timer K
 */
export type NonInviteClientTransactionState = 'trying' | 'proceeding' | 'completed' | 'terminated';

const TRANSITIONS: TransitionTable<NonInviteClientTransactionState> = {
  trying: ['proceeding', 'completed', 'terminated'],
  proceeding: ['completed', 'terminated'],
  completed: ['terminated'],
  terminated: [],
};

/**
 * RFC 3261 §17.1.2 non-INVITE client transaction (BYE, CANCEL, INFO,
 * OPTIONS, REFER…): retransmits on Timer E over UDP (T1 doubling to T2, then
 * every T2 once a provisional came), gives up on Timer F (64·T1) and
 * absorbs retransmitted finals for Timer K.
 */
export class NonInviteClientTransaction extends SipTransaction<NonInviteClientTransactionState> {
  readonly kind = 'nict' as const;
  readonly request: SipRequest;
  readonly #user: ClientTransactionUser;
  readonly #bytes: Buffer;
  #timerE = 0;

  constructor(
    context: TransactionContext,
    key: string,
    request: SipRequest,
    destination: TransportAddress,
    user: ClientTransactionUser,
    forget: () => void,
  ) {
    super(context, key, destination, 'trying', TRANSITIONS, forget);
    this.request = request;
    this.#user = user;
    this.#bytes = serializeSipMessage(request);
    this.sendBytes(this.#bytes);
    if (!this.reliable) {
      // §17.1.2.2: "If an unreliable transport is in use, the client transaction MUST set timer E to fire in T1 seconds."
      this.#timerE = context.timers.t1;
      this.startTimer('E', this.#timerE, () => this.#onTimerE());
    }
    // §17.1.2.2: "timer F ... 64*T1 seconds".
    this.startTimer('F', transactionTimeout(context.timers), () => this.#onTimerF());
  }

  /** A response that matched this transaction (§17.1.3). */
  receiveResponse(response: SipResponse): void {
    if (this.state !== 'trying' && this.state !== 'proceeding') return; // Completed: retransmitted finals are absorbed.
    if (response.status < 200) {
      if (this.state === 'trying') this.transition('proceeding');
      this.#user.onResponse(response);
      return;
    }
    this.stopTimer('E');
    this.stopTimer('F');
    this.transition('completed');
    this.#user.onResponse(response);
    if (!this.terminated) {
      // §17.1.2.2: Timer K = T4 over unreliable transports, zero over reliable.
      this.startTimer('K', timerIK(this.context.timers, this.reliable), () => this.transition('terminated'));
    }
  }

  #onTimerE(): void {
    if (this.state !== 'trying' && this.state !== 'proceeding') return;
    this.sendBytes(this.#bytes);
    // §17.1.2.2: Trying → "reset with a value of MIN(2*T1, T2)"; Proceeding → "reset with a value of T2".
    this.#timerE = this.state === 'trying' ? Math.min(this.#timerE * 2, this.context.timers.t2) : this.context.timers.t2;
    this.startTimer('E', this.#timerE, () => this.#onTimerE());
  }

  #onTimerF(): void {
    if (this.state !== 'trying' && this.state !== 'proceeding') return;
    this.transition('terminated');
    this.#user.onTimeout();
  }

  protected override onTransportError(error: Error): void {
    this.transition('terminated');
    this.#user.onTransportError(error);
  }

  protected override didTerminate(): void {
    this.#user.onTerminated?.();
  }
}
