/**
 * ITU-T G.711 µ-law (PCMU) and A-law (PCMA), table-driven.
 *
 * Encoding looks the sample up by its top 14 (µ-law) or 12 (A-law) bits —
 * all the reference encoder of ITU-T G.191 (g711.c) looks at — so the tables
 * reproduce it bit for bit. Decoding is a 256-entry table. Frames are coded
 * into caller-provided arrays: nothing is allocated per frame.
 */

/**
 * G.711 µ-law code word of a 14-bit two's-complement sample (the 16-bit
 * sample >> 2), as ITU-T G.191's reference `ulaw_compress`: negative values
 * take the one's complement, the magnitude is biased by 33 and limited to
 * 13 bits, and the word goes on the line with every bit inverted.
 */
function mulawFrom14Bit(value: number): number {
  let biased = (value < 0 ? ~value : value) + 33;
  if (biased > 0x1fff) biased = 0x1fff;
  let segment = 1;
  for (let i = biased >> 6; i !== 0; i >>= 1) segment++;
  const code = ((8 - segment) << 4) | (15 - ((biased >> segment) & 0x0f));
  return value >= 0 ? code | 0x80 : code;
}

/**
 * G.711 A-law code word of a 12-bit magnitude-and-sign sample (the 16-bit
 * sample >> 4), as G.191's `alaw_compress`: one's complement for negative
 * values, and the even bits inverted on the line (the 0x55).
 */
function alawFrom12Bit(value: number): number {
  let code = value < 0 ? ~value : value;
  if (code > 15) {
    let exponent = 1;
    while (code > 16 + 15) {
      code >>= 1;
      exponent++;
    }
    code = code - 16 + (exponent << 4);
  }
  if (value >= 0) code |= 0x80;
  return code ^ 0x55;
}

function mulawToLinear(code: number): number {
  const inverted = ~code & 0xff;
  let magnitude = ((inverted & 0x0f) << 3) + 0x84;
  magnitude <<= (inverted & 0x70) >> 4;
  return inverted & 0x80 ? 0x84 - magnitude : magnitude - 0x84;
}

function alawToLinear(code: number): number {
  const value = code ^ 0x55;
  let magnitude = (value & 0x0f) << 4;
  const segment = (value & 0x70) >> 4;
  if (segment === 0) magnitude += 8;
  else if (segment === 1) magnitude += 0x108;
  else magnitude = (magnitude + 0x108) << (segment - 1);
  return value & 0x80 ? magnitude : -magnitude;
}

const MULAW_ENCODE = new Uint8Array(1 << 14);
const ALAW_ENCODE = new Uint8Array(1 << 12);
/** Decoded value of every µ-law code word. */
export const MULAW_DECODE_TABLE: Readonly<Int16Array> = new Int16Array(256);
/** Decoded value of every A-law code word. */
export const ALAW_DECODE_TABLE: Readonly<Int16Array> = new Int16Array(256);

for (let i = 0; i < MULAW_ENCODE.length; i++) MULAW_ENCODE[i] = mulawFrom14Bit(i < 1 << 13 ? i : i - (1 << 14));
for (let i = 0; i < ALAW_ENCODE.length; i++) ALAW_ENCODE[i] = alawFrom12Bit(i < 1 << 11 ? i : i - (1 << 12));
for (let code = 0; code < 256; code++) {
  (MULAW_DECODE_TABLE as Int16Array)[code] = mulawToLinear(code);
  (ALAW_DECODE_TABLE as Int16Array)[code] = alawToLinear(code);
}

export function encodeMulawSample(sample: number): number {
  return MULAW_ENCODE[(sample >> 2) & 0x3fff] as number;
}

export function decodeMulawSample(code: number): number {
  return MULAW_DECODE_TABLE[code & 0xff] as number;
}

export function encodeAlawSample(sample: number): number {
  return ALAW_ENCODE[(sample >> 4) & 0xfff] as number;
}

export function decodeAlawSample(code: number): number {
  return ALAW_DECODE_TABLE[code & 0xff] as number;
}

function checkCount(count: number, inputLength: number, outputLength: number): void {
  if (!Number.isInteger(count) || count < 0 || count > inputLength || count > outputLength) {
    throw new RangeError(`G.711: cannot code ${count} samples from ${inputLength} into ${outputLength}`);
  }
}

export type G711EncodingName = 'PCMU' | 'PCMA';

/** One G.711 law, as the RTP session and the WAV reader use it. */
export interface G711Codec {
  /** RTP/AVP encoding name (RFC 3551 §4.5.14). */
  readonly encodingName: G711EncodingName;
  /** Static RTP payload type (RFC 3551 Table 4): 0 for PCMU, 8 for PCMA. */
  readonly payloadType: 0 | 8;
  /** WAVE format tag: 7 µ-law, 6 A-law. */
  readonly wavFormatTag: 6 | 7;
  /** The code word that decodes to (nearly) zero. */
  readonly silence: number;
  readonly decodeTable: Readonly<Int16Array>;
  /** Encodes `count` samples (default all of `pcm`) into `out`. */
  encode(pcm: Int16Array, out: Uint8Array, count?: number): void;
  /** Decodes `count` code words (default all of `codes`) into `out`. */
  decode(codes: Uint8Array, out: Int16Array, count?: number): void;
}

export const PCMU: G711Codec = Object.freeze({
  encodingName: 'PCMU',
  payloadType: 0,
  wavFormatTag: 7,
  silence: 0xff,
  decodeTable: MULAW_DECODE_TABLE,
  encode(pcm: Int16Array, out: Uint8Array, count = pcm.length): void {
    checkCount(count, pcm.length, out.length);
    for (let i = 0; i < count; i++) out[i] = MULAW_ENCODE[((pcm[i] as number) >> 2) & 0x3fff] as number;
  },
  decode(codes: Uint8Array, out: Int16Array, count = codes.length): void {
    checkCount(count, codes.length, out.length);
    for (let i = 0; i < count; i++) out[i] = MULAW_DECODE_TABLE[codes[i] as number] as number;
  },
});

export const PCMA: G711Codec = Object.freeze({
  encodingName: 'PCMA',
  payloadType: 8,
  wavFormatTag: 6,
  silence: 0xd5,
  decodeTable: ALAW_DECODE_TABLE,
  encode(pcm: Int16Array, out: Uint8Array, count = pcm.length): void {
    checkCount(count, pcm.length, out.length);
    for (let i = 0; i < count; i++) out[i] = ALAW_ENCODE[((pcm[i] as number) >> 4) & 0xfff] as number;
  },
  decode(codes: Uint8Array, out: Int16Array, count = codes.length): void {
    checkCount(count, codes.length, out.length);
    for (let i = 0; i < count; i++) out[i] = ALAW_DECODE_TABLE[codes[i] as number] as number;
  },
});

/** The codec for an RTP/AVP encoding name (case-insensitive, as in SDP rtpmap), or undefined. */
export function g711CodecByName(name: string): G711Codec | undefined {
  const upper = name.toUpperCase();
  return upper === 'PCMU' ? PCMU : upper === 'PCMA' ? PCMA : undefined;
}
