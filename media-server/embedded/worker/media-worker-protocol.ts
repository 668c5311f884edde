import type { DtmfKey } from '../../../domain/dtmf-key.js';
import type { DtmfMethod } from '../../media-server-port.js';
import type { MediaClockStats } from '../rtp/media-clock.js';
import type { MaskMode } from '../rtp/dtmf-masker.js';
import type { PlayerItem, PlayerResult } from '../rtp/media-player.js';
import type { NegotiatedAudio } from '../sdp/sdp-negotiator.js';

/**
 * The messages between the main thread and a media worker
 * (`media-worker.ts`). The main thread keeps SIP, the flow, the store and
 * the API; a worker owns whole calls' RTP sessions, their media clock,
 * DTMF detection and masking, playback and recording.
 *
 * Card data: the only messages that carry a key are `dtmf` (worker → main,
 * every key the flow must see, card digits included, as the in-thread
 * engine's `dtmf` event does) and `report-dtmf` (main → worker, a key that
 * came by SIP INFO, handed to the session to be counted once with its RTP
 * reports and sent back as `dtmf`). Neither is ever logged; errors and logs
 * crossing here are the RTP layer's, which never hold a key. `set-remote`
 * carries the SRTP master keys of an SRTP call (RFC 4568 SDES): in memory,
 * from one thread to the other, never logged either.
 */

/** Given to each worker at start (`workerData`). */
export interface MediaWorkerData {
  readonly index: number;
  /** RTP binds here. */
  readonly rtpHost: string;
  /** This worker's share of RTP_PORT_MIN–RTP_PORT_MAX (inclusive). */
  readonly rtpPortMin: number;
  readonly rtpPortMax: number;
  readonly maskMode: MaskMode;
  /** pino level of the worker's log lines (sent to the main thread's logger). */
  readonly logLevel: string;
  /** How often the worker sends its totals, in ms. */
  readonly totalsIntervalMs: number;
  /** SCHED_FIFO priority for the thread (MEDIA_REALTIME_PRIORITY, 1–99); 0: the normal policy. */
  readonly realtimePriority: number;
}

/** Commands from the main thread; those with `id` are answered by a `reply` with the same id. */
export type MediaWorkerCommand =
  | { readonly type: 'open'; readonly id: number; readonly session: number }
  | { readonly type: 'close'; readonly id: number; readonly session: number }
  | { readonly type: 'set-remote'; readonly session: number; readonly negotiated: NegotiatedAudio }
  | { readonly type: 'play'; readonly id: number; readonly session: number; readonly items: readonly PlayerItem[]; readonly bargeIn: boolean }
  | { readonly type: 'stop-playback'; readonly session: number }
  | { readonly type: 'set-dtmf-masking'; readonly session: number; readonly on: boolean }
  | { readonly type: 'set-muted'; readonly session: number; readonly on: boolean }
  | { readonly type: 'start-recording'; readonly id: number; readonly session: number; readonly path: string }
  | { readonly type: 'pause-recording'; readonly id: number; readonly session: number }
  | { readonly type: 'resume-recording'; readonly id: number; readonly session: number }
  | { readonly type: 'stop-recording'; readonly id: number; readonly session: number }
  /** A key that came by SIP INFO (see the card-data note above). */
  | { readonly type: 'report-dtmf'; readonly session: number; readonly key: DtmfKey; readonly durationMs: number | undefined }
  /** A key of ours to send as RFC 4733 events (the in-line relay, outside the secure window). */
  | { readonly type: 'send-telephone-event'; readonly session: number; readonly key: DtmfKey; readonly durationMs: number | undefined }
  /** Joins two sessions of this worker. */
  | { readonly type: 'link'; readonly a: number; readonly b: number }
  | { readonly type: 'unlink'; readonly a: number; readonly b: number }
  /** Joins a session of this worker to one of another worker through two shared frame rings. */
  | { readonly type: 'link-pipe'; readonly session: number; readonly out: SharedArrayBuffer; readonly in: SharedArrayBuffer }
  | { readonly type: 'unlink-pipe'; readonly session: number };

/** An error that crossed the thread boundary: its class name and message (never card data, see above). */
export interface WorkerErrorData {
  readonly name: string;
  readonly message: string;
  /** PromptLoadError's file. */
  readonly path?: string;
}

/** RTP counters of every session the worker has had, open and closed. */
export interface WorkerRtpTotals {
  readonly packetsIn: number;
  readonly packetsOut: number;
  readonly late: number;
  readonly lost: number;
  readonly srtpAuthenticationFailures: number;
  readonly srtpReplayed: number;
}

export type MediaWorkerMessage =
  | { readonly type: 'ready' }
  | { readonly type: 'reply'; readonly id: number; readonly ok: true; readonly value?: number | string | boolean }
  | { readonly type: 'reply'; readonly id: number; readonly ok: false; readonly error: WorkerErrorData }
  /**
   * A key press the session accepted (see the card-data note above).
   * `masked`: the session's DTMF masking was on when it was reported, so
   * the key must never be relayed to another leg.
   */
  | {
      readonly type: 'dtmf';
      readonly session: number;
      readonly key: DtmfKey;
      readonly method: DtmfMethod;
      readonly at: number;
      readonly durationMs: number | undefined;
      readonly masked: boolean;
    }
  | {
      readonly type: 'totals';
      readonly sessions: number;
      readonly rtp: WorkerRtpTotals;
      readonly clock: MediaClockStats;
      /** GC pauses in this worker since the last totals, in ms (perf_hooks 'gc' entries). */
      readonly gcPausesMs: readonly number[];
    }
  /** One pino JSON line of the worker, for the main thread's logger (its PAN scrubber included). */
  | { readonly type: 'log'; readonly line: string };
