import type { DialogHost, SipDialog } from '../dialog/sip-dialog.js';

/** What the INVITE helpers need from the user agent, beyond what a dialog needs. */
export interface UserAgentCore extends DialogHost {
  /** Files a new dialog so requests and ACKs find it. */
  register(dialog: SipDialog): void;
  /** Allow header value for our INVITEs and 2xx (§13.2.1, §13.3.1.4). */
  readonly allowHeader: string;
}
