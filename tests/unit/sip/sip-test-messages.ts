import { readFileSync } from 'node:fs';

const FIXTURES = new URL('../../fixtures/sip/', import.meta.url);

/** Exact bytes of a capture under tests/fixtures/sip/ (see its README). */
export function fixture(name: string): Buffer {
  return readFileSync(new URL(name, FIXTURES));
}

/** Header lines of a well-formed INVITE, to vary one at a time. */
export const INVITE_HEADERS = [
  'Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds',
  'Max-Forwards: 70',
  'To: Bob <sip:bob@example.com>',
  'From: Alice <sip:alice@example.org>;tag=1928301774',
  'Call-ID: a84b4c76e66710@pc33.example.org',
  'CSeq: 314159 INVITE',
  'Contact: <sip:alice@192.0.2.10>',
];

/** Joins a start line, header lines and a body into wire bytes (CRLF line ends). */
export function wire(startLine: string, headers: readonly string[], body = ''): Buffer {
  return Buffer.from(`${[startLine, ...headers].join('\r\n')}\r\n\r\n${body}`, 'utf8');
}

/** An INVITE with `Content-Length` set to the body's length unless the headers already say. */
export function invite(headers: readonly string[] = INVITE_HEADERS, body = ''): Buffer {
  const withLength = headers.some((h) => /^(content-length|l)\s*:/i.test(h))
    ? headers
    : [...headers, `Content-Length: ${Buffer.byteLength(body)}`];
  return wire('INVITE sip:bob@example.com SIP/2.0', withLength, body);
}

/** INVITE_HEADERS with the line starting `name:` replaced (or removed when `line` is undefined). */
export function replaceHeader(name: string, line: string | undefined): string[] {
  const out: string[] = [];
  for (const h of INVITE_HEADERS) {
    if (h.toLowerCase().startsWith(`${name.toLowerCase()}:`)) {
      if (line !== undefined) out.push(line);
    } else out.push(h);
  }
  return out;
}
