import type { DtmfKey } from '../../domain/dtmf-key.js';
import type { CardBrand } from '../../domain/card-brand.js';
import type {
  CaptureErrorType,
  CardField,
  DeclineReason,
  EntryMode,
  PaymentResult,
} from '../../domain/payment-types.js';
import type { Order, OrderLookupResult } from '../orders/order-lookup-port.js';

/**
 * States of one payment flow. Legal moves are in TRANSITIONS (payment-flow.ts).
 *
 * - idle: created, call not yet started
 * - collecting-reference: direct pay, the caller keys an order reference
 * - looking-up-order: waiting for the order lookup port
 * - confirming-amount: optional "press 1 to confirm the amount"
 * - securing: the secure window is opening (recording pause asked); waits for the recorder's ack before the
 *   prompt, while keys go to the field it is for (typed ahead)
 * - collecting-card: one card field at a time (the context says which)
 * - confirming-card: optional "card ending 1111, press 1 to confirm, 2 to re-enter"
 * - offering-link: direct pay, "press 9 for a payment link by text message" (after the amount, or after too many card attempts)
 * - confirming-link-number: the caller's number's last digits read back, 1 to send there, 2 not to
 * - sending-link: waiting for the link service (PSP link made, text message sent)
 * - awaiting-agent: agent-assisted, waiting for the agent's next command
 * - authorising: waiting for the PSP
 * - ended: the result is known; final prompts may still be playing
 */
export type FlowState =
  | 'idle'
  | 'collecting-reference'
  | 'looking-up-order'
  | 'confirming-amount'
  | 'securing'
  | 'collecting-card'
  | 'confirming-card'
  | 'offering-link'
  | 'confirming-link-number'
  | 'sending-link'
  | 'awaiting-agent'
  | 'authorising'
  | 'ended';


export type TimerName = 'first-digit' | 'inter-digit' | 'recorder';

/**
 * The secure window of one capture: from the first card prompt until the
 * card is complete (authorisation starts) or the flow ends, whatever the
 * agent does between fields. Recording is paused (and, where configured, the
 * caller muted for the agent) the whole time.
 *
 * closed → opening (pause asked) → open (recorder confirmed) → closed
 */
export type SecureWindowState = 'closed' | 'opening' | 'open';

/** What the agent (or a CTI system) asks of an agent-assisted flow. */
export type AgentCommand =
  | { readonly type: 'capture'; readonly field: CardField }
  | { readonly type: 'recapture'; readonly field: CardField }
  | { readonly type: 'cancel' }
  | { readonly type: 'complete' };

export type AuthorisationOutcomeEvent =
  /** `spokenReference`: the short payment reference read back to the caller. */
  | { readonly kind: 'approved'; readonly pspReference: string; readonly spokenReference: string }
  | { readonly kind: 'declined'; readonly reason: DeclineReason }
  | { readonly kind: 'error'; readonly code: string }
  | { readonly kind: 'in-doubt' };

/** Everything that can happen to a flow. Time arrives only as timer events. */
export type FlowEvent =
  | { readonly type: 'start' }
  | { readonly type: 'digit'; readonly key: DtmfKey }
  | { readonly type: 'prompt-finished'; readonly playId: number }
  | { readonly type: 'timer-expired'; readonly token: number }
  | { readonly type: 'order-lookup-result'; readonly result: OrderLookupResult }
  | { readonly type: 'recording-paused' }
  | { readonly type: 'recording-pause-failed'; readonly reason: string }
  | { readonly type: 'agent-command'; readonly command: AgentCommand }
  | { readonly type: 'authorisation-result'; readonly outcome: AuthorisationOutcomeEvent }
  /** The link service's answer to `send-link`: sent, or not (bad number, PSP or SMS provider down). */
  | { readonly type: 'link-send-result'; readonly sent: boolean }
  | { readonly type: 'hangup' };

/** Prompt identifiers; each language's catalogue has a recording for every one. */
export type PromptId =
  | 'welcome'
  | 'enter-reference'
  | 'unknown-reference'
  | 'reference-timeout'
  | 'order-service-unavailable'
  /** Direct pay: the order has an approved payment and takes no partial payments. */
  | 'order-already-paid'
  | 'amount-is'
  | 'confirm-amount'
  | 'agent-capture-intro'
  | 'enter-card-number'
  | 'enter-expiry'
  | 'enter-security-code'
  | 'enter-security-code-amex'
  | 'field-restarted'
  | 'error-invalid-card-number'
  | 'error-invalid-card-type'
  | 'error-invalid-date'
  | 'error-invalid-security-code'
  | 'error-input-timeout'
  | 'error-input-matching-failed'
  | 'confirm-card-ending'
  | 'confirm-card-keys'
  | 'please-wait'
  | 'payment-approved'
  | 'your-payment-reference-is'
  | 'payment-declined'
  | 'payment-declined-insufficient-funds'
  | 'payment-error'
  | 'payment-in-doubt'
  | 'too-many-attempts'
  | 'payment-cancelled'
  | 'goodbye'
  /** Direct pay, after the amount or too many card attempts: "press 9 for a payment link by text message". */
  | 'link-offer'
  /** After the amount, beside the offer: "press 1 to pay by card on the keypad". */
  | 'link-offer-keypad'
  /** "We will text the link to your number ending", then its last digits. */
  | 'link-confirm-number'
  | 'link-confirm-keys'
  | 'link-on-its-way'
  | 'link-not-sent'
  /** Agent-assisted: the code dialled matches no session waiting for its caller (said by the IVR, not the flow). */
  | 'unknown-session';

/** One thing to say: a recorded prompt, or a value spoken by concatenation. */
export type PromptItem =
  | { readonly prompt: PromptId }
  | { readonly say: 'amount'; readonly amountMinor: number; readonly currency: string }
  /** Read out one character at a time (digits and letters). */
  | { readonly say: 'characters'; readonly value: string };

/**
 * Masked progress (ARCHITECTURE.md "Masked progress events"): what an agent
 * may see. By construction no variant has room for a card digit other than
 * the last four of a complete PAN.
 */
export type ProgressEvent =
  | { readonly type: 'field-started'; readonly field: CardField; readonly attempt: number }
  | { readonly type: 'digit-entered'; readonly field: CardField; readonly count: number }
  | { readonly type: 'field-restarted'; readonly field: CardField }
  | {
      readonly type: 'field-complete';
      readonly field: CardField;
      readonly valid: true;
      readonly brand?: CardBrand;
      readonly last4?: string;
    }
  | {
      readonly type: 'field-error';
      readonly field: CardField;
      readonly error: CaptureErrorType;
      readonly attempt: number;
      readonly attemptsLeft: number;
    }
  | { readonly type: 'waiting-for-recorder'; readonly reason: string }
  /** The secure window is open: recording paused, card prompts may play. */
  | { readonly type: 'secure-on' }
  /** The secure window closed: the card is complete, or the payment ended. */
  | { readonly type: 'secure-off' }
  /**
   * The caller keyed while no field was being captured: the key was discarded
   * (never stored, never forwarded); `count` keys so far in this session.
   */
  | { readonly type: 'keyed-early'; readonly count: number }
  | { readonly type: 'waiting-for-agent' }
  | { readonly type: 'authorising' }
  | { readonly type: 'approved'; readonly pspReference: string }
  | { readonly type: 'declined'; readonly reason: DeclineReason }
  | { readonly type: 'caller-hung-up' }
  | { readonly type: 'ended'; readonly result: PaymentResult }
  // Call events of an agent-assisted session (from the IVR, not the flow):
  /** The caller's transfer reached the IVR and was answered. */
  | { readonly type: 'caller-connected' }
  /** The agent's phone answered the call-back and is bridged to the caller. */
  | { readonly type: 'agent-connected' }
  /** The agent could not be called back: the caller goes on alone. */
  | { readonly type: 'agent-unavailable'; readonly reason: AgentUnavailableReason }
  | { readonly type: 'agent-hung-up' }
  // Payment links (from the link service, not the flow):
  /** A link to the PSP's page went out by text message to the number ending `phoneEnding`. */
  | { readonly type: 'link-sent'; readonly expiresAt: string; readonly phoneEnding: string }
  /** The link ran out unpaid, or was closed at the PSP because the caller paid by keypad. */
  | { readonly type: 'link-expired'; readonly reason: 'timed-out' | 'paid-by-keypad' }
  /** The agent withdrew the link (or a resend replaced it). */
  | { readonly type: 'link-cancelled' }
  /** No link went out: a bad number, the PSP or the SMS provider refused or did not answer. */
  | { readonly type: 'link-failed'; readonly reason: string }
  /**
   * The SMS provider's delivery report on a text of the session (`link`: it
   * carried the payment link, else a receipt): delivered to the handset, or
   * not, with the provider's error code.
   */
  | { readonly type: 'sms-delivery'; readonly state: 'delivered' | 'undelivered' | 'failed'; readonly errorCode?: string; readonly phoneEnding: string; readonly link: boolean };

export type AgentUnavailableReason = 'no-agent-uri' | 'rejected' | 'no-answer' | 'failed';

/** What the flow asks its runtime to do, in order. */
export type FlowEffect =
  | { readonly type: 'play'; readonly playId: number; readonly items: readonly PromptItem[]; readonly bargeIn: boolean }
  | { readonly type: 'stop-playback' }
  | { readonly type: 'start-timer'; readonly timer: TimerName; readonly ms: number; readonly token: number }
  | { readonly type: 'cancel-timer' }
  /**
   * Key presses masked towards every other party and in our recording: on
   * when the caller joins the session, off when the flow hands the call back.
   */
  | { readonly type: 'mask'; readonly on: boolean }
  /** The secure window opened or closed (see SecureWindowState). */
  | { readonly type: 'secure-window'; readonly on: boolean }
  | { readonly type: 'recording'; readonly action: 'pause' | 'resume' }
  | { readonly type: 'lookup-order'; readonly reference: string }
  | { readonly type: 'order-confirmed'; readonly order: Order }
  | { readonly type: 'capture-attempt'; readonly field: CardField; readonly attempt: number; readonly outcome: 'accepted' | CaptureErrorType }
  | { readonly type: 'authorise' }
  /** Send the session's payment link by text message to the caller's number (the caller confirmed its last digits). */
  | { readonly type: 'send-link' }
  | { readonly type: 'discard-card' }
  | { readonly type: 'progress'; readonly event: ProgressEvent }
  | { readonly type: 'end'; readonly result: PaymentResult }
  /** Final prompts are done: hang up (direct) or hand the call back (agent-assisted). */
  | { readonly type: 'release' };

export interface PaymentFlowOptions {
  readonly mode: EntryMode;
  /** The order being paid; required for agent-assisted sessions, found by reference in direct pay. */
  readonly order?: Order;
  /** Tries per field (and for the reference) before the flow gives up. Default 3. */
  readonly maxAttempts?: number;
  /** Silence allowed after a prompt before the first key. Default 10 000 ms. */
  readonly firstDigitTimeoutMs?: number;
  /** Silence allowed between keys; when it runs out the field is checked as keyed. Default 5 000 ms. */
  readonly interDigitTimeoutMs?: number;
  /** Ask "card ending 1111, press 1 to confirm, 2 to re-enter". Default false. */
  readonly confirmCard?: boolean;
  /** Ask the caller to confirm the amount before the card number (direct pay). Default false. */
  readonly confirmAmount?: boolean;
  /** Agent-assisted: capture every field in turn without waiting for the agent. Default true. */
  readonly autoCapture?: boolean;
  /** Longest order reference a caller may key. Default 20. */
  readonly maxReferenceLength?: number;
  /** How long to wait for the recorder to confirm its pause before giving up. Default 30 000 ms. */
  readonly recorderTimeoutMs?: number;
  /**
   * Direct pay: the caller's number is a mobile, so a payment link by text
   * message may be offered; `phoneEnding` (its last digits, never the whole
   * number) is read back for the caller to confirm. Default: no offer.
   */
  readonly linkOffer?: { readonly phoneEnding: string };
}
