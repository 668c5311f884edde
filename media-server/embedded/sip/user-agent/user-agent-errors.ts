/**
 * The outbound INVITE was cancelled by `cancel()`: it ended with 487, or its
 * 2xx crossed our CANCEL and the call was ACKed and ended with BYE (§9.1).
 */
export class SipCancelledError extends Error {
  override readonly name = 'SipCancelledError';

  constructor() {
    super('the INVITE was cancelled');
  }
}

/** The user agent was stopped while this was in progress. */
export class SipUserAgentStoppedError extends Error {
  override readonly name = 'SipUserAgentStoppedError';

  constructor() {
    super('the SIP user agent stopped');
  }
}
