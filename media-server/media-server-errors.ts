import type { HangupReason } from './media-server-port.js';

/** `MediaServer#dial` failed: the callee refused (status), did not answer in time, was cancelled, or the call could not be set up. */
export class DialError extends Error {
  override readonly name = 'DialError';
  constructor(
    readonly reason: Extract<HangupReason, 'rejected' | 'no-answer' | 'failed' | 'cancelled'>,
    readonly status?: number,
  ) {
    super(`dial failed: ${reason}${status ? ` (${status})` : ''}`);
  }
}
