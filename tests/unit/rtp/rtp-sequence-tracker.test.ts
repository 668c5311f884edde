import { describe, expect, it } from 'vitest';
import { RtpSequenceTracker } from '../../../media-server/embedded/rtp/rtp-sequence-tracker.js';

describe('RtpSequenceTracker', () => {
  it('counts gaps as lost, across the 16-bit wrap', () => {
    const t = new RtpSequenceTracker();
    for (const seq of [65533, 65534, 0, 1, 4, 5]) t.update(seq);
    expect(t.stats()).toEqual({ received: 6, lost: 3, late: 0, restarts: 0 });
  });

  it('counts a reordered packet as late and no longer lost', () => {
    const t = new RtpSequenceTracker();
    for (const seq of [10, 11, 13]) t.update(seq);
    expect(t.update(12)).toBe('late');
    expect(t.stats()).toMatchObject({ lost: 0, late: 1 });
  });

  it('restarts on a huge jump and keeps totals across a reset', () => {
    const t = new RtpSequenceTracker();
    t.update(100);
    t.update(102);
    t.update(30_000);
    t.update(30_001);
    t.reset();
    t.update(5);
    t.update(7);
    expect(t.stats()).toEqual({ received: 6, lost: 2, late: 0, restarts: 1 });
  });
});
