/** The only RTP version there is (RFC 3550 §5.1). */
export const RTP_VERSION = 2;

/** Length of the fixed header, before any CSRC list or extension. */
export const RTP_FIXED_HEADER_LENGTH = 12;

/** Byte offsets of the fixed header fields (RFC 3550 §5.1). */
export const RtpOffset = {
  /** V (2 bits), P, X, CC (4 bits). */
  FLAGS: 0,
  /** M, PT (7 bits). */
  MARKER_PAYLOAD_TYPE: 1,
  SEQUENCE_NUMBER: 2,
  TIMESTAMP: 4,
  SSRC: 8,
  CSRC_LIST: 12,
} as const;

/** Bit masks and shifts within the first two octets. */
export const RtpBits = {
  VERSION_SHIFT: 6,
  PADDING: 0x20,
  EXTENSION: 0x10,
  CSRC_COUNT: 0x0f,
  MARKER: 0x80,
  PAYLOAD_TYPE: 0x7f,
} as const;

/** A datagram that is not a well-formed RTP packet. */
export class RtpParseError extends Error {
  override readonly name = 'RtpParseError';
}

/** RFC 3550 §5.3.1 header extension: a profile-defined 16-bit value and whole 32-bit words of data. */
export interface RtpHeaderExtension {
  readonly profile: number;
  /** Length a multiple of 4. */
  readonly data: Buffer;
}

/** The fields the per-packet send path writes; keep one object per stream and mutate it. */
export interface RtpHeaderFields {
  marker: boolean;
  payloadType: number;
  sequenceNumber: number;
  timestamp: number;
  ssrc: number;
}

const EMPTY = Buffer.alloc(0);

function u16(buf: Buffer, offset: number): number {
  return ((buf[offset] as number) << 8) | (buf[offset + 1] as number);
}

function u32(buf: Buffer, offset: number): number {
  return (
    (((buf[offset] as number) << 24) |
      ((buf[offset + 1] as number) << 16) |
      ((buf[offset + 2] as number) << 8) |
      (buf[offset + 3] as number)) >>>
    0
  );
}

/**
 * A reusable, allocation-free reader of one RTP packet: `read(buf)` validates
 * the packet and records where each part lies in `buf`, which the view keeps
 * referring to (copy what must outlive the buffer). The receive path keeps one
 * view per socket; `RtpPacket.parse` builds on it.
 */
export class RtpPacketView {
  buffer: Buffer = EMPTY;
  marker = false;
  payloadType = 0;
  sequenceNumber = 0;
  timestamp = 0;
  ssrc = 0;
  csrcCount = 0;
  hasExtension = false;
  /** The extension's profile-defined field; 0 without an extension. */
  extensionProfile = 0;
  /** Offset and length in bytes of the extension data, after its 4-byte header. */
  extensionOffset = 0;
  extensionLength = 0;
  payloadOffset = 0;
  payloadLength = 0;
  /** Padding octets removed from the end, including the count octet itself; 0 without P. */
  paddingLength = 0;

  /** Validates `buffer` as one RTP packet; throws `RtpParseError` and leaves the view unusable otherwise. */
  read(buffer: Buffer): this {
    this.buffer = EMPTY;
    const length = buffer.length;
    if (length < RTP_FIXED_HEADER_LENGTH) {
      throw new RtpParseError(`RTP packet of ${length} bytes is shorter than the ${RTP_FIXED_HEADER_LENGTH}-byte fixed header`);
    }
    const flags = buffer[RtpOffset.FLAGS] as number;
    const version = flags >> RtpBits.VERSION_SHIFT;
    if (version !== RTP_VERSION) throw new RtpParseError(`RTP version ${version}, expected ${RTP_VERSION}`);
    const csrcCount = flags & RtpBits.CSRC_COUNT;
    let offset = RTP_FIXED_HEADER_LENGTH + 4 * csrcCount;
    if (offset > length) {
      throw new RtpParseError(`RTP CSRC count ${csrcCount} needs ${offset} header bytes, packet has ${length}`);
    }
    let extensionProfile = 0;
    let extensionOffset = 0;
    let extensionLength = 0;
    const hasExtension = (flags & RtpBits.EXTENSION) !== 0;
    if (hasExtension) {
      // RFC 3550 §5.3.1: 16 bits defined by profile, 16 bits length in 32-bit words excluding this header.
      if (offset + 4 > length) throw new RtpParseError('RTP extension bit set but no room for the extension header');
      extensionProfile = u16(buffer, offset);
      extensionLength = 4 * u16(buffer, offset + 2);
      extensionOffset = offset + 4;
      offset = extensionOffset + extensionLength;
      if (offset > length) {
        throw new RtpParseError(`RTP extension of ${extensionLength} bytes overruns the ${length}-byte packet`);
      }
    }
    let paddingLength = 0;
    if ((flags & RtpBits.PADDING) !== 0) {
      // RFC 3550 §5.1: the last octet counts the padding octets to ignore, itself included.
      paddingLength = buffer[length - 1] as number;
      if (paddingLength === 0) throw new RtpParseError('RTP padding bit set but the padding count is 0');
      if (paddingLength > length - offset) {
        throw new RtpParseError(`RTP padding of ${paddingLength} bytes overruns the ${length - offset} bytes after the header`);
      }
    }
    const second = buffer[RtpOffset.MARKER_PAYLOAD_TYPE] as number;
    this.marker = (second & RtpBits.MARKER) !== 0;
    this.payloadType = second & RtpBits.PAYLOAD_TYPE;
    this.sequenceNumber = u16(buffer, RtpOffset.SEQUENCE_NUMBER);
    this.timestamp = u32(buffer, RtpOffset.TIMESTAMP);
    this.ssrc = u32(buffer, RtpOffset.SSRC);
    this.csrcCount = csrcCount;
    this.hasExtension = hasExtension;
    this.extensionProfile = extensionProfile;
    this.extensionOffset = extensionOffset;
    this.extensionLength = extensionLength;
    this.payloadOffset = offset;
    this.payloadLength = length - offset - paddingLength;
    this.paddingLength = paddingLength;
    this.buffer = buffer;
    return this;
  }

  csrc(index: number): number {
    if (!Number.isInteger(index) || index < 0 || index >= this.csrcCount) {
      throw new RangeError(`CSRC index ${index} out of range 0..${this.csrcCount - 1}`);
    }
    return u32(this.buffer, RtpOffset.CSRC_LIST + 4 * index);
  }

  /** The payload as a view into the packet buffer (no copy). */
  payload(): Buffer {
    return this.buffer.subarray(this.payloadOffset, this.payloadOffset + this.payloadLength);
  }
}

export interface RtpPacketInit {
  /** Default false. */
  readonly marker?: boolean;
  readonly payloadType: number;
  readonly sequenceNumber: number;
  readonly timestamp: number;
  readonly ssrc: number;
  /** At most 15 (RFC 3550 §5.1 CC). Default none. */
  readonly csrcs?: readonly number[];
  /** Default none. */
  readonly extension?: RtpHeaderExtension;
  /** Default empty. */
  readonly payload?: Buffer;
  /** Padding octets to append, count octet included, 0–255. Default 0 (P bit clear). */
  readonly paddingLength?: number;
}

function checkUint(name: string, value: number, max: number): void {
  if (!Number.isInteger(value) || value < 0 || value > max) throw new RangeError(`RTP ${name} ${value} is not an integer in 0..${max}`);
}

/**
 * One RTP packet, RFC 3550 §5.1:
 *
 * ```
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |V=2|P|X|  CC   |M|     PT      |       sequence number         |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                           timestamp                           |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |           synchronization source (SSRC) identifier            |
 * +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
 * |            contributing source (CSRC) identifiers             |
 * |                             ....                              |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |      defined by profile       |           length              |  if X (§5.3.1)
 * |                        header extension                       |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                     payload  ...  [padding | count]           |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ```
 *
 * Any payload type parses: deciding what a payload type means is the
 * session's job (SDP), so an undeclared one is not a parse error.
 */
export class RtpPacket {
  readonly marker: boolean;
  readonly payloadType: number;
  readonly sequenceNumber: number;
  readonly timestamp: number;
  readonly ssrc: number;
  readonly csrcs: readonly number[];
  readonly extension: RtpHeaderExtension | undefined;
  readonly payload: Buffer;
  readonly paddingLength: number;

  constructor(init: RtpPacketInit) {
    checkUint('payload type', init.payloadType, 0x7f);
    checkUint('sequence number', init.sequenceNumber, 0xffff);
    checkUint('timestamp', init.timestamp, 0xffffffff);
    checkUint('SSRC', init.ssrc, 0xffffffff);
    const csrcs = init.csrcs ?? [];
    if (csrcs.length > RtpBits.CSRC_COUNT) throw new RangeError(`RTP allows at most 15 CSRCs, got ${csrcs.length}`);
    for (const csrc of csrcs) checkUint('CSRC', csrc, 0xffffffff);
    if (init.extension) {
      checkUint('extension profile', init.extension.profile, 0xffff);
      if (init.extension.data.length % 4 !== 0 || init.extension.data.length > 4 * 0xffff) {
        throw new RangeError(`RTP extension data must be whole 32-bit words, got ${init.extension.data.length} bytes`);
      }
    }
    const paddingLength = init.paddingLength ?? 0;
    checkUint('padding length', paddingLength, 0xff);
    this.marker = init.marker ?? false;
    this.payloadType = init.payloadType;
    this.sequenceNumber = init.sequenceNumber;
    this.timestamp = init.timestamp;
    this.ssrc = init.ssrc;
    this.csrcs = csrcs;
    this.extension = init.extension;
    this.payload = init.payload ?? EMPTY;
    this.paddingLength = paddingLength;
  }

  /**
   * Parses one datagram. The payload and extension data are views into
   * `buffer`, not copies. Throws `RtpParseError`.
   */
  static parse(buffer: Buffer): RtpPacket {
    const view = new RtpPacketView().read(buffer);
    const csrcs: number[] = [];
    for (let i = 0; i < view.csrcCount; i++) csrcs.push(view.csrc(i));
    return new RtpPacket({
      marker: view.marker,
      payloadType: view.payloadType,
      sequenceNumber: view.sequenceNumber,
      timestamp: view.timestamp,
      ssrc: view.ssrc,
      csrcs,
      ...(view.hasExtension
        ? {
            extension: {
              profile: view.extensionProfile,
              data: buffer.subarray(view.extensionOffset, view.extensionOffset + view.extensionLength),
            },
          }
        : {}),
      payload: view.payload(),
      paddingLength: view.paddingLength,
    });
  }

  get headerLength(): number {
    return RTP_FIXED_HEADER_LENGTH + 4 * this.csrcs.length + (this.extension ? 4 + this.extension.data.length : 0);
  }

  /** Serialized length in bytes. */
  get length(): number {
    return this.headerLength + this.payload.length + this.paddingLength;
  }

  serialize(): Buffer {
    const out = Buffer.allocUnsafe(this.length);
    this.serializeInto(out, 0);
    return out;
  }

  /** Writes the packet at `offset`; returns the number of bytes written. */
  serializeInto(target: Buffer, offset = 0): number {
    const length = this.length;
    if (offset < 0 || offset + length > target.length) {
      throw new RangeError(`RTP packet of ${length} bytes does not fit at offset ${offset} of a ${target.length}-byte buffer`);
    }
    writeRtpHeader(target, this, offset);
    let flags = (RTP_VERSION << RtpBits.VERSION_SHIFT) | this.csrcs.length;
    if (this.extension) flags |= RtpBits.EXTENSION;
    if (this.paddingLength > 0) flags |= RtpBits.PADDING;
    target[offset + RtpOffset.FLAGS] = flags;
    let at = offset + RtpOffset.CSRC_LIST;
    for (const csrc of this.csrcs) {
      target.writeUInt32BE(csrc, at);
      at += 4;
    }
    if (this.extension) {
      target.writeUInt16BE(this.extension.profile, at);
      target.writeUInt16BE(this.extension.data.length / 4, at + 2);
      at += 4;
      at += this.extension.data.copy(target, at);
    }
    at += this.payload.copy(target, at);
    if (this.paddingLength > 0) {
      target.fill(0, at, at + this.paddingLength - 1);
      target[at + this.paddingLength - 1] = this.paddingLength;
      at += this.paddingLength;
    }
    return at - offset;
  }
}

/**
 * The 20 ms send path: writes a 12-byte header (V=2, no padding, extension or
 * CSRC) at `offset` of a preallocated buffer, allocating nothing. The
 * sequence number and timestamp are taken modulo 2^16 and 2^32, so callers
 * can simply keep counting. Returns the header length.
 */
export function writeRtpHeader(target: Buffer, header: RtpHeaderFields, offset = 0): number {
  const pt = header.payloadType;
  if ((pt & ~RtpBits.PAYLOAD_TYPE) !== 0) throw new RangeError(`RTP payload type ${pt} is not in 0..127`);
  if (offset < 0 || offset + RTP_FIXED_HEADER_LENGTH > target.length) {
    throw new RangeError(`RTP header does not fit at offset ${offset} of a ${target.length}-byte buffer`);
  }
  const seq = header.sequenceNumber & 0xffff;
  const ts = header.timestamp >>> 0;
  const ssrc = header.ssrc >>> 0;
  target[offset + RtpOffset.FLAGS] = RTP_VERSION << RtpBits.VERSION_SHIFT;
  target[offset + RtpOffset.MARKER_PAYLOAD_TYPE] = (header.marker ? RtpBits.MARKER : 0) | pt;
  target[offset + RtpOffset.SEQUENCE_NUMBER] = seq >>> 8;
  target[offset + RtpOffset.SEQUENCE_NUMBER + 1] = seq & 0xff;
  target[offset + RtpOffset.TIMESTAMP] = ts >>> 24;
  target[offset + RtpOffset.TIMESTAMP + 1] = (ts >>> 16) & 0xff;
  target[offset + RtpOffset.TIMESTAMP + 2] = (ts >>> 8) & 0xff;
  target[offset + RtpOffset.TIMESTAMP + 3] = ts & 0xff;
  target[offset + RtpOffset.SSRC] = ssrc >>> 24;
  target[offset + RtpOffset.SSRC + 1] = (ssrc >>> 16) & 0xff;
  target[offset + RtpOffset.SSRC + 2] = (ssrc >>> 8) & 0xff;
  target[offset + RtpOffset.SSRC + 3] = ssrc & 0xff;
  return RTP_FIXED_HEADER_LENGTH;
}
