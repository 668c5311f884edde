/** One text message: an E.164 number and the text. */
export interface TextMessage {
  /** E.164 (`+447400123456`), as phone-number.ts normalises it. */
  readonly to: string;
  readonly body: string;
  /** The payment session it is about (the sandbox outbox keeps it; providers get no part of it). */
  readonly sessionId?: string;
}

export interface SentMessage {
  /** The provider's id of the message (Twilio `SM…`, Vonage message-id, sandbox `sms_…`). */
  readonly messageId: string;
}

export interface SmsSendOptions {
  readonly signal?: AbortSignal;
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
