import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RtpPacket } from '../../../media-server/embedded/media/rtp-packet.js';
import { RtpSequenceTracker } from '../../../media-server/embedded/rtp/rtp-sequence-tracker.js';
import { RtpSourceSequences } from '../../../media-server/embedded/rtp/rtp-source-sequences.js';
import { readPcapUdp } from '../../../tools/capture/pcap-reader.js';

// SIPp 3.6.1 play_dtmf as captured (tests/fixtures/media/README.md): two actions, each with its own SSRC and
// restarted sequence numbers, PT 97 filler (undeclared) before the PT 96 events.
const SIPP_PLAY_DTMF = join(import.meta.dirname, '../../fixtures/media/sipp-play-dtmf.pcap');

describe('RtpSourceSequences', () => {
  it("counts none of SIPp's per-key SSRC and sequence restarts as lost", () => {
    const sequences = new RtpSourceSequences();
    const oneCount = new RtpSequenceTracker();
    const ssrcs = new Set<number>();
    let events = 0;
    for (const { payload } of readPcapUdp(readFileSync(SIPP_PLAY_DTMF))) {
      const packet = RtpPacket.parse(payload);
      if (packet.payloadType !== 96) continue;
      ssrcs.add(packet.ssrc);
      events++;
      sequences.update(packet.ssrc, packet.sequenceNumber);
      oneCount.update(packet.sequenceNumber);
    }
    expect(ssrcs.size).toBe(2);
    expect(sequences.stats()).toMatchObject({ received: events, lost: 0, late: 0 });
    // One count for the whole session took the second action's filler for a gap.
    expect(oneCount.stats().lost).toBeGreaterThan(0);
  });

  it('counts audio and events of one source in one sequence space', () => {
    const sequences = new RtpSourceSequences();
    // Audio 100–104, a key's events 105–108 on the same SSRC, audio again from 109.
    for (let seq = 100; seq <= 112; seq++) sequences.update(0xabc, seq);
    expect(sequences.stats()).toMatchObject({ received: 13, lost: 0 });
  });

  it('still counts a real gap, and keeps it once the source is no longer followed', () => {
    const sequences = new RtpSourceSequences();
    for (const seq of [1, 2, 5]) sequences.update(1, seq);
    for (let ssrc = 2; ssrc <= 6; ssrc++) sequences.update(ssrc, 0);
    expect(sequences.stats()).toEqual({ received: 8, lost: 2, late: 0, restarts: 0 });
  });

  it('counts a reordered packet of a source as late', () => {
    const sequences = new RtpSourceSequences();
    sequences.update(7, 10);
    sequences.update(8, 500);
    sequences.update(7, 12);
    expect(sequences.update(7, 11)).toBe('late');
    expect(sequences.stats()).toMatchObject({ lost: 0, late: 1 });
  });
});
