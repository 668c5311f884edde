import type { SeededRandom } from './seeded-random.js';
import { seedSdp, serialiseParts, setBody, type MessageParts } from './sip-seed-messages.js';

/**
 * The ways the fuzzer breaks a SIP message. Structural ones edit the parts
 * (start line, header lines, body) before they are serialised; byte ones
 * work on the serialised bytes afterwards.
 */
export type MutationName =
  | 'byte-flip'
  | 'truncate'
  | 'nul-bytes'
  | 'garbage'
  | 'huge-header'
  | 'many-headers'
  | 'bad-content-length'
  | 'missing-crlf'
  | 'invalid-utf8'
  | 'folded-lines'
  | 'duplicate-headers'
  | 'absurd-cseq'
  | 'bad-start-line'
  | 'bad-header-values'
  | 'bad-sdp'
  | 'near-64k';

interface PartsMutation {
  readonly name: MutationName;
  readonly stage: 'parts';
  apply(parts: MessageParts, rng: SeededRandom, context: MutationContext): void;
}

interface BytesMutation {
  readonly name: MutationName;
  readonly stage: 'bytes';
  apply(bytes: Buffer, rng: SeededRandom, context: MutationContext): Buffer;
}

export type Mutation = PartsMutation | BytesMutation;

export interface MutationContext {
  /** The largest message the transport can carry (a UDP datagram: 65 507 bytes over IPv4). */
  readonly maxBytes: number;
  readonly host: string;
}

/** Byte sequences that are not UTF-8: a lone continuation, a cut sequence, overlong forms, a surrogate, bytes never used. */
const INVALID_UTF8 = [
  [0x80],
  [0xbf],
  [0xc3, 0x28],
  [0xe2, 0x82],
  [0xf0, 0x9f, 0x98],
  [0xc0, 0xaf],
  [0xe0, 0x80, 0xaf],
  [0xed, 0xa0, 0x80],
  [0xf8, 0x88, 0x80, 0x80, 0x80],
  [0xfe],
  [0xff, 0xfe],
  [0xf4, 0x90, 0x80, 0x80],
].map((bytes) => Buffer.from(bytes).toString('latin1'));

const HEADER_NAMES = ['Subject', 'X-Fuzz', 'User-Agent', 'Call-Info', 'Warning', 'Via', 'Contact', 'Accept', 'Allow', 'P-Asserted-Identity'];

const insertAt = (text: string, at: number, piece: string): string => text.slice(0, at) + piece + text.slice(at);

function headerIndex(parts: MessageParts, name: string): number {
  const lower = name.toLowerCase();
  return parts.headers.findIndex(([n]) => n.toLowerCase() === lower);
}

function randomHeader(parts: MessageParts, rng: SeededRandom): [string, string] | undefined {
  return parts.headers.length === 0 ? undefined : rng.pick(parts.headers);
}

/** Bytes left under `maxBytes` for what a mutation adds, at least a little. */
function room(parts: MessageParts, context: MutationContext, margin = 64): number {
  return Math.max(256, context.maxBytes - serialiseParts(parts).length - margin);
}

export const MUTATIONS: readonly Mutation[] = [
  {
    name: 'byte-flip',
    stage: 'bytes',
    apply(bytes, rng) {
      const out = Buffer.from(bytes);
      const flips = rng.int(1, 16);
      for (let i = 0; i < flips && out.length > 0; i++) out[rng.int(0, out.length - 1)]! ^= rng.int(1, 255);
      return out;
    },
  },
  {
    name: 'truncate',
    stage: 'bytes',
    apply(bytes, rng) {
      // Often mid-headers, sometimes a byte short of the end (the body or the blank line cut).
      const cut = rng.chance(0.3) ? bytes.length - rng.int(1, 4) : rng.int(0, bytes.length - 1);
      return bytes.subarray(0, Math.max(1, cut));
    },
  },
  {
    name: 'nul-bytes',
    stage: 'bytes',
    apply(bytes, rng) {
      const pieces: Buffer[] = [];
      let at = 0;
      const positions = Array.from({ length: rng.int(1, 6) }, () => rng.int(0, bytes.length)).sort((a, b) => a - b);
      for (const position of positions) {
        pieces.push(bytes.subarray(at, position), Buffer.alloc(rng.int(1, 3)));
        at = position;
      }
      pieces.push(bytes.subarray(at));
      return Buffer.concat(pieces);
    },
  },
  {
    name: 'garbage',
    stage: 'bytes',
    apply(bytes, rng) {
      switch (rng.int(0, 6)) {
        case 0:
          return rng.bytes(rng.int(1, 4000));
        case 1:
          return Buffer.from(rng.text(rng.int(1, 3000), ' !"#$%&\'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~\r\n\t'), 'latin1');
        case 2:
          return Buffer.from('GET / HTTP/1.1\r\nHost: fuzz\r\nContent-Length: 0\r\n\r\n', 'latin1');
        case 3: {
          // A STUN Binding Request header (RFC 8489 §5): type, length, magic cookie, transaction id.
          const stun = Buffer.alloc(20);
          stun.writeUInt16BE(0x0001, 0);
          stun.writeUInt32BE(0x2112a442, 4);
          rng.bytes(12).copy(stun, 8);
          return stun;
        }
        case 4:
          return Buffer.from('\r\n'.repeat(rng.int(3, 400)), 'latin1');
        case 5:
          // The message twice over, with junk between.
          return Buffer.concat([bytes, rng.bytes(rng.int(1, 40)), bytes]);
        default:
          return Buffer.concat([rng.bytes(rng.int(1, 16)), bytes]);
      }
    },
  },
  {
    name: 'huge-header',
    stage: 'parts',
    apply(parts, rng, context) {
      const length = Math.min(rng.int(2_000, 60_000), room(parts, context));
      const name = rng.pick(HEADER_NAMES);
      const filler = rng.chance(0.5) ? 'x'.repeat(length) : rng.text(length);
      const value = name === 'Via' ? `SIP/2.0/UDP ${filler};branch=z9hG4bK-${filler.slice(0, 20)}` : filler;
      parts.headers.splice(rng.int(0, parts.headers.length), 0, [name, value]);
    },
  },
  {
    name: 'many-headers',
    stage: 'parts',
    apply(parts, rng, context) {
      const repeated = rng.chance(0.3) ? rng.pick(['Via', 'Record-Route', 'Accept', 'X-Many']) : undefined;
      const lineBytes = repeated === 'Via' ? 56 : 20;
      const count = Math.min(rng.int(101, 3_000), Math.floor(room(parts, context) / lineBytes));
      for (let i = 0; i < count; i++) {
        parts.headers.push(repeated === 'Via' ? ['Via', `SIP/2.0/UDP h${i}.invalid;branch=z9hG4bK${i}`] : [repeated ?? `X-H${i}`, `v${i}`]);
      }
    },
  },
  {
    name: 'bad-content-length',
    stage: 'parts',
    apply(parts, rng) {
      const at = headerIndex(parts, 'Content-Length');
      const real = parts.body.length;
      const value = rng.pick([
        '-1',
        'abc',
        '',
        '99999999999',
        '4294967296',
        '18446744073709551616',
        String(real + rng.int(1, 5000)),
        String(Math.max(0, real - rng.int(1, 50))),
        '1e3',
        '0x20',
        ` ${real} ${real}`,
        '+5',
        '0'.repeat(300),
      ]);
      const variant = rng.int(0, 3);
      if (variant === 0 && at >= 0) parts.headers.splice(at, 1);
      else if (variant === 1) parts.headers.push([rng.pick(['Content-Length', 'l', 'content-length']), value]);
      else if (at >= 0) parts.headers[at]![1] = value;
      else parts.headers.push(['Content-Length', value]);
    },
  },
  {
    name: 'missing-crlf',
    stage: 'parts',
    apply(parts, rng) {
      switch (rng.int(0, 4)) {
        case 0:
          parts.eol = '\n';
          break;
        case 1:
          parts.eol = '\r';
          break;
        case 2:
          parts.noBlankLine = true;
          break;
        case 3: {
          // Two header lines run together.
          if (parts.headers.length < 2) break;
          const i = rng.int(1, parts.headers.length - 1);
          const [name, value] = parts.headers[i]!;
          parts.headers.splice(i, 1);
          parts.headers[i - 1]![1] += `${rng.pick(['', ' ', '\t'])}${name}: ${value}`;
          break;
        }
        default: {
          // The start line runs into the first header.
          const first = parts.headers.shift();
          if (first) parts.startLine += `${first[0]}: ${first[1]}`;
        }
      }
    },
  },
  {
    name: 'invalid-utf8',
    stage: 'parts',
    apply(parts, rng) {
      const bad = Array.from({ length: rng.int(1, 4) }, () => rng.pick(INVALID_UTF8)).join('');
      switch (rng.int(0, 4)) {
        case 0: {
          const header = randomHeader(parts, rng);
          if (header) header[1] = insertAt(header[1], rng.int(0, header[1].length), bad);
          break;
        }
        case 1: {
          const from = headerIndex(parts, 'From');
          if (from >= 0) parts.headers[from]![1] = `"${bad}Caf${bad}" ${parts.headers[from]![1].replace(/^"[^"]*"\s*/, '')}`;
          break;
        }
        case 2: {
          const header = randomHeader(parts, rng);
          if (header) header[0] = insertAt(header[0], rng.int(0, header[0].length), bad);
          break;
        }
        case 3:
          parts.startLine = insertAt(parts.startLine, rng.int(0, parts.startLine.length), bad);
          break;
        default:
          setBody(parts, Buffer.concat([parts.body, Buffer.from(bad, 'latin1')]));
      }
    },
  },
  {
    name: 'folded-lines',
    stage: 'parts',
    apply(parts, rng) {
      const eol = parts.eol ?? '\r\n';
      const fold = (): string => `${eol}${rng.pick([' ', '\t', '   ', ' \t'])}`;
      switch (rng.int(0, 3)) {
        case 0: {
          // RFC 3261 §7.3.1 allows this: a value continued on the next line.
          const header = randomHeader(parts, rng);
          if (header) header[1] = insertAt(header[1], rng.int(0, header[1].length), fold());
          break;
        }
        case 1: {
          const cl = headerIndex(parts, 'Content-Length');
          if (cl >= 0) parts.headers[cl]![1] = `${fold()}${parts.headers[cl]![1]}`;
          break;
        }
        case 2:
          // A continuation line with nothing to continue: right after the start line.
          parts.headers.unshift([` ${rng.text(8)}`, rng.text(8)]);
          break;
        default: {
          const header = randomHeader(parts, rng);
          if (header) header[1] = `${header[1]}${fold()}`.repeat(rng.int(2, 200));
        }
      }
    },
  },
  {
    name: 'duplicate-headers',
    stage: 'parts',
    apply(parts, rng) {
      const name = rng.pick(['Via', 'Call-ID', 'CSeq', 'From', 'To', 'Content-Length', 'Max-Forwards', 'Content-Type']);
      const at = headerIndex(parts, name);
      const original = at >= 0 ? parts.headers[at]![1] : 'x';
      const copies = name === 'Via' ? rng.int(2, 200) : rng.int(1, 3);
      for (let i = 0; i < copies; i++) {
        const value =
          name === 'Via'
            ? original.replace(/branch=[^;]*/, `branch=z9hG4bK-dup-${i}-${rng.text(6)}`)
            : rng.chance(0.5)
              ? original
              : name === 'CSeq'
                ? `${rng.int(1, 9999)} ${rng.pick(['INVITE', 'BYE', 'OPTIONS'])}`
                : name === 'Content-Length' || name === 'Max-Forwards'
                  ? String(rng.int(0, 500))
                  : `${original}-${rng.text(6)}`;
        parts.headers.splice(rng.int(0, parts.headers.length), 0, [rng.chance(0.2) ? name.toUpperCase() : name, value]);
      }
    },
  },
  {
    name: 'absurd-cseq',
    stage: 'parts',
    apply(parts, rng) {
      const method = parts.startLine.split(' ')[0] ?? 'INVITE';
      const value = rng.pick([
        `4294967296 ${method}`,
        `2147483648 ${method}`,
        `-1 ${method}`,
        `0 ${method}`,
        `99999999999999999999999 ${method}`,
        `1.5 ${method}`,
        `NaN ${method}`,
        `${method} 1`,
        '1',
        `1 ${method === 'INVITE' ? 'BYE' : 'INVITE'}`,
        `1 ${rng.text(300)}`,
        `1  ${method}`,
        `${'9'.repeat(2000)} ${method}`,
      ]);
      const at = headerIndex(parts, 'CSeq');
      if (at >= 0) parts.headers[at]![1] = value;
    },
  },
  {
    name: 'bad-start-line',
    stage: 'parts',
    apply(parts, rng) {
      const [method = 'INVITE', uri = 'sip:x', version = 'SIP/2.0'] = parts.startLine.split(' ');
      parts.startLine = rng.pick([
        `${method.toLowerCase()} ${uri} ${version}`,
        `${method} ${uri} SIP/3.0`,
        `${method} ${uri} SIP/2.0 extra`,
        `${method} ${uri}`,
        `${method}  ${uri}  ${version}`,
        `${method} ${uri.replace(/^sip/, rng.pick(['tel', 'http', 'sips', 'urn', '']))} ${version}`,
        `${method} sip:${'a'.repeat(rng.int(1000, 9000))}@fuzz ${version}`,
        `${method} sip:@ ${version}`,
        `${method} sip:[::1 ${version}`,
        `${method} sip:h:99999 ${version}`,
        `INV{TE ${uri} ${version}`,
        `${rng.text(rng.int(1, 40), 'ABCDEFGHIJKLMNOPQRSTUVWXYZ')} ${uri} ${version}`,
        `SIP/2.0 ${rng.pick(['999', '000', 'abc', '20', '2000'])} Fuzz`,
        `${version} 200`,
        '',
        ` ${method} ${uri} ${version}`,
      ]);
    },
  },
  {
    name: 'bad-header-values',
    stage: 'parts',
    apply(parts, rng) {
      const [name, value] = rng.pick<[string, string]>([
        ['Via', 'SIP/2.0/UDP'],
        ['Via', 'SIP/2.0/UDP [::1;branch=z9hG4bK-x'],
        ['Via', 'SIP/2.0/UDP 127.0.0.1:99999;branch=z9hG4bK-x'],
        ['Via', 'SIP/2.0/FOO 127.0.0.1;branch=z9hG4bK-x'],
        ['Via', 'SIP/2.0/UDP 127.0.0.1;branch'],
        ['Via', 'SIP/2.0/UDP 127.0.0.1;rport=abc;received=not-an-ip;branch=z9hG4bK-x'],
        ['From', '<sip:fuzz@127.0.0.1'],
        ['From', 'sip:fuzz@127.0.0.1;tag'],
        ['To', '"unterminated <sip:pay@127.0.0.1>'],
        ['To', '<>'],
        ['Call-ID', ''],
        ['Max-Forwards', rng.pick(['-1', '0', '256', '99999999999', 'seventy'])],
        ['Contact', rng.pick(['*', '<sip:', '<http://fuzz>', '<sip:a@b>, <sip:c@d>', ''])],
        ['Require', rng.pick(['100rel', 'foo, bar', rng.text(500)])],
        ['Content-Type', rng.pick(['', 'application/', 'text/plain', 'application/sdp; charset=\xff', 'multipart/mixed;boundary='])],
        ['Expires', '99999999999999'],
        ['Proxy-Require', 'fuzz'],
        ['Record-Route', '<sip:127.0.0.1:1;lr'],
      ]);
      const at = headerIndex(parts, name);
      if (at >= 0 && rng.chance(0.8)) parts.headers[at]![1] = value;
      else parts.headers.push([name, value]);
    },
  },
  {
    name: 'bad-sdp',
    stage: 'parts',
    apply(parts, rng, context) {
      const good = seedSdp(rng, context.host).toString('latin1');
      const body = rng.pick([
        () => good.replace(/m=audio \d+/, 'm=audio 99999'),
        () => good.replace(/m=audio \d+ RTP\/AVP [\d ]+/, 'm=audio 4000 RTP/AVP 18'),
        () => good.replace(/c=IN IP\d \S+\r\n/, ''),
        () => good.replace('v=0', 'v=1'),
        () => good.replace(/m=audio.*\r\n/, 'm=\r\n'),
        () => good + Array.from({ length: rng.int(10, 2000) }, (_, i) => `m=audio ${(i * 2) % 65536} RTP/AVP 0\r\n`).join(''),
        () => good + `a=${'x'.repeat(rng.int(1000, 20000))}\r\n`,
        () => good.replace(/\r\n/g, '\n'),
        () => rng.bytes(rng.int(1, 500)).toString('latin1'),
        () => good.replace('c=IN IP4', 'c=IN IP9').replace('c=IN IP6', 'c=IN IP9'),
        () => good.replace(/m=audio (\d+)/, 'm=video $1'),
      ])();
      const type = headerIndex(parts, 'Content-Type');
      if (type >= 0) parts.headers[type]![1] = 'application/sdp';
      else parts.headers.push(['Content-Type', 'application/sdp']);
      setBody(parts, Buffer.from(body.slice(0, room(parts, context)), 'latin1'));
    },
  },
  {
    name: 'near-64k',
    stage: 'parts',
    apply(parts, rng, context) {
      // A datagram as large as UDP over IPv4 carries, or just under: padding in a header or the body.
      const target = rng.int(context.maxBytes - 5_000, context.maxBytes);
      const padding = Math.max(0, target - serialiseParts(parts).length - 8);
      if (rng.chance(0.5)) parts.headers.push(['X-Pad', 'p'.repeat(padding)]);
      else setBody(parts, Buffer.concat([parts.body, Buffer.alloc(Math.max(0, padding - 8), 'b')]));
    },
  },
];

export const MUTATION_NAMES: readonly MutationName[] = MUTATIONS.map((m) => m.name);
