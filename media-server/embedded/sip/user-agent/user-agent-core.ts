import type { InviteSession, InviteSessionHost } from '../dialog/invite-session.js';

/** What the INVITE helpers need from the user agent, beyond what an INVITE session needs. */
export interface UserAgentCore extends InviteSessionHost {
  /** Files a new dialog so requests and ACKs find it. */
  register(dialog: InviteSession): void;
  /** Allow header value for our INVITEs and 2xx (§13.2.1, §13.3.1.4). */
  readonly allowHeader: string;
}
