import { createSipResponse, serializeSipMessage, type SipResponse } from '../message/index.js';
import { compactIncomingRequest, type IncomingRequest } from './incoming-request.js';
import { newTag } from './sip-identifiers.js';
import { transactionTimeout, timerIK } from './sip-timers.js';
import { SipTransaction, type TransactionContext, type TransitionTable } from './sip-transaction.js';
import { InvalidStateError } from './transaction-errors.js';

/**
 * States of the INVITE server transaction, RFC 3261 §17.2.1 (Figure 7) as
 * revised by RFC 6026 §7.1 (Figure 5), which adds Accepted so that a
 * retransmitted INVITE after a 2xx is absorbed, not taken for a new call:
 *
 *   proceeding → completed    300–699 from the TU
 *   proceeding → accepted     2xx from the TU (RFC 6026)
 *   proceeding → terminated   transport error
 *   completed  → confirmed    ACK
 *   completed  → terminated   Timer H (no ACK), transport error
 *   confirmed  → terminated   Timer I
 *   accepted   → terminated   Timer L, transport error
 */
export type InviteServerTransactionState = 'proceeding' | 'completed' | 'confirmed' | 'accepted' | 'terminated';

const TRANSITIONS: TransitionTable<InviteServerTransactionState> = {
  proceeding: ['completed', 'accepted', 'terminated'],
  completed: ['confirmed', 'terminated'],
  confirmed: ['terminated'],
  accepted: ['terminated'],
  terminated: [],
};

/** What a server transaction tells the transaction user (the UA core or a dialog). */
export interface ServerTransactionUser {
  /** Timer H fired: the 300–699 was never acknowledged (§17.2.1 "inform the TU"). */
  onTimeout?(): void;
  /** A response could not be sent (§17.2.4). */
  onTransportError?(error: Error): void;
  /**
   * INVITE only: a CANCEL matched this transaction before its final response
   * (§9.2). The TU should answer the INVITE 487 now (with its To tag); if it
   * does not, the transaction does.
   */
  onCancel?(): void;
  /** The transaction is over and forgotten. */
  onTerminated?(): void;
}

/**
 * RFC 3261 §17.2.1 INVITE server transaction. Sends 100 Trying as soon as it
 * exists (§17.2.1 allows 200 ms; there is nothing to wait for), passes the
 * TU's provisional and final responses to the transport, answers a
 * retransmitted INVITE with the last response, retransmits a 300–699 on
 * Timer G over UDP until the ACK, and absorbs that ACK. A 2xx is the TU's to
 * retransmit (§13.3.1.4): it does so through `retransmitAccepted()`.
 */
export class InviteServerTransaction extends SipTransaction<InviteServerTransactionState> {
  readonly kind = 'ist' as const;
  #request: IncomingRequest;
  readonly #user: ServerTransactionUser;
  #lastResponse: Buffer | undefined;
  #lastStatus = 0;
  #timerG = 0;

  constructor(
    context: TransactionContext,
    request: IncomingRequest,
    user: ServerTransactionUser,
    forget: () => void,
  ) {
    super(context, request.transactionKey, request.responseAddress, 'proceeding', TRANSITIONS, forget);
    this.#request = request;
    this.#user = user;
    // §17.2.1: "the server transaction MUST generate a 100 (Trying) response".
    this.respond(createSipResponse(request.message, 100));
  }

  /** The INVITE; once a final response has gone, only its compact form (`compactIncomingRequest`). */
  get request(): IncomingRequest {
    return this.#request;
  }

  /** Status of the last response sent (100 at first). */
  get lastStatus(): number {
    return this.#lastStatus;
  }

  /** True once a final response (200–699) went out. */
  get hasFinalResponse(): boolean {
    return this.#lastStatus >= 200;
  }

  /**
   * Sends a response from the TU: 1xx any number of times while Proceeding,
   * then one final. Throws `InvalidStateError` for anything else.
   */
  respond(response: SipResponse): void {
    const status = response.status;
    if (this.state !== 'proceeding') throw new InvalidStateError('InviteServerTransaction', this.state, `response ${status}`);
    const bytes = serializeSipMessage(response);
    this.#lastResponse = bytes;
    this.#lastStatus = status;
    this.sendBytes(bytes);
    if (status < 200) return;
    // Retransmissions get #lastResponse; a CANCEL now has no effect. The rest of the INVITE can go.
    this.#request = compactIncomingRequest(this.#request);
    if (status < 300) {
      // RFC 6026 §7.1: "2xx from TU, send response" → Accepted; Timer L = 64·T1.
      this.transition('accepted');
      this.startTimer('L', transactionTimeout(this.context.timers), () => this.transition('terminated'));
      return;
    }
    this.transition('completed');
    if (!this.reliable) {
      // §17.2.1: "For unreliable transports, timer G is set to fire in T1 seconds".
      this.#timerG = this.context.timers.t1;
      this.startTimer('G', this.#timerG, () => this.#onTimerG());
    }
    // §17.2.1: "timer H MUST be set to fire in 64*T1 seconds for all transports".
    this.startTimer('H', transactionTimeout(this.context.timers), () => this.#onTimerH());
  }

  /**
   * The TU's retransmission of its 2xx (§13.3.1.4), passed to the transport
   * while Accepted (RFC 6026 §7.1: "2xx from TU, send response"). False when
   * the transaction has ended.
   */
  retransmitAccepted(): boolean {
    if (this.state !== 'accepted' || !this.#lastResponse) return false;
    this.sendBytes(this.#lastResponse);
    return true;
  }

  /**
   * A CANCEL matched this transaction (§9.2; the UA core has answered the
   * CANCEL itself). Without a final response yet, the TU is told and the
   * INVITE gets "a 487 (Request Terminated)"; returns false when a final
   * response had already gone and the CANCEL has no effect.
   */
  cancel(): boolean {
    if (this.state !== 'proceeding') return false;
    this.#user.onCancel?.();
    if (this.state === 'proceeding') this.respond(createSipResponse(this.request.message, 487, { toTag: newTag() }));
    return true;
  }

  /**
   * A request that matched this transaction (§17.2.3): a retransmitted
   * INVITE or an ACK. Returns true when the transaction absorbed it; false
   * for an ACK in Accepted, which RFC 6026 §7.1 passes to the TU.
   */
  receiveRequest(request: IncomingRequest): boolean {
    if (request.message.method === 'ACK') return this.#onAck();
    switch (this.state) {
      case 'proceeding':
      case 'completed':
        // §17.2.1: a retransmitted INVITE gets "the most recent provisional response" / the final again.
        if (this.#lastResponse) this.sendBytes(this.#lastResponse);
        return true;
      default:
        // Confirmed: "absorbed"; Accepted: RFC 6026 absorbs it too (the TU is retransmitting the 2xx).
        return true;
    }
  }

  #onAck(): boolean {
    switch (this.state) {
      case 'completed':
        // §17.2.1: ACK in Completed → Confirmed; "timer G is ignored"; Timer I = T4 (UDP) or 0.
        this.stopTimer('G');
        this.stopTimer('H');
        this.transition('confirmed');
        this.startTimer('I', timerIK(this.context.timers, this.reliable), () => this.transition('terminated'));
        return true;
      case 'accepted':
        return false;
      default:
        // Confirmed absorbs further ACKs; an ACK before any final response has nothing to acknowledge.
        return true;
    }
  }

  #onTimerG(): void {
    if (this.state !== 'completed' || !this.#lastResponse) return;
    this.sendBytes(this.#lastResponse);
    // §17.2.1: "reset with a value of min(2*T1, T2)", doubling each time up to T2.
    this.#timerG = Math.min(this.#timerG * 2, this.context.timers.t2);
    this.startTimer('G', this.#timerG, () => this.#onTimerG());
  }

  #onTimerH(): void {
    if (this.state !== 'completed') return;
    this.transition('terminated');
    this.#user.onTimeout?.();
  }

  protected override onTransportError(error: Error): void {
    this.transition('terminated');
    this.#user.onTransportError?.(error);
  }

  protected override didTerminate(): void {
    this.#user.onTerminated?.();
  }
}
