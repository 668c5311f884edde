import { SipHeaders, serializeSipMessage, type SipRequest, type SipResponse } from '../message/index.js';
import type { TransportAddress } from '../transport/sip-transport.js';
import type { ClientTransactionUser } from './client-transaction-user.js';
import { timerD, transactionTimeout } from './sip-timers.js';
import { SipTransaction, type TransactionContext, type TransitionTable } from './sip-transaction.js';

/**
 * States of the INVITE client transaction, RFC 3261 §17.1.1 (Figure 5) as
 * revised by RFC 6026 §7.2 (Figure 4), which adds Accepted so that 2xx
 * retransmissions reach the TU (it re-sends its ACK) instead of being lost:
 *
 *   calling    → proceeding   1xx
 *   calling    → accepted     2xx (RFC 6026)
 *   calling    → completed    300–699 (ACK sent)
 *   calling    → terminated   Timer B, transport error
 *   proceeding → accepted     2xx
 *   proceeding → completed    300–699
 *   proceeding → terminated   transport error
 *   completed  → terminated   Timer D, transport error
 *   accepted   → terminated   Timer M
 */
export type InviteClientTransactionState = 'calling' | 'proceeding' | 'completed' | 'accepted' | 'terminated';

const TRANSITIONS: TransitionTable<InviteClientTransactionState> = {
  calling: ['proceeding', 'accepted', 'completed', 'terminated'],
  proceeding: ['accepted', 'completed', 'terminated'],
  completed: ['terminated'],
  accepted: ['terminated'],
  terminated: [],
};

/**
 * The ACK for a 300–699, built by the transaction itself (§17.1.1.3):
 * Request-URI, Call-ID and From of the INVITE; To of the response (with the
 * tag it added); one Via, equal to the INVITE's top Via (same branch); CSeq
 * number of the INVITE with method ACK; the INVITE's Route lines.
 */
export function createNonSuccessAck(invite: SipRequest, response: SipResponse): SipRequest {
  const headers = new SipHeaders();
  headers.append('Via', invite.headers.get('Via') as string);
  for (const route of invite.headers.getLines('Route')) headers.append('Route', route);
  headers.append('Max-Forwards', '70');
  headers.append('From', invite.headers.get('From') as string);
  headers.append('To', response.headers.get('To') as string);
  headers.append('Call-ID', invite.headers.get('Call-ID') as string);
  const seq = (invite.headers.get('CSeq') as string).trim().split(/\s+/)[0] as string;
  headers.append('CSeq', `${seq} ACK`);
  return { kind: 'request', method: 'ACK', uri: invite.uri, headers, body: Buffer.alloc(0) };
}

/**
 * RFC 3261 §17.1.1 INVITE client transaction. Sends the INVITE, retransmits
 * it on Timer A over UDP (T1, doubling) until a response, gives up on
 * Timer B (64·T1) with no response at all, ACKs a 300–699 itself and keeps
 * answering its retransmissions for Timer D; a 2xx is the TU's to ACK.
 */
export class InviteClientTransaction extends SipTransaction<InviteClientTransactionState> {
  readonly kind = 'ict' as const;
  readonly request: SipRequest;
  readonly #user: ClientTransactionUser;
  readonly #bytes: Buffer;
  #ack: Buffer | undefined;
  #timerA = 0;

  constructor(
    context: TransactionContext,
    key: string,
    request: SipRequest,
    destination: TransportAddress,
    user: ClientTransactionUser,
    forget: () => void,
  ) {
    super(context, key, destination, 'calling', TRANSITIONS, forget);
    this.request = request;
    this.#user = user;
    this.#bytes = serializeSipMessage(request);
    this.sendBytes(this.#bytes);
    if (!this.reliable) {
      // §17.1.1.2: "For unreliable transports, the client transaction MUST start timer A with a value of T1."
      this.#timerA = context.timers.t1;
      this.startTimer('A', this.#timerA, () => this.#onTimerA());
    }
    // §17.1.1.2: "For any transport, the client transaction MUST start timer B with a value of 64*T1."
    this.startTimer('B', transactionTimeout(context.timers), () => this.#onTimerB());
  }

  /** A response that matched this transaction (§17.1.3). */
  receiveResponse(response: SipResponse): void {
    const status = response.status;
    switch (this.state) {
      case 'calling':
      case 'proceeding':
        this.stopTimer('A');
        this.stopTimer('B');
        if (status < 200) {
          if (this.state === 'calling') this.transition('proceeding');
          this.#user.onResponse(response);
        } else if (status < 300) {
          // RFC 6026 §7.2: 2xx → Accepted, to the TU; Timer M = 64·T1 catches its retransmissions.
          this.transition('accepted');
          this.startTimer('M', transactionTimeout(this.context.timers), () => this.transition('terminated'));
          this.#user.onResponse(response);
        } else {
          // §17.1.1.2: 300–699 → "generate an ACK request", pass the response up, enter Completed.
          this.#ack = serializeSipMessage(createNonSuccessAck(this.request, response));
          this.sendBytes(this.#ack);
          this.transition('completed');
          this.#user.onResponse(response);
          // Timer D (≥ 32 s UDP, 0 TCP) absorbs retransmitted finals; it may end the transaction at once.
          if (!this.terminated) {
            this.startTimer('D', timerD(this.context.timers, this.reliable), () => this.transition('terminated'));
          }
        }
        return;
      case 'completed':
        // §17.1.1.2: "Any retransmissions of the final response ... MUST cause the ACK to be re-passed to the transport layer".
        if (status >= 300 && this.#ack) this.sendBytes(this.#ack);
        return;
      case 'accepted':
        // RFC 6026 §7.2: each 2xx received in Accepted goes to the TU.
        if (status >= 200 && status < 300) this.#user.onResponse(response);
        return;
      default:
        return;
    }
  }

  /**
   * Ends the transaction without a final response: §9.1, no final response
   * 64·T1 after a CANCEL ("the client SHOULD then consider the original
   * transaction cancelled and SHOULD destroy the client transaction").
   */
  abandon(): void {
    if (this.state === 'calling' || this.state === 'proceeding') this.transition('terminated');
  }

  #onTimerA(): void {
    if (this.state !== 'calling') return;
    this.sendBytes(this.#bytes);
    // §17.1.1.2: "the client transaction MUST ... reset the timer with a value of 2*T1" — doubling, no T2 cap.
    this.#timerA *= 2;
    this.startTimer('A', this.#timerA, () => this.#onTimerA());
  }

  #onTimerB(): void {
    if (this.state !== 'calling') return;
    // §17.1.1.2: Timer B fires in Calling → "inform the TU that a timeout has occurred", Terminated.
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
