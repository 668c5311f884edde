export * from './user-agent-errors.js';
export * from './incoming-invite.js';
export * from './outgoing-invite.js';
export * from './sip-user-agent.js';
export { InvalidStateError, SipTimeoutError, SipTransportError, SipUnsupportedError } from '../transaction/transaction-errors.js';
export { SipAckTimeoutError, SipDialogTerminatedError, SipFinalResponseError, SipRequestPendingError } from '../dialog/dialog-errors.js';
export { InviteSession, type DialogEndReason, type InviteSessionEvents, type InviteSessionState } from '../dialog/invite-session.js';
export * from './digest-authorization.js';
export * from './inbound-digest-auth.js';
