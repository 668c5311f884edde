import { type DtmfKey } from '../../../domain/dtmf-key.js';
import { dtmfKeyFromEventCode } from './dtmf-keypad.js';
import type { TelephoneEventFields } from './telephone-event.js';

/** The RTP header fields the receiver needs; `RtpPacket` and `RtpPacketView` both fit. */
export interface TelephoneEventPacketInfo {
  readonly ssrc: number;
  readonly timestamp: number;
  readonly marker: boolean;
}

/** A new event (key press): reported once, at the first packet that carries it. */
export interface TelephoneEventStart {
  readonly type: 'start';
  /** The DTMF key, or undefined for a non-DTMF event (flash, tones). */
  readonly key: DtmfKey | undefined;
  readonly event: number;
  readonly ssrc: number;
  readonly timestamp: number;
  readonly volume: number;
  /** Arrival time of that first packet. */
  readonly atMs: number;
}

/**
 * How an event was seen to finish: its E bit arrived; no packet came for
 * `endTimeoutMs` (all end packets lost); or a packet of another event came
 * first (end packets lost, next key pressed).
 */
export type TelephoneEventEndReason = 'end-bit' | 'timeout' | 'superseded';

/** The end of an event: reported once per start. */
export interface TelephoneEventEnd {
  readonly type: 'end';
  readonly key: DtmfKey | undefined;
  readonly event: number;
  readonly ssrc: number;
  /** Timestamp of the event's first segment. */
  readonly timestamp: number;
  /** Longest duration seen, in RTP timestamp units, every segment of a long event included. */
  readonly duration: number;
  readonly durationMs: number;
  readonly reason: TelephoneEventEndReason;
  /** Arrival time of the end packet, of the superseding packet, or when the timeout ran out. */
  readonly atMs: number;
}

export type TelephoneEventReport = TelephoneEventStart | TelephoneEventEnd;

export interface TelephoneEventReceiverOptions {
  /** RTP clock rate of the telephone-event payload type. Default 8000. */
  readonly clockRate?: number;
  /**
   * An event with no packet for this long is over (its end packets were
   * lost). Default 250 ms: five times the 50 ms update interval common
   * among RFC 4733 senders, twelve times SIPp's 20 ms.
   */
  readonly endTimeoutMs?: number;
  /** Finished events remembered, to recognise their late and repeated packets. Default 16. */
  readonly historySize?: number;
}

/** `idle`: no event in progress; `in-event`: an event started and has not ended. */
export type TelephoneEventReceiverState = 'idle' | 'in-event';

interface OpenEvent {
  readonly ssrc: number;
  timestamp: number;
  readonly event: number;
  readonly key: DtmfKey | undefined;
  readonly firstTimestamp: number;
  lastMs: number;
  /** Longest duration seen in the current segment. */
  duration: number;
  /** Sum of the durations of earlier segments (§2.5.1.3). */
  earlierSegments: number;
}

interface EventId {
  readonly ssrc: number;
  readonly timestamp: number;
  readonly event: number;
}

const NO_REPORTS: readonly TelephoneEventReport[] = Object.freeze([]);

/** Largest duration a segment can carry (16-bit field, RFC 4733 §2.3.5). */
const MAX_SEGMENT_DURATION = 0xffff;
/** A duration this much below the one seen has wrapped around the 16-bit field; anything less is a late packet. */
const WRAP_DROP = 0x8000;

/**
 * Turns the stream of RFC 4733 event packets of one RTP session into key
 * presses, each reported exactly once.
 *
 * - An event is identified by SSRC + RTP timestamp + event code. A new
 *   timestamp is a new event (§2.5.1.2: the timestamp is the event's start
 *   and stays the same in all its packets); the marker bit is not relied on
 *   since the first packet may be lost. SIPp 3.6.1 `play_dtmf` starts every
 *   action with a new SSRC and the same restarted timestamps, so the SSRC is
 *   part of the key.
 * - The start is reported at the first packet seen (SIPp's has duration 0),
 *   so a digit reaches the flow at once; the end, with the duration, follows.
 * - The end packet is sent three times (§2.5.1.4): the first one ends the
 *   event, the copies and any late packet of a finished event are dropped.
 * - If the end packets are lost, the event ends when another event's packet
 *   arrives (`superseded`) or after `endTimeoutMs` without packets
 *   (`timeout`; call `poll(now)` from a timer to see it).
 * - A long event is sent as segments, each with a new timestamp (§2.5.1.3);
 *   a packet that continues a segment (same SSRC and event, no marker,
 *   timestamp advanced by that segment's duration) extends the event instead
 *   of starting a new one: at the 16-bit duration limit, with up to 200 ms of
 *   the segment's updates lost; below it (a sender with a shorter limit of
 *   its own), only where the segment was last reported to end, give or take
 *   one 20 ms update — a new press of the same key comes after a pause.
 * - A sender that lets the 16-bit duration wrap instead of starting a new
 *   segment (same timestamp, duration falling from near 65535 to near 0)
 *   still has one event; the wrap is counted in its duration.
 * - The R bit is ignored (§2.3.3); the volume is passed on, not judged.
 *
 * `activeUntilMs` tells a masker until when an event counts as in progress.
 */
export class TelephoneEventReceiver {
  readonly #clockRate: number;
  readonly #endTimeoutMs: number;
  readonly #historySize: number;
  readonly #segmentSlack: number;
  readonly #updateSlack: number;
  #open: OpenEvent | undefined;
  readonly #finished: EventId[] = [];
  #lingerUntilMs = Number.NEGATIVE_INFINITY;

  constructor(options: TelephoneEventReceiverOptions = {}) {
    this.#clockRate = options.clockRate ?? 8000;
    this.#endTimeoutMs = options.endTimeoutMs ?? 250;
    this.#historySize = options.historySize ?? 16;
    if (!(this.#clockRate > 0)) throw new RangeError(`clockRate must be positive, got ${this.#clockRate}`);
    if (!(this.#endTimeoutMs > 0)) throw new RangeError(`endTimeoutMs must be positive, got ${this.#endTimeoutMs}`);
    if (!Number.isInteger(this.#historySize) || this.#historySize < 1) {
      throw new RangeError(`historySize must be a positive integer, got ${this.#historySize}`);
    }
    // Updates lost at a segment boundary: up to 200 ms of the segment's duration unseen at the 16-bit limit …
    this.#segmentSlack = Math.round(this.#clockRate / 5);
    // … and one 20 ms update below it, where only the reported duration says where the segment ended.
    this.#updateSlack = Math.round(this.#clockRate / 50);
  }

  get state(): TelephoneEventReceiverState {
    return this.#open ? 'in-event' : 'idle';
  }

  /** The event in progress, if any. */
  get activeEvent(): { readonly key: DtmfKey | undefined; readonly event: number; readonly ssrc: number; readonly timestamp: number } | undefined {
    const open = this.#open;
    return open ? { key: open.key, event: open.event, ssrc: open.ssrc, timestamp: open.firstTimestamp } : undefined;
  }

  /**
   * Arrival-clock time until which an event counts as in progress: the last
   * packet of the open event plus `endTimeoutMs`; after an end, −Infinity
   * unless late packets of that event keep arriving.
   */
  get activeUntilMs(): number {
    const open = this.#open;
    return open ? open.lastMs + this.#endTimeoutMs : this.#lingerUntilMs;
  }

  isActive(nowMs: number): boolean {
    return nowMs < this.activeUntilMs;
  }

  /** Feeds one event block of a telephone-event packet; returns what it started or ended. */
  receive(packet: TelephoneEventPacketInfo, event: TelephoneEventFields, arrivalMs: number): readonly TelephoneEventReport[] {
    let reports: TelephoneEventReport[] | undefined;
    const expired = this.#expire(arrivalMs);
    if (expired) reports = [expired];
    const ssrc = packet.ssrc >>> 0;
    const timestamp = packet.timestamp >>> 0;
    const open = this.#open;

    if (open && open.ssrc === ssrc && open.timestamp === timestamp && open.event === event.event) {
      this.#update(open, event, arrivalMs);
      if (event.end) (reports ??= []).push(this.#close('end-bit', arrivalMs));
      return reports ?? NO_REPORTS;
    }

    if (this.#isFinished(ssrc, timestamp, event.event)) {
      if (!event.end) this.#lingerUntilMs = Math.max(this.#lingerUntilMs, arrivalMs + this.#endTimeoutMs);
      return reports ?? NO_REPORTS;
    }

    if (open && this.#continuesSegment(open, ssrc, timestamp, packet.marker, event.event)) {
      this.#remember(open);
      open.earlierSegments += open.duration;
      open.timestamp = timestamp;
      open.duration = 0;
      this.#update(open, event, arrivalMs);
      if (event.end) (reports ??= []).push(this.#close('end-bit', arrivalMs));
      return reports ?? NO_REPORTS;
    }

    reports ??= [];
    if (open) reports.push(this.#close('superseded', arrivalMs));
    const key = dtmfKeyFromEventCode(event.event);
    const started: OpenEvent = {
      ssrc,
      timestamp,
      event: event.event,
      key,
      firstTimestamp: timestamp,
      lastMs: arrivalMs,
      duration: 0,
      earlierSegments: 0,
    };
    this.#open = started;
    this.#update(started, event, arrivalMs);
    reports.push({ type: 'start', key, event: event.event, ssrc, timestamp, volume: event.volume ?? 10, atMs: arrivalMs });
    if (event.end) reports.push(this.#close('end-bit', arrivalMs));
    return reports;
  }

  /** Ends an event whose packets stopped `endTimeoutMs` ago; call from a timer. */
  poll(nowMs: number): readonly TelephoneEventReport[] {
    const expired = this.#expire(nowMs);
    return expired ? [expired] : NO_REPORTS;
  }

  /** Forgets everything (new call leg). An open event is dropped without an end report. */
  reset(): void {
    this.#open = undefined;
    this.#finished.length = 0;
    this.#lingerUntilMs = Number.NEGATIVE_INFINITY;
  }

  #update(open: OpenEvent, event: TelephoneEventFields, arrivalMs: number): void {
    open.lastMs = arrivalMs;
    if (event.duration > open.duration) {
      open.duration = event.duration;
    } else if (event.duration < open.duration - WRAP_DROP) {
      // The 16-bit field wrapped under the same timestamp: the sender skipped §2.5.1.3's new segment.
      open.earlierSegments += MAX_SEGMENT_DURATION + 1;
      open.duration = event.duration;
    }
  }

  #expire(nowMs: number): TelephoneEventEnd | undefined {
    const open = this.#open;
    if (!open || nowMs - open.lastMs < this.#endTimeoutMs) return undefined;
    return this.#close('timeout', open.lastMs + this.#endTimeoutMs);
  }

  #continuesSegment(open: OpenEvent, ssrc: number, timestamp: number, marker: boolean, event: number): boolean {
    if (marker || open.ssrc !== ssrc || open.event !== event) return false;
    // §2.5.1.3: the new segment's timestamp is where the previous segment ended.
    const advance = (timestamp - open.timestamp) >>> 0;
    if (advance < open.duration || advance > MAX_SEGMENT_DURATION) return false;
    if (open.duration >= MAX_SEGMENT_DURATION - this.#segmentSlack) return true;
    return advance - open.duration <= this.#updateSlack;
  }

  #close(reason: TelephoneEventEndReason, atMs: number): TelephoneEventEnd {
    const open = this.#open as OpenEvent;
    this.#open = undefined;
    this.#remember(open);
    this.#lingerUntilMs = Number.NEGATIVE_INFINITY;
    const duration = open.earlierSegments + open.duration;
    return {
      type: 'end',
      key: open.key,
      event: open.event,
      ssrc: open.ssrc,
      timestamp: open.firstTimestamp,
      duration,
      durationMs: (duration * 1000) / this.#clockRate,
      reason,
      atMs,
    };
  }

  #remember(open: OpenEvent): void {
    this.#finished.push({ ssrc: open.ssrc, timestamp: open.timestamp, event: open.event });
    if (this.#finished.length > this.#historySize) this.#finished.shift();
  }

  #isFinished(ssrc: number, timestamp: number, event: number): boolean {
    for (const id of this.#finished) {
      if (id.ssrc === ssrc && id.timestamp === timestamp && id.event === event) return true;
    }
    return false;
  }
}
