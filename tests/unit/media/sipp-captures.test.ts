import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RtpPacket } from '../../../media-server/embedded/media/rtp-packet.js';
import { TelephoneEvent } from '../../../media-server/embedded/media/telephone-event.js';
import {
  TelephoneEventReceiver,
  type TelephoneEventReport,
} from '../../../media-server/embedded/media/telephone-event-receiver.js';
import { readPcapUdp } from '../../../tools/capture/pcap-reader.js';

// Real SIPp captures: Debian sip-tester's RFC 2833 pcaps (read in place; scripts/install-test-tools.sh installs
// the package) and our own capture of SIPp 3.6.1 play_dtmf (tests/fixtures/media/README.md).
const SIPP_PCAPS = '/usr/share/sip-tester';
const FIXTURES = join(import.meta.dirname, '../../fixtures/media');

interface Played {
  readonly reports: TelephoneEventReport[];
  readonly packets: RtpPacket[];
}

/**
 * Feeds every packet of `payloadType` to one receiver, with the capture's own
 * arrival times; `alter` may change a packet's marker or drop it (false).
 */
function play(file: string, payloadType: number, alter: (packet: RtpPacket, event: TelephoneEvent) => { marker: boolean } | false = (p) => p): Played {
  const receiver = new TelephoneEventReceiver();
  const reports: TelephoneEventReport[] = [];
  const packets: RtpPacket[] = [];
  let lastMs = 0;
  for (const datagram of readPcapUdp(readFileSync(file))) {
    const packet = RtpPacket.parse(datagram.payload);
    packets.push(packet);
    // Real captured bytes round-trip.
    expect(packet.serialize()).toEqual(datagram.payload);
    lastMs = datagram.timeMs;
    if (packet.payloadType !== payloadType) continue;
    const event = TelephoneEvent.parse(packet.payload);
    const altered = alter(packet, event);
    if (altered === false) continue;
    reports.push(...receiver.receive({ ssrc: packet.ssrc, timestamp: packet.timestamp, marker: altered.marker }, event, datagram.timeMs));
  }
  reports.push(...receiver.poll(lastMs + 10_000));
  return { reports, packets };
}

const DEBIAN_FILES: ReadonlyArray<readonly [string, string]> = [
  ...['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'].map((d) => [`dtmf_2833_${d}.pcap`, d] as const),
  ['dtmf_2833_star.pcap', '*'],
  ['dtmf_2833_pound.pcap', '#'],
];

describe("Debian sip-tester's RFC 2833 pcaps", () => {
  it('are installed (apt-get install sip-tester)', () => {
    expect(existsSync(join(SIPP_PCAPS, 'dtmf_2833_0.pcap'))).toBe(true);
  });

  it.each(DEBIAN_FILES)('%s yields exactly one press of %s', (file, key) => {
    const { reports, packets } = play(join(SIPP_PCAPS, file), 101);
    expect(packets).toHaveLength(10);
    expect(reports).toHaveLength(2);
    expect(reports[0]).toMatchObject({ type: 'start', key, ssrc: 0x0e05384e });
    // Seven updates, then the end packet three times (RFC 4733 §2.5.1.4), counted once.
    expect(reports[1]).toMatchObject({ type: 'end', key, reason: 'end-bit', duration: 2240, durationMs: 280 });
  });
});

describe('SIPp 3.6.1 play_dtmf capture', () => {
  const file = join(FIXTURES, 'sipp-play-dtmf.pcap');

  it('yields 1, 2, # then 5, each once, across two SSRCs with the same restarted timestamps', () => {
    const { reports } = play(file, 96);
    const starts = reports.filter((r) => r.type === 'start');
    const ends = reports.filter((r) => r.type === 'end');
    expect(starts.map((r) => r.key)).toEqual(['1', '2', '#', '5']);
    expect(starts.map((r) => r.ssrc)).toEqual([0x01020305, 0x01020305, 0x01020305, 0x01020306]);
    expect(starts[0]?.timestamp).toBe(24400);
    expect(starts[3]?.timestamp).toBe(24400);
    expect(ends.map((r) => [r.key, r.reason, r.duration])).toEqual([
      ['1', 'end-bit', 800],
      ['2', 'end-bit', 800],
      ['#', 'end-bit', 800],
      ['5', 'end-bit', 1600],
    ]);
  });

  it('still 1, 2, # then 5, each once, with no marker bit anywhere and only the last of the three end packets', () => {
    const endsSeen = new Map<string, number>();
    const { reports } = play(file, 96, (packet, event) => {
      if (event.end) {
        const id = `${packet.ssrc}/${packet.timestamp}/${event.event}`;
        const seen = (endsSeen.get(id) ?? 0) + 1;
        endsSeen.set(id, seen);
        if (seen < 3) return false;
      }
      return { marker: false };
    });
    expect(reports.filter((r) => r.type === 'start').map((r) => r.key)).toEqual(['1', '2', '#', '5']);
    expect(reports.filter((r) => r.type === 'end').map((r) => [r.key, r.reason])).toEqual([
      ['1', 'end-bit'],
      ['2', 'end-bit'],
      ['#', 'end-bit'],
      ['5', 'end-bit'],
    ]);
  });

  it('really exercises the quirks: undeclared payload type 97, R bit, duration 0 first, three ends', () => {
    const { packets } = play(file, 96);
    const filler = packets.filter((p) => p.payloadType === 97);
    expect(filler).toHaveLength(40);
    expect(filler.every((p) => p.payload.equals(Buffer.alloc(4)))).toBe(true);
    const events = packets.filter((p) => p.payloadType === 96).map((p) => TelephoneEvent.parse(p.payload));
    expect(events.filter((e) => e.reserved).length).toBeGreaterThan(0);
    const firsts = packets.filter((p) => p.payloadType === 96 && p.marker).map((p) => TelephoneEvent.parse(p.payload));
    expect(firsts.map((e) => e.duration)).toEqual([0, 0, 0, 0]);
    expect(events.filter((e) => e.end)).toHaveLength(12);
  });
});
