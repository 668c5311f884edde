/** What a header-value helper was reading when it failed. */
export type SipSyntaxKind = 'uri' | 'name-addr' | 'via' | 'cseq' | 'params' | 'challenge';

/**
 * A header value or URI that does not follow the RFC 3261 §25.1 grammar,
 * thrown by the value helpers (`parseSipUri`, `parseNameAddr`, `parseVia`,
 * `parseCSeq`). The message carries no part of the input: values can hold
 * caller data.
 */
export class SipSyntaxError extends Error {
  override readonly name = 'SipSyntaxError';
  readonly kind: SipSyntaxKind;

  constructor(kind: SipSyntaxKind, message: string) {
    super(`${kind}: ${message}`);
    this.kind = kind;
  }
}
