import type { SmsDeliveryState } from '../domain/payment-lifecycle.js';

/** One text message: an E.164 number and the text. */
export interface TextMessage {
  /** E.164 (`+447400123456`), as phone-number.ts normalises it. */
  readonly to: string;
  readonly body: string;
  /** The payment session it is about (kept in the outbox; Vonage gets it as client-ref). */
  readonly sessionId?: string;
  /** The payment link it carries (kept in the outbox), if it does. */
  readonly linkId?: string;
}

export interface SentMessage {
  /** The provider's id of the message (Twilio `SM…`, Vonage message-id, sandbox `sms_…`). */
  readonly messageId: string;
}

export interface SmsSendOptions {
  readonly signal?: AbortSignal;
}

/**
 * A provider's word on a message it took, from a verified status callback
 * (Twilio) or delivery receipt (Vonage), in our words: `state` undefined when
 * the provider's status changes nothing here (queued, sending, unknown…).
 */
export interface SmsDeliveryReport {
  readonly provider: string;
  readonly messageId: string;
  readonly state: Exclude<SmsDeliveryState, 'submitted'> | undefined;
  /** The provider's error code (Twilio ErrorCode, Vonage err-code) with `undelivered` or `failed`. */
  readonly errorCode?: string;
}

/**
 * A status callback or delivery receipt refused before anything in it was
 * read: not signed, signed with another key, too old, or not shaped as the
 * provider sends them. Neither the body nor any part of it is kept.
 */
export class SmsCallbackError extends Error {
  override readonly name = 'SmsCallbackError';
  constructor(readonly reason: 'no-signature' | 'bad-signature' | 'stale' | 'bad-request') {
    super(`SMS delivery callback refused: ${reason}`);
  }
}

/**
 * The SMS port. Adapters: Twilio Messages, Vonage SMS, and the sandbox
 * outbox (the store, readable through the API). Chosen by SMS_PROVIDER.
 */
export interface SmsSender {
  readonly name: string;
  /** @throws SmsSendError (refused, provider down, or no answer in time) */
  send(message: TextMessage, options?: SmsSendOptions): Promise<SentMessage>;
}

/**
 * A message that did not go: `code` says why (the provider's error code,
 * `http-5xx`, `timeout`), never the message or the number.
 */
export class SmsSendError extends Error {
  override readonly name = 'SmsSendError';
  constructor(
    readonly code: string,
    readonly retryable: boolean,
  ) {
    super(`text message not sent: ${code}`);
  }
}
