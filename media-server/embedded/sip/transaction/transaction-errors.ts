/**
 * A state machine was asked for a move its table does not allow: a second
 * final response, a provisional after the final, a transition out of
 * Terminated. Always a programming error in the layer above.
 */
export class InvalidStateError extends Error {
  override readonly name = 'InvalidStateError';
  readonly from: string;
  readonly to: string;

  constructor(machine: string, from: string, to: string) {
    super(`${machine}: no transition from ${from} to ${to}`);
    this.from = from;
    this.to = to;
  }
}

/**
 * No final response came in time: Timer B (INVITE, RFC 3261 §17.1.1.2) or
 * Timer F (non-INVITE, §17.1.2.2) fired, or the caller's own ring timeout.
 * RFC 3261 §8.1.3.1 treats it like a 408 (Request Timeout).
 */
export class SipTimeoutError extends Error {
  override readonly name = 'SipTimeoutError';
  /** The method of the request that went unanswered. */
  readonly method: string;

  constructor(method: string, detail = 'no final response') {
    super(`${method}: ${detail}`);
    this.method = method;
  }
}

/** The transport could not send a message (RFC 3261 §17.1.4, §17.2.4: "inform the TU"). */
export class SipTransportError extends Error {
  override readonly name = 'SipTransportError';

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A request or URI this stack cannot send: sips:, a non-SIP scheme, a method that has its own API. */
export class SipUnsupportedError extends Error {
  override readonly name = 'SipUnsupportedError';
}
