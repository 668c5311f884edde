import type { DtmfKey } from '../../../domain/dtmf-key.js';
import { dtmfEventCode } from '../media/dtmf-keypad.js';
import { writeTelephoneEvent, type TelephoneEventFields } from '../media/telephone-event.js';
import { FRAME_SAMPLES } from './jitter-buffer.js';

/** What one frame's event packet carries besides its 4-byte block. */
export interface EventPacketFields {
  /** RFC 4733 §2.5.1.2: every packet of an event has the timestamp of its start. */
  readonly timestamp: number;
  /** RFC 4733 §2.5.1.3: the marker bit on the first packet of an event. */
  readonly marker: boolean;
}

/** Queued key presses waiting their turn. Default cap: presses beyond it are dropped. */
const MAX_QUEUED = 32;
/** RFC 4733 §2.5.1.4: the final packet is sent three times. */
const END_PACKETS = 3;
/** Shortest press we send (RFC 4733 §2.5.1.1 has no minimum; PBXs want ≥ 40 ms), and the default. */
const MIN_DURATION_MS = 40;
const DEFAULT_DURATION_MS = 120;
/** The duration field is 16 bits of 8 kHz samples (RFC 4733 §2.5.1.5 splits longer ones; we cap instead). */
const MAX_DURATION_SAMPLES = 0xffff - FRAME_SAMPLES;

interface SendingEvent {
  readonly code: number;
  readonly timestamp: number;
  readonly targetSamples: number;
  duration: number;
  endsLeft: number;
  first: boolean;
}

/**
 * Key presses sent as RFC 4733 telephone-events, one event at a time, one
 * packet per 20 ms frame in place of that frame's audio (§2.5.1.2): the
 * duration grows by a frame per packet until the press's length, then the
 * end packet goes three times. Allocates nothing per packet.
 */
export class TelephoneEventSender {
  readonly #queue: { code: number; targetSamples: number }[] = [];
  readonly #fields: { event: number; end: boolean; volume: number; duration: number } = { event: 0, end: false, volume: 10, duration: 0 };
  readonly #packet = { timestamp: 0, marker: false };
  #current: SendingEvent | undefined;
  #dropped = 0;

  /** Whether an event packet replaces the next frame's audio. */
  get pending(): boolean {
    return this.#current !== undefined || this.#queue.length > 0;
  }

  /** Presses dropped because the queue was full. */
  get dropped(): number {
    return this.#dropped;
  }

  enqueue(key: DtmfKey, durationMs = DEFAULT_DURATION_MS): void {
    if (this.#queue.length >= MAX_QUEUED) {
      this.#dropped++;
      return;
    }
    const ms = Math.max(MIN_DURATION_MS, durationMs);
    this.#queue.push({ code: dtmfEventCode(key), targetSamples: Math.min(MAX_DURATION_SAMPLES, Math.round(ms * 8)) });
  }

  /**
   * Writes the block of the frame whose audio timestamp is `frameTimestamp`
   * into `payload` (4 bytes) and returns the packet's timestamp and marker;
   * undefined when nothing is pending. The object returned is reused.
   */
  next(frameTimestamp: number, payload: Uint8Array): EventPacketFields | undefined {
    let current = this.#current;
    if (!current) {
      const queued = this.#queue.shift();
      if (!queued) return undefined;
      current = { code: queued.code, timestamp: frameTimestamp, targetSamples: queued.targetSamples, duration: 0, endsLeft: END_PACKETS, first: true };
      this.#current = current;
    }
    const marker = current.first;
    current.first = false;
    if (current.duration < current.targetSamples) current.duration = Math.min(current.targetSamples, current.duration + FRAME_SAMPLES);
    const end = current.duration >= current.targetSamples;
    if (end) current.endsLeft--;
    const fields = this.#fields;
    fields.event = current.code;
    fields.end = end;
    fields.duration = current.duration;
    writeTelephoneEvent(payload, fields as TelephoneEventFields, 0);
    const packet = this.#packet;
    packet.timestamp = current.timestamp;
    packet.marker = marker;
    if (current.endsLeft === 0) this.#current = undefined;
    return packet;
  }

  /** Forgets every press not yet sent (hold, a new remote). */
  clear(): void {
    this.#queue.length = 0;
    this.#current = undefined;
  }
}
