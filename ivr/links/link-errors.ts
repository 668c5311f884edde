/** A link cannot be sent (or withdrawn) for this session in its state (REST: 409). */
export class LinkNotAllowedError extends Error {
  override readonly name = 'LinkNotAllowedError';
  constructor(readonly reason: 'session-not-open' | 'no-phone-number' | 'not-a-mobile' | 'no-active-link') {
    super(`payment link refused: ${reason}`);
  }
}
