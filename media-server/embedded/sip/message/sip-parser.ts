import { parseCSeq } from './cseq.js';
import { canonicalHeaderName, headerKey } from './header-names.js';
import { parseNameAddr } from './name-addr.js';
import { isSpaceOrTab, isToken } from './sip-grammar.js';
import { SipHeaders, type ParsedHeaderField } from './sip-headers.js';
import { SIP_VERSION, type SipMessage } from './sip-message.js';
import { SipParseError, type SipParseErrorContext, type SipParseErrorReason } from './sip-parse-error.js';
import { SipSyntaxError } from './sip-syntax-error.js';
import { parseSipUri } from './sip-uri.js';
import { parseVia } from './via.js';

/** 64 KiB: the most a UDP datagram carries. */
export const DEFAULT_MAX_MESSAGE_SIZE = 65_536;
export const DEFAULT_MAX_HEADER_COUNT = 100;

export interface SipParseOptions {
  /**
   * The transport the bytes came on. Over UDP a missing Content-Length means
   * the body is the rest of the datagram; over TCP and TLS it is an error
   * (RFC 3261 §18.3). Default 'udp'.
   */
  readonly transport?: 'udp' | 'tcp' | 'tls';
  /** Larger messages are refused before a byte is read. Default 65 536 (`DEFAULT_MAX_MESSAGE_SIZE`). */
  readonly maxMessageSize?: number;
  /** More header lines than this are refused (folded lines count once). Default 100 (`DEFAULT_MAX_HEADER_COUNT`). */
  readonly maxHeaderCount?: number;
}

const CRLFCRLF = Buffer.from('\r\n\r\n', 'latin1');
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
/** CTL characters other than HTAB: no rule of the header grammar allows them (RFC 3261 §25.1). */
const CONTROL = /[\x00-\x08\x0a-\x1f\x7f]/;
/** The headers a message may carry once only (RFC 3261 §7.3.1: only list headers may repeat). */
const SINGLE_HEADERS = ['call-id', 'cseq', 'from', 'to', 'max-forwards', 'content-length', 'content-type'] as const;
/** RFC 3261 §8.1.1 and §20 table 2: mandatory in every request and response (Max-Forwards is tolerated missing). */
const MANDATORY_HEADERS = ['Via', 'From', 'To', 'Call-ID', 'CSeq'] as const;

interface StartLine {
  readonly kind: 'request' | 'response' | undefined;
  readonly method?: string | undefined;
  readonly uri?: string | undefined;
  readonly status?: number | undefined;
  readonly reason?: string | undefined;
  readonly error?: { reason: SipParseErrorReason; detail: string } | undefined;
}

function readStartLine(line: string): StartLine {
  if (CONTROL.test(line)) return { kind: undefined, error: { reason: 'invalid-start-line', detail: 'control character' } };
  if (line.slice(0, 4).toUpperCase() === 'SIP/') return readStatusLine(line);
  const parts = line.split(' ');
  if (parts.length !== 3 || parts.some((p) => p.length === 0)) {
    return { kind: undefined, error: { reason: 'invalid-start-line', detail: 'not "Method SP Request-URI SP SIP-Version"' } };
  }
  const [method, uri, version] = parts as [string, string, string];
  const validMethod = isToken(method);
  const request = { kind: 'request' as const, method: validMethod ? method : undefined, uri };
  // RFC 3261 §7.1: the version string is case-insensitive.
  if (version.toUpperCase() !== SIP_VERSION) {
    const error = /^SIP\/\d+\.\d+$/i.test(version)
      ? { reason: 'unsupported-version' as const, detail: 'only SIP/2.0 is supported' }
      : { reason: 'invalid-start-line' as const, detail: 'malformed SIP-Version' };
    return { ...request, error };
  }
  if (!validMethod) return { ...request, error: { reason: 'invalid-method', detail: 'method is not a token' } };
  const uriError = requestUriError(uri);
  if (uriError) return { ...request, error: { reason: 'invalid-request-uri', detail: uriError } };
  return request;
}

function requestUriError(uri: string): string | undefined {
  const colon = uri.indexOf(':');
  if (colon <= 0 || colon === uri.length - 1 || !isToken(uri.slice(0, colon))) return 'not an absolute URI';
  const scheme = uri.slice(0, colon).toLowerCase();
  if (scheme !== 'sip' && scheme !== 'sips') return undefined;
  try {
    parseSipUri(uri);
    return undefined;
  } catch (err) {
    if (err instanceof SipSyntaxError) return err.message;
    throw err;
  }
}

function readStatusLine(line: string): StartLine {
  const space = line.indexOf(' ');
  const version = space === -1 ? line : line.slice(0, space);
  if (version.toUpperCase() !== SIP_VERSION) {
    const reason = /^SIP\/\d+\.\d+$/i.test(version) ? 'unsupported-version' : 'invalid-start-line';
    return { kind: 'response', error: { reason, detail: 'status line version is not SIP/2.0' } };
  }
  const code = line.slice(space + 1, space + 4);
  const after = line.charCodeAt(space + 4);
  if (space === -1 || !/^[1-6]\d\d$/.test(code) || !(Number.isNaN(after) || after === 0x20)) {
    return { kind: 'response', error: { reason: 'invalid-status-code', detail: 'Status-Code is not 100 to 699' } };
  }
  return { kind: 'response', status: Number(code), reason: line.slice(space + 5) };
}

/**
 * Parses one whole SIP message (RFC 3261 §7) from a datagram or from what
 * `SipStreamFramer` cut out of a stream. Strict: anything malformed throws
 * a `SipParseError` saying why and, for a request, whether and how to answer
 * it. Limits are checked before the work they bound. The body is a view into
 * `buf`, not a copy.
 */
export function parseSipMessage(buf: Buffer, options: SipParseOptions = {}): SipMessage {
  const maxSize = options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
  const maxHeaders = options.maxHeaderCount ?? DEFAULT_MAX_HEADER_COUNT;
  const stream = options.transport === 'tcp' || options.transport === 'tls';
  if (buf.length > maxSize) throw new SipParseError('message-too-large', `${buf.length} bytes, limit ${maxSize}`);

  // RFC 3261 §7.5: CRLFs before the start line are ignored.
  let start = 0;
  while (start + 1 < buf.length && buf[start] === 0x0d && buf[start + 1] === 0x0a) start += 2;
  if (start >= buf.length) throw new SipParseError('empty-message', 'no start line');
  const headerEnd = buf.indexOf(CRLFCRLF, start);
  if (headerEnd === -1) throw new SipParseError('missing-header-end', 'no empty line after the headers');
  const head = buf.subarray(start, headerEnd);
  if (head.indexOf(0) !== -1) throw new SipParseError('nul-byte', 'NUL in the start line or headers');
  let text: string;
  try {
    // RFC 3261 §7.3.1: header text is UTF-8 (TEXT-UTF8char).
    text = UTF8.decode(head);
  } catch {
    throw new SipParseError('invalid-utf8', 'start line or headers are not valid UTF-8');
  }

  const lines = text.split('\r\n');
  const startLine = readStartLine(lines[0] as string);
  const fields: ParsedHeaderField[] = [];
  const context = (header?: string): SipParseErrorContext => ({
    isRequest: startLine.kind === undefined ? undefined : startLine.kind === 'request',
    method: startLine.method,
    headers: SipHeaders.fromParsed(fields),
    header,
  });

  // A bad header line is remembered and the rest still read, so a 400 can copy Via, From, To, Call-ID and CSeq.
  let lineError: string | undefined;
  let current: ParsedHeaderField | undefined;
  for (let n = 1; n < lines.length; n++) {
    const line = lines[n] as string;
    if (CONTROL.test(line)) {
      lineError ??= `header line ${n} holds a control character`;
      current = undefined;
      continue;
    }
    // RFC 3261 §7.3.1: a line starting with whitespace continues the previous one; the fold counts as one SP.
    if (isSpaceOrTab(line.charCodeAt(0))) {
      if (current) {
        const more = line.trim();
        if (more.length > 0) current.value = current.value.length > 0 ? `${current.value} ${more}` : more;
      } else {
        lineError ??= `header line ${n} continues nothing`;
      }
      continue;
    }
    if (fields.length >= maxHeaders) {
      throw new SipParseError('too-many-headers', `more than ${maxHeaders} header lines`, context());
    }
    const colon = line.indexOf(':');
    // RFC 3261 §7.3.1 HCOLON: whitespace may come between the name and the colon.
    const name = colon === -1 ? '' : line.slice(0, colon).trimEnd();
    if (!isToken(name)) {
      lineError ??= `header line ${n} is not "name: value"`;
      current = undefined;
      continue;
    }
    current = { name: canonicalHeaderName(name), key: headerKey(name), value: line.slice(colon + 1).trim() };
    fields.push(current);
  }

  if (startLine.error) throw new SipParseError(startLine.error.reason, startLine.error.detail, context());
  if (startLine.kind === undefined) throw new SipParseError('invalid-start-line', 'unrecognised start line', context());
  if (lineError) throw new SipParseError('invalid-header-line', lineError, context());

  const headers = SipHeaders.fromParsed(fields);
  const counts = new Map<string, number>();
  for (const field of fields) counts.set(field.key, (counts.get(field.key) ?? 0) + 1);
  for (const name of MANDATORY_HEADERS) {
    if (!counts.has(headerKey(name))) throw new SipParseError('missing-header', 'mandatory header missing', context(name));
  }
  for (const key of SINGLE_HEADERS) {
    if ((counts.get(key) ?? 0) > 1) {
      throw new SipParseError('duplicate-header', 'header may appear once only', context(canonicalHeaderName(key)));
    }
  }

  const invalid = (header: string, detail: string): SipParseError =>
    new SipParseError('invalid-header-value', detail, context(header));
  const cseqValue = headers.get('CSeq') as string;
  let cseqMethod: string;
  try {
    cseqMethod = parseCSeq(cseqValue).method;
  } catch (err) {
    if (err instanceof SipSyntaxError) throw new SipParseError('invalid-cseq', err.message, context('CSeq'));
    throw err;
  }
  // RFC 3261 §8.1.1.5: the CSeq method MUST match that of the request.
  if (startLine.kind === 'request' && cseqMethod !== startLine.method) {
    throw new SipParseError('cseq-method-mismatch', 'CSeq method differs from the request method', context('CSeq'));
  }
  try {
    const vias = headers.getAll('Via');
    if (vias.length === 0) throw invalid('Via', 'empty Via');
    for (const via of vias) parseVia(via);
  } catch (err) {
    if (err instanceof SipSyntaxError) throw invalid('Via', err.message);
    throw err;
  }
  for (const name of ['From', 'To'] as const) {
    try {
      parseNameAddr(headers.get(name) as string);
    } catch (err) {
      if (err instanceof SipSyntaxError) throw invalid(name, err.message);
      throw err;
    }
  }
  // RFC 3261 §25.1: Call-ID = word [ "@" word ], no whitespace.
  const callId = headers.get('Call-ID') as string;
  if (callId.length === 0 || /\s/.test(callId)) throw invalid('Call-ID', 'empty or holds whitespace');
  const maxForwards = headers.get('Max-Forwards');
  // RFC 3261 §20.22: Max-Forwards is an integer from 0 to 255.
  if (maxForwards !== undefined && !(/^\d{1,3}$/.test(maxForwards) && Number(maxForwards) <= 255)) {
    throw invalid('Max-Forwards', 'not an integer from 0 to 255');
  }

  const bodyStart = headerEnd + 4;
  const available = buf.length - bodyStart;
  const contentLength = headers.get('Content-Length');
  let length: number;
  if (contentLength === undefined) {
    if (stream) throw new SipParseError('missing-content-length', 'required over stream transports', context('Content-Length'));
    length = available;
  } else {
    if (!/^\d{1,10}$/.test(contentLength)) {
      throw new SipParseError('invalid-content-length', 'not a decimal number', context('Content-Length'));
    }
    length = Number(contentLength);
    // RFC 3261 §18.3: a body cut short is an error; bytes past Content-Length are discarded.
    if (length > available) {
      throw new SipParseError(
        'body-shorter-than-content-length',
        `Content-Length ${length}, ${available} bytes of body`,
        context('Content-Length'),
      );
    }
  }
  const body = buf.subarray(bodyStart, bodyStart + length);

  if (startLine.kind === 'request') {
    return {
      kind: 'request',
      method: startLine.method as string,
      uri: startLine.uri as string,
      headers,
      body,
    };
  }
  return { kind: 'response', status: startLine.status as number, reason: startLine.reason as string, headers, body };
}
