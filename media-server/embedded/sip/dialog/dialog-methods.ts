/** The methods this user agent implements, for Allow (RFC 3261 §20.5) and for 405 vs 501. */
export const ALLOWED_METHODS = ['INVITE', 'ACK', 'CANCEL', 'BYE', 'OPTIONS', 'INFO', 'REFER', 'NOTIFY'] as const;

/** Allow header value. */
export const ALLOW_HEADER = ALLOWED_METHODS.join(', ');

/**
 * Methods we know but do not implement: RFC 3261 §8.2.1 — "If the UAS
 * recognizes but does not support the method of a request, it MUST generate
 * a 405 (Method Not Allowed) response" with Allow. Anything else unknown
 * gets 501 (§21.5.2).
 */
export const KNOWN_UNSUPPORTED_METHODS: ReadonlySet<string> = new Set([
  'REGISTER',
  'SUBSCRIBE',
  'PUBLISH',
  'MESSAGE',
  'UPDATE',
  'PRACK',
]);
