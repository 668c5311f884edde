import type { SipHeaders } from './sip-headers.js';

/** Why a message was refused, for counters, logs and the 400's reason phrase. */
export type SipParseErrorReason =
  | 'message-too-large'
  | 'empty-message'
  | 'missing-header-end'
  | 'nul-byte'
  | 'invalid-utf8'
  | 'invalid-start-line'
  | 'unsupported-version'
  | 'invalid-method'
  | 'invalid-request-uri'
  | 'invalid-status-code'
  | 'invalid-header-line'
  | 'too-many-headers'
  | 'missing-header'
  | 'duplicate-header'
  | 'invalid-header-value'
  | 'invalid-cseq'
  | 'cseq-method-mismatch'
  | 'invalid-content-length'
  | 'missing-content-length'
  | 'body-shorter-than-content-length';

/** What the parser had read of the message when it gave up. */
export interface SipParseErrorContext {
  /** True for a request line, false for a status line, undefined when the start line said neither. */
  readonly isRequest?: boolean | undefined;
  readonly method?: string | undefined;
  /** Every well-formed header line read, when the header section could be read at all. */
  readonly headers?: SipHeaders | undefined;
  /** Canonical name of the header at fault, for the header-specific reasons. */
  readonly header?: string | undefined;
}

/** The headers a response needs to reach and match its request (RFC 3261 §8.2.6.2). */
const RESPONSE_HEADERS = ['Via', 'From', 'To', 'Call-ID', 'CSeq'] as const;

/**
 * A SIP message that breaks RFC 3261 syntax or this stack's limits. The
 * message names the reason and at most a header name, never content: a
 * message may carry caller data (an INFO body is a key press).
 */
export class SipParseError extends Error {
  override readonly name = 'SipParseError';
  readonly reason: SipParseErrorReason;
  readonly isRequest: boolean | undefined;
  readonly method: string | undefined;
  readonly headers: SipHeaders | undefined;
  readonly header: string | undefined;
  /**
   * A request whose Via, From, To, Call-ID and CSeq were read, so a response
   * can be built and routed; never an ACK, which gets no response
   * (RFC 3261 §17.2.1). Otherwise the message is dropped.
   */
  readonly answerable: boolean;
  /** The status to answer with: 505 for another SIP version (RFC 3261 §21.5.7), else 400. */
  readonly responseStatus: 400 | 505;

  constructor(reason: SipParseErrorReason, detail: string, context: SipParseErrorContext = {}) {
    super(context.header ? `${reason} (${context.header}): ${detail}` : `${reason}: ${detail}`);
    this.reason = reason;
    this.isRequest = context.isRequest;
    this.method = context.method;
    this.headers = context.headers;
    this.header = context.header;
    const headers = context.headers;
    this.answerable =
      context.isRequest === true &&
      context.method !== 'ACK' &&
      headers !== undefined &&
      RESPONSE_HEADERS.every((name) => headers.has(name)) &&
      !/\sACK\s*$/.test(headers.get('CSeq') ?? '');
    this.responseStatus = reason === 'unsupported-version' ? 505 : 400;
  }
}
