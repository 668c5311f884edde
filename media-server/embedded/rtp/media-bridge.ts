import { RtpSession } from './rtp-session.js';

/**
 * Two sessions' media joined: each hears the other, subject to the sender's
 * masking and mute (ARCHITECTURE.md "Call entry modes": the IVR bridges
 * the agent through itself). Throws `InvalidStateError` if either session is closed or
 * already bridged. A session that closes leaves its bridge by itself.
 */
export class MediaBridge {
  readonly sessions: readonly [RtpSession, RtpSession];

  constructor(a: RtpSession, b: RtpSession) {
    RtpSession.link(a, b);
    this.sessions = [a, b];
  }

  /** Whether the two are still joined (neither unbridged nor closed). */
  get active(): boolean {
    const [a, b] = this.sessions;
    return a.peer === b && b.peer === a;
  }

  /** Stops the media exchange; the sessions go on. Safe to call twice. */
  unbridge(): void {
    const [a, b] = this.sessions;
    RtpSession.unlink(a, b);
  }
}
