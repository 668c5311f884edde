import { serializeSipMessage, type SipResponse } from '../message/index.js';
import { compactIncomingRequest, type IncomingRequest } from './incoming-request.js';
import type { ServerTransactionUser } from './invite-server-transaction.js';
import { timerJ } from './sip-timers.js';
import { SipTransaction, type TransactionContext, type TransitionTable } from './sip-transaction.js';
import { InvalidStateError } from './transaction-errors.js';

/**
 * States of the non-INVITE server transaction, RFC 3261 §17.2.2 (Figure 8):
 *
 *   trying     → proceeding   1xx from the TU
 *   trying     → completed    200–699 from the TU
 *   trying     → terminated   transport error
 *   proceeding → completed    200–699 from the TU
 *   proceeding → terminated   transport error
 *   completed  → terminated   Timer J, transport error
 */
export type NonInviteServerTransactionState = 'trying' | 'proceeding' | 'completed' | 'terminated';

const TRANSITIONS: TransitionTable<NonInviteServerTransactionState> = {
  trying: ['proceeding', 'completed', 'terminated'],
  proceeding: ['completed', 'terminated'],
  completed: ['terminated'],
  terminated: [],
};

/**
 * RFC 3261 §17.2.2 non-INVITE server transaction: passes the TU's responses
 * to the transport and answers retransmitted requests with the last one,
 * keeping the final for Timer J (64·T1 over UDP, zero over TCP) so that a
 * retransmission never reaches the TU as a new request.
 */
export class NonInviteServerTransaction extends SipTransaction<NonInviteServerTransactionState> {
  readonly kind = 'nist' as const;
  #request: IncomingRequest;
  readonly #user: ServerTransactionUser;
  #lastResponse: Buffer | undefined;
  #lastStatus = 0;

  constructor(
    context: TransactionContext,
    request: IncomingRequest,
    user: ServerTransactionUser,
    forget: () => void,
  ) {
    super(context, request.transactionKey, request.responseAddress, 'trying', TRANSITIONS, forget);
    this.#request = request;
    this.#user = user;
  }

  /** The request; once the final response has gone, only its compact form (`compactIncomingRequest`). */
  get request(): IncomingRequest {
    return this.#request;
  }

  get lastStatus(): number {
    return this.#lastStatus;
  }

  get hasFinalResponse(): boolean {
    return this.#lastStatus >= 200;
  }

  /** Sends a response from the TU; throws `InvalidStateError` once the final has gone. */
  respond(response: SipResponse): void {
    const status = response.status;
    if (this.state === 'completed' || this.state === 'terminated') {
      throw new InvalidStateError('NonInviteServerTransaction', this.state, `response ${status}`);
    }
    const bytes = serializeSipMessage(response);
    this.#lastResponse = bytes;
    this.#lastStatus = status;
    this.sendBytes(bytes);
    if (status < 200) {
      if (this.state === 'trying') this.transition('proceeding');
      return;
    }
    this.transition('completed');
    this.#request = compactIncomingRequest(this.#request);
    // §17.2.2: "timer J to fire in 64*T1 seconds for unreliable transports, and zero seconds for reliable".
    this.startTimer('J', timerJ(this.context.timers, this.reliable), () => this.transition('terminated'));
  }

  /** A retransmission of the request (§17.2.3 matched it). Always absorbed. */
  receiveRequest(_request: IncomingRequest): boolean {
    // §17.2.2: in Trying "any retransmissions of the request received will be discarded";
    // in Proceeding and Completed the last response is sent again.
    if ((this.state === 'proceeding' || this.state === 'completed') && this.#lastResponse) this.sendBytes(this.#lastResponse);
    return true;
  }

  protected override onTransportError(error: Error): void {
    this.transition('terminated');
    this.#user.onTransportError?.(error);
  }

  protected override didTerminate(): void {
    this.#user.onTerminated?.();
  }
}
