import { describe, expect, it } from 'vitest';
import {
  RTP_FIXED_HEADER_LENGTH,
  RtpPacket,
  RtpPacketView,
  RtpParseError,
  writeRtpHeader,
  type RtpHeaderFields,
} from '../../../media-server/embedded/media/rtp-packet.js';

// First packet of Debian sip-tester's dtmf_2833_1.pcap: M=1, PT 101, key 1 starting.
const SIPP_KEY_1 = Buffer.from('80e51f30000033e00e05384e010a0000', 'hex');
// From tests/fixtures/media/sipp-play-dtmf.pcap: SIPp's undeclared payload type 97 filler.
const SIPP_PT_97 = Buffer.from('806104b000005dc00102030500000000', 'hex');

function header(overrides: Partial<RtpHeaderFields> = {}): RtpHeaderFields {
  return { marker: false, payloadType: 0, sequenceNumber: 1, timestamp: 160, ssrc: 0x11223344, ...overrides };
}

describe('RtpPacket.parse', () => {
  it('reads the fixed header of a captured SIPp packet and round-trips it', () => {
    const packet = RtpPacket.parse(SIPP_KEY_1);
    expect(packet).toMatchObject({
      marker: true,
      payloadType: 101,
      sequenceNumber: 0x1f30,
      timestamp: 0x33e0,
      ssrc: 0x0e05384e,
      csrcs: [],
      extension: undefined,
      paddingLength: 0,
    });
    expect(packet.payload).toEqual(Buffer.from('010a0000', 'hex'));
    expect(packet.serialize()).toEqual(SIPP_KEY_1);
  });

  it('parses an undeclared payload type without complaint (SIPp play_dtmf filler, PT 97)', () => {
    const packet = RtpPacket.parse(SIPP_PT_97);
    expect(packet.payloadType).toBe(97);
    expect(packet.payload).toEqual(Buffer.alloc(4));
  });

  it('reads full 32-bit timestamps and SSRCs as unsigned', () => {
    const buf = Buffer.from('8000ffff' + 'fffffffe' + 'ffffffff', 'hex');
    expect(RtpPacket.parse(buf)).toMatchObject({ sequenceNumber: 0xffff, timestamp: 0xfffffffe, ssrc: 0xffffffff });
  });

  it('reads and round-trips a CSRC list, a header extension and padding', () => {
    const packet = new RtpPacket({
      marker: true,
      payloadType: 8,
      sequenceNumber: 7,
      timestamp: 1234,
      ssrc: 99,
      csrcs: [1, 0xdeadbeef],
      extension: { profile: 0xbede, data: Buffer.from('1122334455667788', 'hex') },
      payload: Buffer.from([1, 2, 3]),
      paddingLength: 5,
    });
    const bytes = packet.serialize();
    expect(bytes).toHaveLength(12 + 8 + 4 + 8 + 3 + 5);
    expect(bytes[0]).toBe(0x80 | 0x20 | 0x10 | 2);
    expect(bytes[bytes.length - 1]).toBe(5);
    const parsed = RtpPacket.parse(bytes);
    expect(parsed.csrcs).toEqual([1, 0xdeadbeef]);
    expect(parsed.extension?.profile).toBe(0xbede);
    expect(parsed.extension?.data).toEqual(Buffer.from('1122334455667788', 'hex'));
    expect(parsed.payload).toEqual(Buffer.from([1, 2, 3]));
    expect(parsed.paddingLength).toBe(5);
    expect(parsed.serialize()).toEqual(bytes);
  });

  it('accepts an empty payload and an empty extension', () => {
    const bytes = new RtpPacket({ payloadType: 0, sequenceNumber: 0, timestamp: 0, ssrc: 0, extension: { profile: 1, data: Buffer.alloc(0) } }).serialize();
    const parsed = RtpPacket.parse(bytes);
    expect(parsed.payload).toHaveLength(0);
    expect(parsed.extension?.data).toHaveLength(0);
  });

  it.each([
    ['shorter than the fixed header', '80000001000000000000'],
    ['version 0', '00000001000000a000000001'],
    ['version 1', '40000001000000a000000001'],
    ['version 3', 'c0000001000000a000000001'],
    ['CSRC count beyond the packet', '82000001000000a00000000100000001'],
    ['extension bit without room for its header', '90000001000000a000000001bede'],
    ['extension length beyond the packet', '90000001000000a000000001bede000211223344'],
    ['padding count 0', 'a0000001000000a000000001aabb0000'],
    ['padding longer than what follows the header', 'a0000001000000a000000001aabb0005'],
  ])('rejects %s with RtpParseError', (_what, hex) => {
    expect(() => RtpPacket.parse(Buffer.from(hex, 'hex'))).toThrow(RtpParseError);
  });

  it('accepts padding that exactly fills what follows the header', () => {
    const parsed = RtpPacket.parse(Buffer.from('a0000001000000a000000001' + '00000004', 'hex'));
    expect(parsed.payload).toHaveLength(0);
    expect(parsed.paddingLength).toBe(4);
  });
});

describe('RtpPacketView', () => {
  it('is reusable across packets and gives the payload as a view', () => {
    const view = new RtpPacketView();
    view.read(SIPP_KEY_1);
    expect(view.payloadType).toBe(101);
    expect(view.payloadOffset).toBe(12);
    expect(view.payload().buffer).toBe(SIPP_KEY_1.buffer);
    view.read(SIPP_PT_97);
    expect(view).toMatchObject({ payloadType: 97, marker: false, sequenceNumber: 1200, payloadLength: 4 });
  });

  it('exposes CSRCs by index and range-checks the index', () => {
    const bytes = new RtpPacket({ payloadType: 0, sequenceNumber: 0, timestamp: 0, ssrc: 0, csrcs: [5, 6] }).serialize();
    const view = new RtpPacketView().read(bytes);
    expect([view.csrc(0), view.csrc(1)]).toEqual([5, 6]);
    expect(() => view.csrc(2)).toThrow(RangeError);
  });

  it('is left empty after a failed read', () => {
    const view = new RtpPacketView().read(SIPP_KEY_1);
    expect(() => view.read(Buffer.from('00'.repeat(12), 'hex'))).toThrow(RtpParseError);
    expect(view.buffer).toHaveLength(0);
  });
});

describe('RtpPacket construction', () => {
  it.each([
    ['payload type 128', { payloadType: 128 }],
    ['sequence number 65536', { sequenceNumber: 65536 }],
    ['negative timestamp', { timestamp: -1 }],
    ['fractional SSRC', { ssrc: 1.5 }],
    ['16 CSRCs', { csrcs: new Array<number>(16).fill(1) }],
    ['extension data not whole words', { extension: { profile: 1, data: Buffer.alloc(3) } }],
    ['padding 256', { paddingLength: 256 }],
  ])('refuses %s', (_what, override) => {
    expect(() => new RtpPacket({ payloadType: 0, sequenceNumber: 0, timestamp: 0, ssrc: 0, ...override })).toThrow(RangeError);
  });

  it('serializes into a caller buffer at an offset and refuses one too small', () => {
    const packet = new RtpPacket({ payloadType: 0, sequenceNumber: 1, timestamp: 2, ssrc: 3, payload: Buffer.alloc(160, 0xff) });
    const target = Buffer.alloc(200);
    expect(packet.serializeInto(target, 10)).toBe(172);
    expect(target.subarray(10, 182)).toEqual(packet.serialize());
    expect(() => packet.serializeInto(Buffer.alloc(171))).toThrow(RangeError);
  });
});

describe('writeRtpHeader (send path)', () => {
  it('writes the same bytes RtpPacket does, in place, reusing one fields object', () => {
    const frame = Buffer.alloc(RTP_FIXED_HEADER_LENGTH + 160, 0xff);
    const fields = header({ marker: true, payloadType: 8 });
    expect(writeRtpHeader(frame, fields)).toBe(12);
    expect(frame.subarray(0, 12)).toEqual(new RtpPacket(fields).serialize());
    fields.marker = false;
    fields.sequenceNumber += 1;
    fields.timestamp += 160;
    writeRtpHeader(frame, fields);
    expect(RtpPacket.parse(frame)).toMatchObject({ marker: false, payloadType: 8, sequenceNumber: 2, timestamp: 320 });
    expect(frame.subarray(12)).toEqual(Buffer.alloc(160, 0xff));
  });

  it('wraps the sequence number and timestamp so callers can just keep counting', () => {
    const frame = Buffer.alloc(12);
    writeRtpHeader(frame, header({ sequenceNumber: 0x10001, timestamp: 2 ** 32 + 5 }));
    expect(RtpPacket.parse(frame)).toMatchObject({ sequenceNumber: 1, timestamp: 5 });
  });

  it('writes at an offset and checks the room and payload type', () => {
    const buf = Buffer.alloc(20);
    writeRtpHeader(buf, header(), 8);
    expect(RtpPacket.parse(buf.subarray(8)).ssrc).toBe(0x11223344);
    expect(() => writeRtpHeader(buf, header(), 9)).toThrow(RangeError);
    expect(() => writeRtpHeader(buf, header({ payloadType: 200 }))).toThrow(RangeError);
  });
});
