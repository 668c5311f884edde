import { describe, expect, it } from 'vitest';
import { JitterBuffer } from '../../../media-server/embedded/rtp/jitter-buffer.js';

function frame(value: number, n = 160): Int16Array {
  return new Int16Array(n).fill(value);
}

describe('JitterBuffer', () => {
  it('reads silence until the first packet, then plays from the target delay behind it', () => {
    const jb = new JitterBuffer({ targetDelaySamples: 320 });
    const out = new Int16Array(160);
    expect(jb.read(out)).toBe('silence');
    jb.write(1000, frame(1), 160);
    jb.write(1160, frame(2), 160);
    expect(jb.read(out)).toBe('silence');
    expect(jb.read(out)).toBe('silence');
    expect(jb.read(out)).toBe('audio');
    expect(out[0]).toBe(1);
    expect(jb.read(out)).toBe('audio');
    expect(out[159]).toBe(2);
  });

  it('puts reordered packets in place, whatever their size', () => {
    const jb = new JitterBuffer({ targetDelaySamples: 0 });
    const out = new Int16Array(160);
    jb.write(0, frame(1, 80), 80);
    jb.write(160, frame(3, 240), 240);
    jb.write(80, frame(2, 80), 80);
    expect(jb.read(out)).toBe('audio');
    expect([out[0], out[79], out[80], out[159]]).toEqual([1, 1, 2, 2]);
    expect(jb.read(out)).toBe('audio');
    expect(jb.read(out)).toBe('partial');
    expect([out[79], out[80]]).toEqual([3, 0]);
  });

  it('conceals a lost frame by repeating the last one at falling gain, then falls silent', () => {
    const jb = new JitterBuffer({ targetDelaySamples: 0 });
    const out = new Int16Array(160);
    jb.write(0, frame(300), 160);
    expect(jb.read(out)).toBe('audio');
    expect(jb.read(out)).toBe('concealed');
    expect(out[10]).toBe(200);
    expect(jb.read(out)).toBe('concealed');
    expect(out[10]).toBe(100);
    expect(jb.read(out)).toBe('silence');
    expect(out[10]).toBe(0);
    expect(jb.stats().concealedFrames).toBe(2);
  });

  it('drops late packets and follows timestamps that went back after a few', () => {
    const jb = new JitterBuffer({ targetDelaySamples: 0, lateResyncPackets: 3 });
    const out = new Int16Array(160);
    jb.write(10_000, frame(1), 160);
    jb.read(out);
    jb.read(out);
    expect(jb.write(10_000, frame(9), 160)).toBe(false);
    expect(jb.write(0, frame(5), 160)).toBe(false);
    expect(jb.write(160, frame(6), 160)).toBe(true);
    expect(jb.stats()).toMatchObject({ late: 2, resyncs: 1 });
  });

  it('follows a late packet at once when it starts a talkspurt (marker)', () => {
    const jb = new JitterBuffer({ targetDelaySamples: 160 });
    const out = new Int16Array(160);
    jb.write(50_000, frame(1), 160);
    for (let i = 0; i < 6; i++) jb.read(out);
    expect(jb.write(100, frame(4), 160, true)).toBe(true);
    expect(jb.read(out)).toBe('silence');
    expect(jb.read(out)).toBe('audio');
    expect(out[0]).toBe(4);
  });

  it('restarts at a packet too far ahead (overflow) and across the 32-bit timestamp wrap', () => {
    const jb = new JitterBuffer({ targetDelaySamples: 0, capacitySamples: 1024 });
    const out = new Int16Array(160);
    jb.write(0xffffff60, frame(1), 160);
    jb.write(0, frame(2), 160);
    expect(jb.read(out)).toBe('audio');
    expect(jb.read(out)).toBe('audio');
    expect(out[0]).toBe(2);
    jb.write(5000, frame(3), 160);
    expect(jb.stats().overflows).toBe(1);
    expect(jb.read(out)).toBe('audio');
    expect(out[0]).toBe(3);
  });

  it('reset forgets the stream (a new SSRC)', () => {
    const jb = new JitterBuffer({ targetDelaySamples: 0 });
    const out = new Int16Array(160);
    jb.write(0, frame(1), 160);
    jb.reset();
    expect(jb.started).toBe(false);
    jb.write(777_777, frame(8), 160);
    expect(jb.read(out)).toBe('audio');
    expect(out[0]).toBe(8);
  });

  it('rejects a capacity that is not a power of two', () => {
    expect(() => new JitterBuffer({ capacitySamples: 1000 })).toThrow(RangeError);
  });

  it('says when the newest packet in the frame just read arrived, and NaN for a frame with none', () => {
    const jb = new JitterBuffer({ targetDelaySamples: 0 });
    const half = new Int16Array(80).fill(100);
    jb.write(0, half, 80, false, 1000);
    jb.write(80, half, 80, false, 1012);
    jb.write(160, half, 80, false, 1025);
    const out = new Int16Array(160);
    jb.read(out);
    expect(jb.lastReadArrivalMs).toBe(1012);
    jb.read(out);
    expect(jb.lastReadArrivalMs).toBe(1025);
    jb.read(out);
    expect(jb.lastReadArrivalMs).toBeNaN();
  });
});
