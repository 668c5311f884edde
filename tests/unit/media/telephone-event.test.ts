import { describe, expect, it } from 'vitest';
import { DTMF_KEYS, isDtmfKey } from '../../../domain/dtmf-key.js';
import { dtmfEventCode, dtmfKeyFromEventCode } from '../../../media-server/embedded/media/dtmf-keypad.js';
import {
  TelephoneEvent,
  TelephoneEventParseError,
  writeTelephoneEvent,
} from '../../../media-server/embedded/media/telephone-event.js';

describe('TelephoneEvent', () => {
  it('parses the first event packet SIPp sends (duration 0)', () => {
    const event = TelephoneEvent.parse(Buffer.from('010a0000', 'hex'));
    expect(event).toMatchObject({ event: 1, end: false, reserved: false, volume: 10, duration: 0 });
    expect(event.key).toBe('1');
  });

  it('parses the E and R bits; R is tolerated (SIPp sets it) and written back as zero', () => {
    const event = TelephoneEvent.parse(Buffer.from('0bca0320', 'hex'));
    expect(event).toMatchObject({ event: 11, end: true, reserved: true, volume: 10, duration: 800 });
    expect(event.key).toBe('#');
    expect(event.serialize()).toEqual(Buffer.from('0b8a0320', 'hex'));
  });

  it('round-trips every key, the volume range and the 16-bit duration', () => {
    for (const key of DTMF_KEYS) {
      for (const [volume, duration, end] of [
        [0, 0, false],
        [63, 0xffff, true],
        [36, 1234, false],
      ] as const) {
        const event = new TelephoneEvent({ event: dtmfEventCode(key), end, volume, duration });
        const parsed = TelephoneEvent.parse(event.serialize());
        expect(parsed).toMatchObject({ event: dtmfEventCode(key), end, volume, duration, reserved: false });
        expect(parsed.key).toBe(key);
      }
    }
  });

  it('has no key for non-DTMF events (16 = flash)', () => {
    expect(TelephoneEvent.parse(Buffer.from('100a0000', 'hex')).key).toBeUndefined();
  });

  it('parses packed events (RFC 4733 §2.5.1.5) one block at a time or all at once', () => {
    const payload = Buffer.from('018a0320' + '020a00a0', 'hex');
    expect(TelephoneEvent.parse(payload, 4).event).toBe(2);
    expect(TelephoneEvent.parseAll(payload).map((e) => [e.key, e.end])).toEqual([
      ['1', true],
      ['2', false],
    ]);
    expect(() => TelephoneEvent.parse(payload, 2)).toThrow(RangeError);
    expect(() => TelephoneEvent.parse(payload, 8)).toThrow(RangeError);
  });

  it.each([
    ['empty', ''],
    ['3 bytes', '010a00'],
    ['6 bytes', '010a00000000'],
  ])('rejects a %s payload with TelephoneEventParseError', (_what, hex) => {
    expect(() => TelephoneEvent.parse(Buffer.from(hex, 'hex'))).toThrow(TelephoneEventParseError);
    expect(() => TelephoneEvent.parseAll(Buffer.from(hex, 'hex'))).toThrow(TelephoneEventParseError);
  });

  it('refuses out-of-range fields', () => {
    expect(() => new TelephoneEvent({ event: 256, duration: 0 })).toThrow(RangeError);
    expect(() => new TelephoneEvent({ event: 1, volume: 64, duration: 0 })).toThrow(RangeError);
    expect(() => new TelephoneEvent({ event: 1, duration: 0x10000 })).toThrow(RangeError);
    expect(() => writeTelephoneEvent(Buffer.alloc(4), { event: 1, duration: -1 })).toThrow(RangeError);
  });

  it('writes into a preallocated buffer at an offset (send path)', () => {
    const buf = Buffer.alloc(16, 0xee);
    const fields = { event: 5, end: false, volume: 10, duration: 160 };
    expect(writeTelephoneEvent(buf, fields, 12)).toBe(4);
    expect(buf.subarray(12).toString('hex')).toBe('050a00a0');
    expect(() => writeTelephoneEvent(buf, fields, 13)).toThrow(RangeError);
  });
});

describe('DTMF keys and RFC 4733 event codes', () => {
  it('map 0–9, *, #, A–D to 0–15 and back', () => {
    expect(DTMF_KEYS.map(dtmfEventCode)).toEqual([...Array(16).keys()]);
    expect(dtmfKeyFromEventCode(10)).toBe('*');
    expect(dtmfKeyFromEventCode(11)).toBe('#');
    expect(dtmfKeyFromEventCode(15)).toBe('D');
    expect(dtmfKeyFromEventCode(16)).toBeUndefined();
    expect(isDtmfKey('#')).toBe(true);
    expect(isDtmfKey('E')).toBe(false);
  });
});
