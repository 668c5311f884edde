import type { SeededRandom } from './seeded-random.js';

/**
 * A SIP message as the fuzzer edits it: a start line, header lines in order
 * (repeats allowed) and a body. Strings are latin1, so each character is one
 * byte and any byte — NUL, 0xFF, half a UTF-8 sequence — can be placed.
 */
export interface MessageParts {
  startLine: string;
  headers: [name: string, value: string][];
  body: Buffer;
  /** The line ending used when serialising. Default CRLF; mutations may change it. */
  eol?: string;
  /** Dropped: no blank line between the headers and the body. */
  noBlankLine?: boolean;
}

export type SeedMethod = 'INVITE' | 'OPTIONS' | 'INFO' | 'BYE';
export const SEED_METHODS: readonly SeedMethod[] = ['INVITE', 'OPTIONS', 'INFO', 'BYE'];

/** Where the fuzzed messages go, and the address their Via names so that answers come back. */
export interface SeedAddressing {
  readonly targetHost: string;
  readonly targetPort: number;
  readonly viaHost: string;
  readonly viaPort: number;
  readonly transport: 'UDP' | 'TCP';
}

const bracket = (host: string): string => (host.includes(':') ? `[${host}]` : host);

/** Serialises as written, Content-Length included as it stands (mutations lie in it on purpose). */
export function serialiseParts(parts: MessageParts): Buffer {
  const eol = parts.eol ?? '\r\n';
  const head = [parts.startLine, ...parts.headers.map(([name, value]) => `${name}: ${value}`)].join(eol);
  const blank = parts.noBlankLine ? eol : `${eol}${eol}`;
  return Buffer.concat([Buffer.from(head + blank, 'latin1'), parts.body]);
}

/** Replaces the body and sets every Content-Length to match it. */
export function setBody(parts: MessageParts, body: Buffer): void {
  parts.body = body;
  let found = false;
  for (const header of parts.headers) {
    if (/^(content-length|l)$/i.test(header[0])) {
      header[1] = String(body.length);
      found = true;
    }
  }
  if (!found) parts.headers.push(['Content-Length', String(body.length)]);
}

/** An SDP offer like a phone's: G.711 and telephone-event, on a port nobody listens to. */
export function seedSdp(rng: SeededRandom, host: string): Buffer {
  const ip6 = host.includes(':');
  return Buffer.from(
    [
      'v=0',
      `o=fuzz ${rng.int(1, 2 ** 30)} 1 IN IP${ip6 ? 6 : 4} ${host}`,
      's=-',
      `c=IN IP${ip6 ? 6 : 4} ${host}`,
      't=0 0',
      `m=audio ${2 * rng.int(5000, 30000)} RTP/AVP 0 8 101`,
      'a=rtpmap:0 PCMU/8000',
      'a=rtpmap:8 PCMA/8000',
      'a=rtpmap:101 telephone-event/8000',
      'a=fmtp:101 0-15',
      'a=sendrecv',
      '',
    ].join('\r\n'),
    'latin1',
  );
}

/**
 * A well-formed request of `method`, unique to message `n`, that the
 * mutations then break. The INVITE calls a number that is not the pay
 * number (`fuzz-<n>`), so one that survives its mutations is refused at
 * once instead of starting a payment call; INFO and BYE name a dialog that
 * does not exist.
 */
export function seedRequest(method: SeedMethod, n: number, rng: SeededRandom, at: SeedAddressing): MessageParts {
  const target = `${bracket(at.targetHost)}:${at.targetPort}`;
  const via = `${bracket(at.viaHost)}:${at.viaPort}`;
  const uri = method === 'OPTIONS' ? `sip:${target}` : `sip:fuzz-${n}@${target}`;
  const dialogTag = method === 'INFO' || method === 'BYE' ? `;tag=${rng.text(10)}` : '';
  const cseq = rng.int(1, 1000);
  const headers: [string, string][] = [
    ['Via', `SIP/2.0/${at.transport} ${via};branch=z9hG4bK-fuzz-${n}-${rng.text(8)};rport`],
    ['Max-Forwards', '70'],
    ['From', `"Fuzz ${n}" <sip:fuzz@${via}>;tag=${rng.text(12)}`],
    ['To', `<${uri}>${dialogTag}`],
    ['Call-ID', `fuzz-${n}-${rng.text(16)}@${bracket(at.viaHost)}`],
    ['CSeq', `${cseq} ${method}`],
    ['Contact', `<sip:fuzz@${via}${at.transport === 'TCP' ? ';transport=tcp' : ''}>`],
    ['User-Agent', 'sip-fuzz'],
  ];
  let body: Buffer = Buffer.alloc(0);
  if (method === 'INVITE') {
    headers.push(['Content-Type', 'application/sdp']);
    body = seedSdp(rng, at.viaHost);
  } else if (method === 'INFO') {
    headers.push(['Content-Type', 'application/dtmf-relay']);
    body = Buffer.from(`Signal=${rng.pick(['1', '5', '9', '#', '*'])}\r\nDuration=160\r\n`, 'latin1');
  }
  headers.push(['Content-Length', String(body.length)]);
  return { startLine: `${method} ${uri} SIP/2.0`, headers, body };
}

/** A response nobody asked for (a stray, RFC 3261 §18.1.2), to the seed's numbering. */
export function seedResponse(n: number, rng: SeededRandom, at: SeedAddressing): MessageParts {
  const via = `${bracket(at.viaHost)}:${at.viaPort}`;
  const method = rng.pick(SEED_METHODS);
  const status = rng.pick([100, 180, 200, 202, 401, 404, 486, 500, 503]);
  return {
    startLine: `SIP/2.0 ${status} Fuzz`,
    headers: [
      ['Via', `SIP/2.0/${at.transport} ${bracket(at.targetHost)}:${at.targetPort};branch=z9hG4bK-${rng.text(12)}`],
      ['From', `<sip:pay@${bracket(at.targetHost)}>;tag=${rng.text(8)}`],
      ['To', `<sip:fuzz@${via}>;tag=${rng.text(8)}`],
      ['Call-ID', `stray-${n}-${rng.text(12)}`],
      ['CSeq', `${rng.int(1, 100)} ${method}`],
      ['Content-Length', '0'],
    ],
    body: Buffer.alloc(0),
  };
}
