import { describe, expect, it } from 'vitest';
import { TelephoneEvent } from '../../../media-server/embedded/media/telephone-event.js';
import { TelephoneEventSender } from '../../../media-server/embedded/rtp/telephone-event-sender.js';

/** The packets the sender writes for successive 20 ms frames starting at `timestamp`, until it has nothing left. */
function drain(sender: TelephoneEventSender, timestamp: number): { timestamp: number; marker: boolean; event: TelephoneEvent }[] {
  const packets = [];
  const payload = Buffer.alloc(160);
  for (let frame = 0; sender.pending && frame < 1000; frame++) {
    const fields = sender.next(timestamp + frame * 160, payload);
    if (!fields) break;
    packets.push({ timestamp: fields.timestamp, marker: fields.marker, event: TelephoneEvent.parse(payload.subarray(0, 4)) });
  }
  return packets;
}

describe('TelephoneEventSender (RFC 4733 §2.5.1)', () => {
  it('one press: the marker on the first packet, the start timestamp on all, the duration growing by a frame, the end sent three times', () => {
    const sender = new TelephoneEventSender();
    sender.enqueue('5', 100);
    const packets = drain(sender, 8000);
    expect(packets.map((p) => p.marker)).toEqual([true, false, false, false, false, false, false]);
    expect(new Set(packets.map((p) => p.timestamp))).toEqual(new Set([8000]));
    expect(packets.map((p) => p.event.event)).toEqual(Array(7).fill(5));
    // 100 ms = 800 samples: 160, 320, 480, 640, then 800 with E, three times.
    expect(packets.map((p) => p.event.duration)).toEqual([160, 320, 480, 640, 800, 800, 800]);
    expect(packets.map((p) => p.event.end)).toEqual([false, false, false, false, true, true, true]);
    expect(sender.pending).toBe(false);
  });

  it('presses in turn, each with its own start timestamp; # and * by their event codes', () => {
    const sender = new TelephoneEventSender();
    sender.enqueue('#', 40);
    sender.enqueue('*', 40);
    const packets = drain(sender, 0);
    const starts = packets.filter((p) => p.marker);
    expect(starts.map((p) => p.event.event)).toEqual([11, 10]);
    expect(starts[1]!.timestamp).toBeGreaterThan(starts[0]!.timestamp);
    expect(packets.filter((p) => p.event.end)).toHaveLength(6);
  });

  it('a press shorter than 40 ms is sent as 40 ms; clear() forgets what was not sent', () => {
    const sender = new TelephoneEventSender();
    sender.enqueue('1', 5);
    expect(drain(sender, 0).at(-1)!.event.duration).toBe(320);
    sender.enqueue('2');
    sender.clear();
    expect(sender.pending).toBe(false);
    expect(sender.next(0, Buffer.alloc(4))).toBeUndefined();
  });
});
