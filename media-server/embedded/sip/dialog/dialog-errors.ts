import type { SipResponse } from '../message/index.js';

/**
 * A request was answered with a final response other than 2xx: a 486 for
 * an outbound INVITE, a 488 for a re-INVITE, a 603 for a REFER (drachtio's
 * `SipError`). `status` and `reason` are the response's.
 */
export class SipFinalResponseError extends Error {
  override readonly name = 'SipFinalResponseError';
  readonly status: number;
  readonly reason: string;
  readonly response: SipResponse;

  constructor(method: string, response: SipResponse) {
    super(`${method} answered ${response.status} ${response.reason}`);
    this.status = response.status;
    this.reason = response.reason;
    this.response = response;
  }
}

/**
 * Our 2xx to an INVITE was retransmitted for 64·T1 without an ACK
 * (RFC 3261 §13.3.1.4). The dialog sends BYE and ends with 'ack-timeout'.
 */
export class SipAckTimeoutError extends Error {
  override readonly name = 'SipAckTimeoutError';

  constructor() {
    super('no ACK for the 2xx within 64*T1');
  }
}

/**
 * An INVITE transaction is already in progress in this dialog, in one
 * direction or the other: RFC 3261 §14.1 forbids starting another.
 */
export class SipRequestPendingError extends Error {
  override readonly name = 'SipRequestPendingError';

  constructor() {
    super('another INVITE transaction is in progress in this dialog (RFC 3261 §14.1)');
  }
}

/** The dialog has ended (or ended while waiting for what was asked). */
export class SipDialogTerminatedError extends Error {
  override readonly name = 'SipDialogTerminatedError';
}
