import { describe, expect, it } from 'vitest';
import { type DtmfKey } from '../../../domain/dtmf-key.js';
import { dtmfEventCode } from '../../../media-server/embedded/media/dtmf-keypad.js';
import { TelephoneEvent } from '../../../media-server/embedded/media/telephone-event.js';
import {
  TelephoneEventReceiver,
  type TelephoneEventReport,
} from '../../../media-server/embedded/media/telephone-event-receiver.js';

interface Sent {
  readonly ssrc: number;
  readonly timestamp: number;
  readonly marker: boolean;
  readonly event: TelephoneEvent;
  readonly atMs: number;
}

/**
 * One key press the way SIPp 3.6.1 play_dtmf sends it: first packet marked
 * with duration 0, an update every 20 ms (+160), then the end packet three
 * times. `reserved` sets the R bit on every packet.
 */
function press(key: DtmfKey, o: { ssrc: number; timestamp: number; atMs: number; updates?: number; reserved?: boolean }): Sent[] {
  const updates = o.updates ?? 5;
  const sent: Sent[] = [];
  for (let i = 0; i < updates; i++) {
    sent.push({
      ssrc: o.ssrc,
      timestamp: o.timestamp,
      marker: i === 0,
      event: new TelephoneEvent({ event: dtmfEventCode(key), duration: 160 * i }, o.reserved ?? false),
      atMs: o.atMs + 20 * i,
    });
  }
  for (let i = 0; i < 3; i++) {
    sent.push({
      ssrc: o.ssrc,
      timestamp: o.timestamp,
      marker: false,
      event: new TelephoneEvent({ event: dtmfEventCode(key), end: true, duration: 160 * updates }, o.reserved ?? false),
      atMs: o.atMs + 20 * updates + i,
    });
  }
  return sent;
}

function feed(receiver: TelephoneEventReceiver, packets: readonly Sent[]): TelephoneEventReport[] {
  return packets.flatMap((p) => [...receiver.receive(p, p.event, p.atMs)]);
}

function summary(reports: readonly TelephoneEventReport[]): string[] {
  return reports.map((r) => (r.type === 'start' ? `start ${r.key}` : `end ${r.key} ${r.reason} ${r.duration}`));
}

describe('TelephoneEventReceiver', () => {
  it('reports a press at its first packet and its end once, though the end packet comes three times', () => {
    const receiver = new TelephoneEventReceiver();
    const packets = press('7', { ssrc: 1, timestamp: 8000, atMs: 1000 });
    expect(summary(receiver.receive(packets[0] as Sent, (packets[0] as Sent).event, 1000))).toEqual(['start 7']);
    expect(receiver.state).toBe('in-event');
    expect(receiver.activeEvent).toEqual({ key: '7', event: 7, ssrc: 1, timestamp: 8000 });
    const rest = feed(receiver, packets.slice(1));
    expect(summary(rest)).toEqual(['end 7 end-bit 800']);
    expect(rest[0]).toMatchObject({ durationMs: 100, atMs: 1100 });
    expect(receiver.state).toBe('idle');
  });

  it('counts two presses of the same key (new timestamp, same SSRC) twice', () => {
    const receiver = new TelephoneEventReceiver();
    const reports = feed(receiver, [
      ...press('4', { ssrc: 9, timestamp: 1000, atMs: 0 }),
      ...press('4', { ssrc: 9, timestamp: 3000, atMs: 300 }),
    ]);
    expect(summary(reports)).toEqual(['start 4', 'end 4 end-bit 800', 'start 4', 'end 4 end-bit 800']);
  });

  it('copes with SIPp: a new SSRC per play_dtmf with the same restarted timestamp', () => {
    const receiver = new TelephoneEventReceiver();
    const reports = feed(receiver, [
      ...press('1', { ssrc: 0x01020305, timestamp: 24400, atMs: 0 }),
      ...press('1', { ssrc: 0x01020306, timestamp: 24400, atMs: 500 }),
    ]);
    expect(summary(reports)).toEqual(['start 1', 'end 1 end-bit 800', 'start 1', 'end 1 end-bit 800']);
  });

  it('tolerates the R bit', () => {
    const receiver = new TelephoneEventReceiver();
    expect(summary(feed(receiver, press('#', { ssrc: 1, timestamp: 0, atMs: 0, reserved: true })))).toEqual([
      'start #',
      'end # end-bit 800',
    ]);
  });

  it('ends an event whose end packets were lost when the next one starts (superseded)', () => {
    const receiver = new TelephoneEventReceiver();
    const first = press('2', { ssrc: 5, timestamp: 100, atMs: 0 }).filter((p) => !p.event.end);
    const reports = feed(receiver, [...first, ...press('3', { ssrc: 5, timestamp: 2000, atMs: 150 })]);
    expect(summary(reports)).toEqual(['start 2', 'end 2 superseded 640', 'start 3', 'end 3 end-bit 800']);
  });

  it('ends an event whose end packets were lost after the timeout, and tells a masker until when it is active', () => {
    const receiver = new TelephoneEventReceiver({ endTimeoutMs: 200 });
    const packets = press('9', { ssrc: 5, timestamp: 100, atMs: 1000 }).filter((p) => !p.event.end);
    feed(receiver, packets);
    const lastMs = 1080;
    expect(receiver.activeUntilMs).toBe(lastMs + 200);
    expect(receiver.isActive(lastMs + 199)).toBe(true);
    expect(receiver.poll(lastMs + 199)).toEqual([]);
    const ended = receiver.poll(lastMs + 200);
    expect(summary(ended)).toEqual(['end 9 timeout 640']);
    expect(ended[0]?.atMs).toBe(lastMs + 200);
    expect(receiver.isActive(lastMs + 200)).toBe(false);
    expect(receiver.poll(lastMs + 1000)).toEqual([]);
  });

  it('ends a timed-out event when the next packet arrives even if nobody polled', () => {
    const receiver = new TelephoneEventReceiver({ endTimeoutMs: 200 });
    feed(receiver, press('1', { ssrc: 5, timestamp: 100, atMs: 0 }).filter((p) => !p.event.end));
    const reports = feed(receiver, press('6', { ssrc: 5, timestamp: 9000, atMs: 5000 }));
    expect(summary(reports)).toEqual(['end 1 timeout 640', 'start 6', 'end 6 end-bit 800']);
  });

  it('does not report again when packets of a timed-out event resume, but keeps it active for a masker', () => {
    const receiver = new TelephoneEventReceiver({ endTimeoutMs: 100 });
    const packets = press('5', { ssrc: 5, timestamp: 100, atMs: 0, updates: 20 });
    const early = packets.slice(0, 3);
    const late = packets.slice(3).map((p) => ({ ...p, atMs: p.atMs + 500 }));
    expect(summary(feed(receiver, early))).toEqual(['start 5']);
    expect(summary(receiver.poll(300))).toEqual(['end 5 timeout 320']);
    expect(feed(receiver, late.slice(0, 2))).toEqual([]);
    expect(receiver.isActive((late[1] as Sent).atMs + 50)).toBe(true);
    expect(feed(receiver, late.slice(2))).toEqual([]);
  });

  it('still reports a press whose first packets were lost (no marker seen)', () => {
    const receiver = new TelephoneEventReceiver();
    const packets = press('8', { ssrc: 5, timestamp: 100, atMs: 0 }).slice(2);
    expect(summary(feed(receiver, packets))).toEqual(['start 8', 'end 8 end-bit 800']);
  });

  it('reports a press seen only through its end packets as a start and an end at once', () => {
    const receiver = new TelephoneEventReceiver();
    const packets = press('0', { ssrc: 5, timestamp: 100, atMs: 0 }).filter((p) => p.event.end);
    const first = receiver.receive(packets[0] as Sent, (packets[0] as Sent).event, 0);
    expect(summary(first)).toEqual(['start 0', 'end 0 end-bit 800']);
    expect(feed(receiver, packets.slice(1))).toEqual([]);
  });

  it('drops end packets of an earlier event that arrive after the next event started (reordering)', () => {
    const receiver = new TelephoneEventReceiver();
    const a = press('1', { ssrc: 5, timestamp: 100, atMs: 0 });
    const b = press('2', { ssrc: 5, timestamp: 2000, atMs: 200 });
    const reports = feed(receiver, [...a.slice(0, 6), ...b.slice(0, 2), ...a.slice(6), ...b.slice(2)]);
    expect(summary(reports)).toEqual(['start 1', 'end 1 end-bit 800', 'start 2', 'end 2 end-bit 800']);
  });

  it('joins the segments of a long event (RFC 4733 §2.5.1.3) into one press', () => {
    const receiver = new TelephoneEventReceiver();
    const reports: TelephoneEventReport[] = [];
    const send = (timestamp: number, marker: boolean, duration: number, atMs: number, end = false): void => {
      reports.push(...receiver.receive({ ssrc: 3, timestamp, marker }, new TelephoneEvent({ event: 5, end, duration }), atMs));
    };
    // An update every 50 ms (400 timestamp units) until the 16-bit duration is full …
    let atMs = 0;
    for (let duration = 0; duration < 0xffff; duration += 400, atMs += 50) send(1000, duration === 0, duration, atMs);
    send(1000, false, 0xffff, atMs);
    // … then the next segment, timestamped where the first one stopped, without marker.
    send(1000 + 0xffff, false, 400, atMs + 50);
    send(1000 + 0xffff, false, 800, atMs + 100, true);
    // A straggler of the first segment changes nothing.
    send(1000, false, 0xffff, atMs + 101);
    expect(summary(reports)).toEqual(['start 5', `end 5 end-bit ${0xffff + 800}`]);
  });

  it('does not mistake a new press of the same key after lost end packets for a segment', () => {
    const receiver = new TelephoneEventReceiver();
    const first = press('5', { ssrc: 3, timestamp: 1000, atMs: 0 }).filter((p) => !p.event.end);
    const second = press('5', { ssrc: 3, timestamp: 2600, atMs: 150 }).slice(1);
    expect(summary(feed(receiver, [...first, ...second]))).toEqual(['start 5', 'end 5 superseded 640', 'start 5', 'end 5 end-bit 800']);
  });

  it('reports non-DTMF events without a key', () => {
    const receiver = new TelephoneEventReceiver();
    const [start] = receiver.receive({ ssrc: 1, timestamp: 1, marker: true }, new TelephoneEvent({ event: 16, duration: 0 }), 0);
    expect(start).toMatchObject({ type: 'start', event: 16, key: undefined });
  });

  it('uses the clock rate for durations and forgets everything on reset', () => {
    const receiver = new TelephoneEventReceiver({ clockRate: 16000 });
    const reports = feed(receiver, press('1', { ssrc: 1, timestamp: 1, atMs: 0 }));
    expect(reports[1]).toMatchObject({ duration: 800, durationMs: 50 });
    receiver.receive({ ssrc: 2, timestamp: 1, marker: true }, new TelephoneEvent({ event: 2, duration: 0 }), 0);
    receiver.reset();
    expect(receiver.state).toBe('idle');
    expect(receiver.activeUntilMs).toBe(Number.NEGATIVE_INFINITY);
    expect(summary(feed(receiver, press('1', { ssrc: 1, timestamp: 1, atMs: 0 })))).toEqual(['start 1', 'end 1 end-bit 800']);
  });

  it('refuses nonsensical options', () => {
    expect(() => new TelephoneEventReceiver({ endTimeoutMs: 0 })).toThrow(RangeError);
    expect(() => new TelephoneEventReceiver({ clockRate: -1 })).toThrow(RangeError);
    expect(() => new TelephoneEventReceiver({ historySize: 0 })).toThrow(RangeError);
  });
});

describe('TelephoneEventReceiver: what real senders get wrong (each key once)', () => {
  /** A press sent by hand: one packet per entry, `[timestamp, duration, end?, marker?]`, 50 ms apart. */
  function sendAll(receiver: TelephoneEventReceiver, packets: ReadonlyArray<readonly [timestamp: number, duration: number, end?: boolean, marker?: boolean]>, key = 5, ssrc = 7): TelephoneEventReport[] {
    return packets.flatMap(([timestamp, duration, end = false, marker = false], i) => [
      ...receiver.receive({ ssrc, timestamp, marker }, new TelephoneEvent({ event: key, end, duration }), i * 50),
    ]);
  }

  it('the end packet three times (RFC 4733 §2.5.1.4), one copy lost, one late after the next key: one press each', () => {
    const receiver = new TelephoneEventReceiver();
    const a = press('3', { ssrc: 2, timestamp: 100, atMs: 0 });
    const b = press('3', { ssrc: 2, timestamp: 3000, atMs: 400 });
    // a's first end packet lost, its third one arrives among b's packets.
    const reports = feed(receiver, [...a.slice(0, 5), a[6]!, ...b.slice(0, 3), a[7]!, ...b.slice(3)]);
    expect(summary(reports)).toEqual(['start 3', 'end 3 end-bit 800', 'start 3', 'end 3 end-bit 800']);
  });

  it('no marker bit on any packet (a sender that never sets it): each press once, two presses of one key twice', () => {
    const receiver = new TelephoneEventReceiver();
    const unmarked = (p: Sent): Sent => ({ ...p, marker: false });
    const reports = feed(receiver, [
      ...press('9', { ssrc: 4, timestamp: 800, atMs: 0 }).map(unmarked),
      ...press('9', { ssrc: 4, timestamp: 2800, atMs: 250 }).map(unmarked),
      ...press('1', { ssrc: 4, timestamp: 4800, atMs: 500 }).map(unmarked),
    ]);
    expect(summary(reports)).toEqual(['start 9', 'end 9 end-bit 800', 'start 9', 'end 9 end-bit 800', 'start 1', 'end 1 end-bit 800']);
  });

  it('a long press whose 16-bit duration wraps while the timestamp stays (no new segment): one press, the whole duration', () => {
    const receiver = new TelephoneEventReceiver();
    const packets: [number, number, boolean?, boolean?][] = [[5000, 0, false, true]];
    for (let d = 4000; d < 0x10000 + 8000; d += 4000) packets.push([5000, d & 0xffff]);
    packets.push([5000, (0x10000 + 8000) & 0xffff, true], [5000, (0x10000 + 8000) & 0xffff, true], [5000, (0x10000 + 8000) & 0xffff, true]);
    expect(summary(sendAll(receiver, packets))).toEqual(['start 5', `end 5 end-bit ${0x10000 + 8000}`]);
  });

  it('a duration that jumps (updates lost, a sender clock hiccup): one press', () => {
    const receiver = new TelephoneEventReceiver();
    const reports = sendAll(receiver, [
      [9000, 0, false, true],
      [9000, 400],
      [9000, 30_000],
      [9000, 30_400],
      [9000, 30_800, true],
      [9000, 30_800, true],
    ]);
    expect(summary(reports)).toEqual(['start 5', 'end 5 end-bit 30800']);
  });

  it('a long press cut into segments shorter than the 16-bit limit (a sender with its own limit): one press', () => {
    // Each segment starts where the previous one ended (§2.5.1.3), without marker, after 2 s (16000 units).
    const receiver = new TelephoneEventReceiver();
    const packets: [number, number, boolean?, boolean?][] = [];
    for (let segment = 0; segment < 3; segment++) {
      const timestamp = 1000 + segment * 16_000;
      for (let d = segment === 0 ? 0 : 400; d <= 16_000; d += 400) packets.push([timestamp, d, false, segment === 0 && d === 0]);
    }
    packets.push([1000 + 3 * 16_000, 800, true], [1000 + 3 * 16_000, 800, true], [1000 + 3 * 16_000, 800, true]);
    expect(summary(sendAll(receiver, packets))).toEqual(['start 5', `end 5 end-bit ${3 * 16_000 + 800}`]);
  });

  it('yet a new press of the same key after the shortest pause (Q.24: 40 ms), end packets and marker lost, is a new press', () => {
    const receiver = new TelephoneEventReceiver();
    const first = press('5', { ssrc: 3, timestamp: 1000, atMs: 0 }).filter((p) => !p.event.end);
    // 100 ms of tone (800 units), 40 ms of pause (320): the next press starts at 2120; its marked first packet is lost.
    const second = press('5', { ssrc: 3, timestamp: 1000 + 800 + 320, atMs: 140 }).slice(1);
    expect(summary(feed(receiver, [...first, ...second]))).toEqual(['start 5', 'end 5 superseded 640', 'start 5', 'end 5 end-bit 800']);
  });
});
