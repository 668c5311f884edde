import type { DtmfMethod } from '../../media-server/media-server-port.js';
import type { CaptureErrorType, CardField, EntryMode, PaymentResult, PaymentStatus } from '../../domain/payment-types.js';

/**
 * How a payment call ended, for monitoring: the flow's result, or
 * `unknown-session` for a transfer whose session code was unknown, expired
 * or taken (answered, told so and hung up without a payment).
 */
export type CallOutcome = PaymentResult | 'unknown-session';

/**
 * What the payment IVR tells monitoring about its calls. Every argument is
 * one of a few fixed words (or a duration): never card data, a reference, a
 * session or call id, or anything else a caller could make unbounded.
 * app/metrics.ts implements it with Prometheus; `NO_CALL_METRICS` is the
 * default.
 */
export interface CallMetrics {
  /** A call was answered (its payment flow starts, or the caller hears the session is unknown). */
  callStarted(mode: EntryMode): void;
  /** The call's payment flow released it: each started call ends once. */
  callEnded(mode: EntryMode, outcome: CallOutcome): void;
  /** A key press of the caller, by how it was detected. */
  dtmf(method: DtmfMethod): void;
  /** The caller was first asked for the card number (the conversion rate's denominator). */
  cardPromptReached(mode: EntryMode): void;
  /** A keyed card field was refused. */
  fieldError(field: CardField, error: CaptureErrorType): void;
  /** A key pressed while no field was being collected (before its prompt): masked and discarded. */
  keyDiscarded(mode: EntryMode): void;
  /** A payment session's status when its call ended (approved, declined, in_doubt, abandoned...). */
  paymentEnded(mode: EntryMode, status: PaymentStatus): void;
  /** From the call's answer to the PSP's approval. */
  timeToPay(mode: EntryMode, seconds: number): void;
}

/** Counts nothing. */
export const NO_CALL_METRICS: CallMetrics = {
  callStarted: () => undefined,
  callEnded: () => undefined,
  dtmf: () => undefined,
  cardPromptReached: () => undefined,
  fieldError: () => undefined,
  keyDiscarded: () => undefined,
  paymentEnded: () => undefined,
  timeToPay: () => undefined,
};
