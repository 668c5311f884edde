import { type DtmfKey } from '../../../domain/dtmf-key.js';
import { dtmfKeyFromEventCode } from './dtmf-keypad.js';

/** Length of one event block (RFC 4733 §2.3). */
export const TELEPHONE_EVENT_LENGTH = 4;

/** Byte offsets and bit masks within one event block. */
export const TelephoneEventOffset = {
  EVENT: 0,
  /** E, R, volume (6 bits). */
  FLAGS_VOLUME: 1,
  DURATION: 2,
} as const;

export const TelephoneEventBits = {
  END: 0x80,
  RESERVED: 0x40,
  VOLUME: 0x3f,
} as const;

/** A telephone-event payload that does not have the RFC 4733 shape. */
export class TelephoneEventParseError extends Error {
  override readonly name = 'TelephoneEventParseError';
}

export interface TelephoneEventFields {
  /** Event code, 0–255; 0–15 are the DTMF keys (RFC 4733 §3.2). */
  readonly event: number;
  /** E bit: this packet reports the end of the event (§2.3.2). Default false. */
  readonly end?: boolean;
  /** Power of the tone as 0–63 meaning 0 to −63 dBm0 (§2.3.4). Default 10. */
  readonly volume?: number;
  /** Duration so far in RTP timestamp units, 0–65535 (§2.3.5). */
  readonly duration: number;
}

function checkUint(name: string, value: number, max: number): void {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new RangeError(`telephone-event ${name} ${value} is not an integer in 0..${max}`);
  }
}

/**
 * One named-event block, RFC 4733 §2.3:
 *
 * ```
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |     event     |E|R| volume    |          duration             |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ```
 *
 * The R bit is kept as read (`reserved`) but never written: §2.3.3 says the
 * sender MUST set it to zero and the receiver MUST ignore it — and SIPp
 * 3.6.1's `play_dtmf` does set it on some packets.
 */
export class TelephoneEvent {
  readonly event: number;
  readonly end: boolean;
  readonly volume: number;
  readonly duration: number;
  /** The R bit as received; ignored otherwise. */
  readonly reserved: boolean;

  constructor(fields: TelephoneEventFields, reserved = false) {
    checkUint('event', fields.event, 0xff);
    checkUint('volume', fields.volume ?? 10, TelephoneEventBits.VOLUME);
    checkUint('duration', fields.duration, 0xffff);
    this.event = fields.event;
    this.end = fields.end ?? false;
    this.volume = fields.volume ?? 10;
    this.duration = fields.duration;
    this.reserved = reserved;
  }

  /** The DTMF key, or undefined for a non-DTMF event. */
  get key(): DtmfKey | undefined {
    return dtmfKeyFromEventCode(this.event);
  }

  /**
   * Parses the event block at `offset` of an RTP payload. The payload must be
   * whole 4-byte blocks: several come only when events are packed into one
   * packet (§2.5.1.5), see `parseAll`. Throws `TelephoneEventParseError`.
   */
  static parse(payload: Uint8Array, offset = 0): TelephoneEvent {
    checkPayloadLength(payload);
    if (!Number.isInteger(offset) || offset < 0 || offset % TELEPHONE_EVENT_LENGTH !== 0 || offset >= payload.length) {
      throw new RangeError(`telephone-event offset ${offset} is not a block boundary of a ${payload.length}-byte payload`);
    }
    const flags = payload[offset + TelephoneEventOffset.FLAGS_VOLUME] as number;
    return new TelephoneEvent(
      {
        event: payload[offset + TelephoneEventOffset.EVENT] as number,
        end: (flags & TelephoneEventBits.END) !== 0,
        volume: flags & TelephoneEventBits.VOLUME,
        duration:
          ((payload[offset + TelephoneEventOffset.DURATION] as number) << 8) |
          (payload[offset + TelephoneEventOffset.DURATION + 1] as number),
      },
      (flags & TelephoneEventBits.RESERVED) !== 0,
    );
  }

  /** Every event block of a payload, in order (RFC 4733 §2.5.1.5 packing). */
  static parseAll(payload: Uint8Array): TelephoneEvent[] {
    checkPayloadLength(payload);
    const events: TelephoneEvent[] = [];
    for (let offset = 0; offset < payload.length; offset += TELEPHONE_EVENT_LENGTH) {
      events.push(TelephoneEvent.parse(payload, offset));
    }
    return events;
  }

  serialize(): Buffer {
    const out = Buffer.allocUnsafe(TELEPHONE_EVENT_LENGTH);
    this.serializeInto(out, 0);
    return out;
  }

  /** Writes the block at `offset`, R bit zero; returns 4. */
  serializeInto(target: Uint8Array, offset = 0): number {
    return writeTelephoneEvent(target, this, offset);
  }
}

function checkPayloadLength(payload: Uint8Array): void {
  if (payload.length === 0 || payload.length % TELEPHONE_EVENT_LENGTH !== 0) {
    throw new TelephoneEventParseError(
      `telephone-event payload of ${payload.length} bytes is not a whole number of ${TELEPHONE_EVENT_LENGTH}-byte events`,
    );
  }
}

/**
 * Writes one event block without allocating (the send path reuses one
 * fields object per key press); returns 4. Throws RangeError on a field out
 * of range.
 */
export function writeTelephoneEvent(target: Uint8Array, fields: TelephoneEventFields, offset = 0): number {
  if (offset < 0 || offset + TELEPHONE_EVENT_LENGTH > target.length) {
    throw new RangeError(`telephone-event does not fit at offset ${offset} of a ${target.length}-byte buffer`);
  }
  const volume = fields.volume ?? 10;
  checkUint('event', fields.event, 0xff);
  checkUint('volume', volume, TelephoneEventBits.VOLUME);
  checkUint('duration', fields.duration, 0xffff);
  target[offset + TelephoneEventOffset.EVENT] = fields.event;
  // RFC 4733 §2.3.3: R is sent as zero.
  target[offset + TelephoneEventOffset.FLAGS_VOLUME] = (fields.end ? TelephoneEventBits.END : 0) | volume;
  target[offset + TelephoneEventOffset.DURATION] = fields.duration >>> 8;
  target[offset + TelephoneEventOffset.DURATION + 1] = fields.duration & 0xff;
  return TELEPHONE_EVENT_LENGTH;
}
