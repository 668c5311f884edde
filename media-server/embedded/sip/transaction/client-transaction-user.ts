import type { SipResponse } from '../message/index.js';

/** What a client transaction tells its transaction user (the UA core, an outgoing INVITE or a dialog). */
export interface ClientTransactionUser {
  /**
   * A response for the TU: every 1xx, the final response, and (INVITE,
   * Accepted state, RFC 6026 §7.2) each retransmitted 2xx, so the TU can
   * send its ACK again. Retransmitted 300–699 and non-INVITE finals are
   * absorbed by the transaction.
   */
  onResponse(response: SipResponse): void;
  /** Timer B or F fired: no final response (§17.1.1.2, §17.1.2.2). */
  onTimeout(): void;
  /** The request (or the ACK) could not be sent (§17.1.4). */
  onTransportError(error: Error): void;
  /** The transaction is over and forgotten. */
  onTerminated?(): void;
}
