import { RtpSequenceTracker, type RtpSequenceStats } from './rtp-sequence-tracker.js';

/** Sources followed at once; an older one's counts are kept in the totals. */
const MAX_SOURCES = 4;

interface Source {
  readonly ssrc: number;
  readonly tracker: RtpSequenceTracker;
}

/**
 * Loss and reordering of everything one RTP session receives, counted per
 * source. RFC 3550 §5.1: the sequence number belongs to the SSRC, not to the
 * payload type, so a phone's audio and its RFC 4733 events share one count
 * (an event packet is not a gap in the audio). RFC 3550 §8.2: a new SSRC is a
 * new source whose sequence starts anywhere — SIPp's `play_dtmf` starts each
 * action with a new SSRC and restarted sequence numbers, and that is not loss.
 * Only the payload types the SDP declared are counted: SIPp's PT 97 filler
 * steps its sequence by two.
 */
export class RtpSourceSequences {
  readonly #sources: Source[] = [];
  #last: Source | undefined;
  /** Totals of sources no longer followed. */
  #earlier: RtpSequenceStats = { received: 0, lost: 0, late: 0, restarts: 0 };

  /** Records one packet of `ssrc`; returns 'late' for a reordered or duplicate one. */
  update(ssrc: number, sequenceNumber: number): 'in-order' | 'late' {
    return this.#source(ssrc).tracker.update(sequenceNumber);
  }

  stats(): RtpSequenceStats {
    let { received, lost, late, restarts } = this.#earlier;
    for (const { tracker } of this.#sources) {
      const s = tracker.stats();
      received += s.received;
      lost += s.lost;
      late += s.late;
      restarts += s.restarts;
    }
    return { received, lost, late, restarts };
  }

  #source(ssrc: number): Source {
    const last = this.#last;
    if (last?.ssrc === ssrc) return last;
    let source = this.#sources.find((s) => s.ssrc === ssrc);
    if (!source) {
      if (this.#sources.length === MAX_SOURCES) this.#retire(this.#sources.shift() as Source);
      source = { ssrc, tracker: new RtpSequenceTracker() };
      this.#sources.push(source);
    }
    this.#last = source;
    return source;
  }

  #retire(source: Source): void {
    const s = source.tracker.stats();
    const e = this.#earlier;
    this.#earlier = { received: e.received + s.received, lost: e.lost + s.lost, late: e.late + s.late, restarts: e.restarts + s.restarts };
  }
}
