/** RFC 3550 Appendix A.1: a jump this far ahead is a restart, not loss. */
const MAX_DROPOUT = 3000;
/** RFC 3550 Appendix A.1: this far behind is a reordered or duplicate packet. */
const MAX_MISORDER = 100;
const SEQ_MOD = 0x10000;

export interface RtpSequenceStats {
  readonly received: number;
  /** Expected minus received (RFC 3550 §6.4.1 cumulative number of packets lost), never negative. */
  readonly lost: number;
  /** Packets older than the highest sequence number seen: reordered or duplicated. */
  readonly late: number;
  /** Sequence jumps too large to be loss: the count started over. */
  readonly restarts: number;
}

/**
 * Loss and reordering of one RTP stream from its sequence numbers, after
 * RFC 3550 Appendix A.1 (extended 32-bit sequence with a cycle count,
 * expected = highest − base + 1). Losses across restarts and SSRC changes
 * accumulate.
 */
export class RtpSequenceTracker {
  #started = false;
  #maxSeq = 0;
  #cycles = 0;
  #baseSeq = 0;
  #received = 0;
  #late = 0;
  #restarts = 0;
  /** Totals of earlier runs (before a restart or reset). */
  #earlierExpected = 0;
  #earlierReceived = 0;

  /** Records one packet; returns 'late' for a reordered or duplicate one. */
  update(sequenceNumber: number): 'in-order' | 'late' {
    const seq = sequenceNumber & 0xffff;
    if (!this.#started) {
      this.#begin(seq);
      return 'in-order';
    }
    const delta = (seq - this.#maxSeq + SEQ_MOD) % SEQ_MOD;
    if (delta === 0 || delta > SEQ_MOD - MAX_MISORDER) {
      this.#received++;
      this.#late++;
      return 'late';
    }
    if (delta < MAX_DROPOUT) {
      if (seq < this.#maxSeq) this.#cycles += SEQ_MOD;
      this.#maxSeq = seq;
      this.#received++;
      return 'in-order';
    }
    this.#restarts++;
    this.#closeRun();
    this.#begin(seq);
    return 'in-order';
  }

  /** A new source (SSRC): the next packet starts a new count; totals are kept. */
  reset(): void {
    if (this.#started) this.#closeRun();
    this.#started = false;
  }

  stats(): RtpSequenceStats {
    const expected = this.#earlierExpected + (this.#started ? this.#expected() : 0);
    const received = this.#earlierReceived + (this.#started ? this.#received : 0);
    return { received, lost: Math.max(0, expected - received), late: this.#late, restarts: this.#restarts };
  }

  #expected(): number {
    return this.#cycles + this.#maxSeq - this.#baseSeq + 1;
  }

  #begin(seq: number): void {
    this.#started = true;
    this.#baseSeq = seq;
    this.#maxSeq = seq;
    this.#cycles = 0;
    this.#received = 1;
  }

  #closeRun(): void {
    this.#earlierExpected += this.#expected();
    this.#earlierReceived += this.#received;
  }
}
