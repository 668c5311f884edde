import { isToken } from './sip-grammar.js';
import { SIP_VERSION, type SipMessage } from './sip-message.js';

/** A message that cannot be written as given (it would not parse, or would inject lines). */
export class SipSerializeError extends Error {
  override readonly name = 'SipSerializeError';
}

/** CR, LF and NUL in a value would end the line early: header injection. */
const LINE_BREAKING = /[\r\n\0]/;

/**
 * Writes a message as RFC 3261 §7 text: start line, headers in order under
 * their full names, an empty line, the body. Content-Length is always the
 * body's length (RFC 3261 §18.3 framing depends on it): a stale value is
 * replaced where it stands, a missing one is added last.
 */
export function serializeSipMessage(message: SipMessage): Buffer {
  let head: string;
  if (message.kind === 'request') {
    if (!isToken(message.method)) throw new SipSerializeError('method is not a token');
    if (message.uri.length === 0 || /[\s\0]/.test(message.uri)) throw new SipSerializeError('Request-URI empty or holds whitespace');
    head = `${message.method} ${message.uri} ${SIP_VERSION}\r\n`;
  } else {
    if (!Number.isInteger(message.status) || message.status < 100 || message.status > 699) {
      throw new SipSerializeError('status is not 100 to 699');
    }
    if (LINE_BREAKING.test(message.reason)) throw new SipSerializeError('reason phrase holds a line break');
    head = `${SIP_VERSION} ${message.status} ${message.reason}\r\n`;
  }

  const length = String(message.body.length);
  let wroteLength = false;
  for (const { name, value } of message.headers) {
    if (name === 'Content-Length') {
      if (!wroteLength) head += `Content-Length: ${length}\r\n`;
      wroteLength = true;
      continue;
    }
    if (!isToken(name)) throw new SipSerializeError('header name is not a token');
    if (LINE_BREAKING.test(value)) throw new SipSerializeError(`${name} value holds a line break`);
    head += `${name}: ${value}\r\n`;
  }
  if (!wroteLength) head += `Content-Length: ${length}\r\n`;
  head += '\r\n';

  const headLength = Buffer.byteLength(head, 'utf8');
  const out = Buffer.allocUnsafe(headLength + message.body.length);
  out.write(head, 0, 'utf8');
  message.body.copy(out, headLength);
  return out;
}
