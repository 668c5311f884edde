import type { PaymentStatus } from './payment-types.js';

export type AuthorisationState = 'requested' | 'approved' | 'declined' | 'error' | 'in_doubt';

/**
 * Legal status changes. The lifecycle documented on `PaymentStatus`, plus `→ error`
 * from pending and capturing, which `statusForResult('internal-error')`
 * produces. A status may always stay as it is; a final status changes no more.
 */
export const PAYMENT_STATUS_TRANSITIONS: Readonly<Record<PaymentStatus, readonly PaymentStatus[]>> = {
  // → authorising: a merchant-initiated charge on a stored card has nothing to capture.
  pending: ['capturing', 'authorising', 'abandoned', 'cancelled', 'failed', 'error', 'link-sent'],
  capturing: ['authorising', 'abandoned', 'cancelled', 'failed', 'error', 'link-sent'],
  authorising: ['approved', 'declined', 'in_doubt', 'error'],
  in_doubt: ['approved', 'declined', 'error'],
  // One session, two ways to pay: the PSP's page settles it, or the caller keys the card after all (the link expired first).
  'link-sent': ['approved', 'declined', 'expired', 'cancelled', 'capturing', 'authorising', 'error'],
  approved: [],
  declined: [],
  failed: [],
  expired: [],
  abandoned: [],
  cancelled: [],
  error: [],
};

/** Legal authorisation state changes; a state may also stay as it is. */
export const AUTHORISATION_STATE_TRANSITIONS: Readonly<Record<AuthorisationState, readonly AuthorisationState[]>> = {
  requested: ['in_doubt', 'approved', 'declined', 'error'],
  in_doubt: ['approved', 'declined', 'error'],
  approved: [],
  declined: [],
  error: [],
};

/**
 * What may be done at the PSP to an approved payment after the call (Adyen's
 * "modifications"): capture an authorisation (PSP_CAPTURE=manual), refund
 * captured money, void an authorisation not captured.
 */
export type PaymentModificationKind = 'capture' | 'refund' | 'void';

/**
 * A capture, refund or void: requested → pending | succeeded | refused | error | in_doubt;
 * pending → succeeded | refused (the PSP's later answer);
 * in_doubt → pending | succeeded | refused | error (the same request sent again).
 */
export type ReversalState = 'requested' | 'pending' | 'succeeded' | 'refused' | 'error' | 'in_doubt';

/** Legal reversal state changes; a state may also stay as it is. */
export const REVERSAL_STATE_TRANSITIONS: Readonly<Record<ReversalState, readonly ReversalState[]>> = {
  requested: ['pending', 'succeeded', 'refused', 'error', 'in_doubt'],
  pending: ['succeeded', 'refused'],
  in_doubt: ['pending', 'succeeded', 'refused', 'error'],
  succeeded: [],
  refused: [],
  error: [],
};

/** Whether `from → to` is in `table`; staying in the same state is always legal. */
export function isLegalTransition<S extends string>(table: Readonly<Record<S, readonly S[]>>, from: S, to: S): boolean {
  return from === to || table[from].includes(to);
}

/**
 * A payment link sent by text message: active until the PSP's page is paid
 * (or refused), it runs out, or it is withdrawn (cancelled by the agent,
 * replaced by a resend, or expired because the caller paid by keypad).
 */
export type PaymentLinkState = 'active' | 'paid' | 'declined' | 'expired' | 'cancelled';

/** Legal payment link state changes; a state may also stay as it is. */
export const PAYMENT_LINK_STATE_TRANSITIONS: Readonly<Record<PaymentLinkState, readonly PaymentLinkState[]>> = {
  active: ['paid', 'declined', 'expired', 'cancelled'],
  paid: [],
  declined: [],
  expired: [],
  cancelled: [],
};

/**
 * A text message as its provider reports it: submitted (the provider took
 * it), sent (handed to the carrier), then delivered to the handset,
 * undelivered (the carrier gave up) or failed (never sent).
 */
export type SmsDeliveryState = 'submitted' | 'sent' | 'delivered' | 'undelivered' | 'failed';

/** Legal delivery changes; a report that would go back (a late `sent` after `delivered`) is not one. */
export const SMS_DELIVERY_TRANSITIONS: Readonly<Record<SmsDeliveryState, readonly SmsDeliveryState[]>> = {
  submitted: ['sent', 'delivered', 'undelivered', 'failed'],
  sent: ['delivered', 'undelivered', 'failed'],
  delivered: [],
  undelivered: [],
  failed: [],
};
