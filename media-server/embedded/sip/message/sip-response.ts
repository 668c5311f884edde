import { parseNameAddr } from './name-addr.js';
import { reasonPhrase } from './reason-phrases.js';
import { SipHeaders } from './sip-headers.js';
import type { SipResponse } from './sip-message.js';
import type { SipParseError } from './sip-parse-error.js';
import { SipSyntaxError } from './sip-syntax-error.js';

export interface SipResponseOptions {
  /** Default: the phrase of `status` (`reasonPhrase`). */
  readonly reason?: string;
  /**
   * Added to To when the request's To has no tag (RFC 3261 §8.2.6.2); a To
   * that has one is copied as it is. Default: no tag added.
   */
  readonly toTag?: string;
  /** Header lines to add after the copied ones (Contact, Allow, Supported…). Default none. */
  readonly headers?: Iterable<readonly [name: string, value: string]>;
  /** Default empty. */
  readonly body?: Buffer;
}

const EMPTY = Buffer.alloc(0);

function hasTag(to: string): boolean {
  try {
    return parseNameAddr(to).params.has('tag');
  } catch (err) {
    // A To too malformed to parse still gets its 400; look for the tag as text.
    if (err instanceof SipSyntaxError) return /;\s*tag\s*=/i.test(to);
    throw err;
  }
}

/**
 * Builds a response to a request as RFC 3261 §8.2.6.2 says: Via lines (all,
 * in order), From, Call-ID and CSeq copied; To copied, with the tag added
 * when it had none (the text is kept byte for byte, so its URI stays equal).
 * Any Timestamp is copied into a 100 (§8.2.6.1). Takes a parsed request or
 * the headers a `SipParseError` kept.
 */
export function createSipResponse(
  request: { readonly headers: SipHeaders },
  status: number,
  options: SipResponseOptions = {},
): SipResponse {
  const from = request.headers;
  const headers = new SipHeaders();
  for (const via of from.getLines('Via')) headers.append('Via', via);
  for (const name of ['From', 'To', 'Call-ID', 'CSeq'] as const) {
    let value = from.getLines(name)[0];
    if (value === undefined) continue;
    if (name === 'To' && options.toTag !== undefined && !hasTag(value)) value = `${value};tag=${options.toTag}`;
    headers.append(name, value);
  }
  if (status === 100) {
    const timestamp = from.getLines('Timestamp')[0];
    if (timestamp !== undefined) headers.append('Timestamp', timestamp);
  }
  for (const [name, value] of options.headers ?? []) headers.append(name, value);
  return {
    kind: 'response',
    status,
    reason: options.reason ?? reasonPhrase(status),
    headers,
    body: options.body ?? EMPTY,
  };
}

/**
 * The response to a request the parser refused: 400 (505 for another SIP
 * version) with the reason in the phrase, or undefined when the error is not
 * answerable and the message is to be dropped. The phrase names the reason
 * and header, never content.
 */
export function createParseErrorResponse(
  error: SipParseError,
  options: Pick<SipResponseOptions, 'toTag' | 'headers'> = {},
): SipResponse | undefined {
  if (!error.answerable || !error.headers) return undefined;
  const status = error.responseStatus;
  const detail = error.header ? `${error.reason}: ${error.header}` : error.reason;
  const reason = status === 400 ? `Bad Request (${detail})` : reasonPhrase(status);
  return createSipResponse({ headers: error.headers }, status, { ...options, reason });
}
