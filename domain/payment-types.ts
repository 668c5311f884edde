/**
 * The payment domain's shared vocabulary. Everything below the flow (vault, psp,
 * store, order lookup) speaks in these words; none of them carries card data.
 */

/** ISO 4217 alphabetic code, upper case (e.g. "EUR"). */
export type CurrencyCode = string;

/** An amount in the currency's minor unit (cents, pence). */
export interface Money {
  readonly amountMinor: number;
  readonly currency: CurrencyCode;
}

/** How a payment session entered the IVR (ARCHITECTURE.md "Call entry modes"). */
export type EntryMode = 'direct' | 'agent-assisted';

/**
 * How a payment came to be: on a call (its EntryMode), charged by the merchant
 * on a stored card with no one on the line, or paid on the PSP's own page from
 * a link sent by text message (`link`: made for that, no call expected).
 */
export type PaymentMode = EntryMode | 'merchant-initiated' | 'link';

/** The card fields a caller keys. Only the vault ever holds their digits. */
export type CardField = 'card-number' | 'expiry' | 'security-code';
export const CARD_FIELDS: readonly CardField[] = ['card-number', 'expiry', 'security-code'];

/** Why a captured field was refused; each has its own prompt (Twilio <Pay> error types). */
export type CaptureErrorType =
  | 'invalid-card-number'
  | 'invalid-card-type'
  | 'invalid-date'
  | 'invalid-security-code'
  | 'input-timeout'
  | 'input-matching-failed';

/**
 * Lifecycle of a payment session as stored and reported by the API.
 *
 * pending → capturing → authorising → approved | declined | in_doubt | error
 * pending → authorising   (merchant-initiated: a stored card, nothing to capture)
 * pending | capturing → abandoned | cancelled | failed
 * in_doubt → approved | declined | error   (reconciliation)
 * pending | capturing → link-sent → approved | declined | expired | cancelled   (paid on the PSP's page)
 * link-sent → capturing | authorising   (the caller keys the card after all: the link is expired at the PSP first)
 */
export type PaymentStatus =
  | 'pending'
  | 'capturing'
  | 'authorising'
  | 'approved'
  | 'declined'
  | 'failed'
  | 'abandoned'
  | 'cancelled'
  | 'in_doubt'
  | 'error'
  /** A payment link went to the caller by text message; the PSP's page has not answered yet. */
  | 'link-sent'
  /** The payment link ran out (or was withdrawn) unpaid. */
  | 'expired';

export const FINAL_PAYMENT_STATUSES: readonly PaymentStatus[] = [
  'approved',
  'declined',
  'failed',
  'abandoned',
  'cancelled',
  'error',
  'expired',
];

/** How a payment flow ended (the flow's own result, mapped onto a PaymentStatus). */
export type PaymentResult =
  | 'approved'
  | 'declined'
  | 'too-many-failed-attempts'
  | 'caller-hung-up'
  | 'cancelled'
  /** Direct pay: the order keyed was paid already; nothing was taken. */
  | 'already-paid'
  | 'psp-error'
  | 'in-doubt'
  | 'internal-error'
  /** The caller chose to pay on the PSP's page: the link went out by text message, the call ends. */
  | 'link-sent';

export function statusForResult(result: PaymentResult): PaymentStatus {
  switch (result) {
    case 'approved':
      return 'approved';
    case 'declined':
      return 'declined';
    case 'too-many-failed-attempts':
      return 'failed';
    case 'caller-hung-up':
      return 'abandoned';
    case 'cancelled':
    case 'already-paid':
      return 'cancelled';
    case 'psp-error':
    case 'internal-error':
      return 'error';
    case 'in-doubt':
      return 'in_doubt';
    case 'link-sent':
      return 'link-sent';
  }
}

/** A PSP's reason for refusing a card, normalised across providers. */
export type DeclineReason =
  | 'generic-decline'
  | 'insufficient-funds'
  | 'expired-card'
  | 'incorrect-security-code'
  | 'card-not-supported'
  | 'fraud-suspected'
  | 'do-not-honour';
