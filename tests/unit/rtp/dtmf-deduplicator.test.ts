import { describe, expect, it } from 'vitest';
import { DtmfDeduplicator } from '../../../media-server/dtmf/dtmf-deduplicator.js';

describe('DtmfDeduplicator', () => {
  it('counts one press reported by RFC 4733 then in-band once', () => {
    const d = new DtmfDeduplicator();
    expect(d.accept('5', 'rfc4733', 1000)).toBe(true);
    expect(d.accept('5', 'inband', 1090)).toBe(false);
    expect(d.duplicates).toBe(1);
  });

  it('counts one press reported by INFO, RFC 4733 and in-band once, in any order', () => {
    const d = new DtmfDeduplicator();
    expect(d.accept('#', 'info', 1000)).toBe(true);
    expect(d.accept('#', 'rfc4733', 940)).toBe(false);
    expect(d.accept('#', 'inband', 1200)).toBe(false);
  });

  it('never merges two reports by the same method (a key pressed twice)', () => {
    const d = new DtmfDeduplicator();
    expect(d.accept('1', 'rfc4733', 0)).toBe(true);
    expect(d.accept('1', 'rfc4733', 90)).toBe(true);
    const e = new DtmfDeduplicator();
    expect(e.accept('1', 'inband', 10)).toBe(true);
    expect(e.accept('1', 'inband', 100)).toBe(true);
  });

  it('pairs the second method with the presses oldest first: "1 1" by both methods is two presses', () => {
    const d = new DtmfDeduplicator();
    const accepted = [
      d.accept('1', 'rfc4733', 0),
      d.accept('1', 'rfc4733', 120),
      d.accept('1', 'inband', 80),
      d.accept('1', 'inband', 200),
    ];
    expect(accepted).toEqual([true, true, false, false]);
  });

  it('reports a different key at once', () => {
    const d = new DtmfDeduplicator();
    expect(d.accept('1', 'rfc4733', 0)).toBe(true);
    expect(d.accept('2', 'inband', 50)).toBe(true);
  });

  it('treats reports further apart than the window as separate presses', () => {
    const d = new DtmfDeduplicator({ windowMs: 300 });
    expect(d.accept('7', 'rfc4733', 0)).toBe(true);
    expect(d.accept('7', 'inband', 301)).toBe(true);
    expect(d.accept('7', 'inband', 300 + 301)).toBe(true);
    expect(d.accept('7', 'rfc4733', 300 + 350)).toBe(false);
  });

  it('a long press by RFC 4733 and an INFO sent at key-up with its Duration: one press', () => {
    // The RFC 4733 event starts at 1000 and lasts 900 ms; the phone sends the INFO as the key comes up.
    const d = new DtmfDeduplicator();
    expect(d.accept('3', 'rfc4733', 1000)).toBe(true);
    expect(d.accept('3', 'info', 1930, 900)).toBe(false);
    // The next press of the same key, by both methods, is a press of its own.
    expect(d.accept('3', 'rfc4733', 2300)).toBe(true);
    expect(d.accept('3', 'info', 2310, 100)).toBe(false);
    expect(d.duplicates).toBe(2);
  });

  it('a long press by RFC 4733, extended while its packets come, and an INFO without Duration at key-up: one press', () => {
    const d = new DtmfDeduplicator();
    expect(d.accept('8', 'rfc4733', 0)).toBe(true);
    d.extend('8', 'rfc4733', 1200);
    expect(d.accept('8', 'info', 1250)).toBe(false);
    // Without the extension the same INFO would have been a second press.
    const e = new DtmfDeduplicator();
    e.accept('8', 'rfc4733', 0);
    expect(e.accept('8', 'info', 1250)).toBe(true);
  });

  it('extend stretches the latest press of that key by that method only', () => {
    const d = new DtmfDeduplicator();
    d.accept('1', 'rfc4733', 0);
    d.accept('1', 'rfc4733', 500);
    d.extend('1', 'rfc4733', 1500);
    d.extend('1', 'inband', 5000);
    d.extend('2', 'rfc4733', 5000);
    // The first press (0) pairs with a report near it; the second (500–1500) with one near its end.
    expect(d.accept('1', 'info', 100)).toBe(false);
    expect(d.accept('1', 'info', 1700)).toBe(false);
    expect(d.accept('1', 'info', 1900)).toBe(true);
  });

  it('forgets everything on reset and rejects a bad window', () => {
    const d = new DtmfDeduplicator();
    d.accept('9', 'rfc4733', 0);
    d.reset();
    expect(d.accept('9', 'inband', 10)).toBe(true);
    expect(() => new DtmfDeduplicator({ windowMs: -1 })).toThrow(RangeError);
  });
});
