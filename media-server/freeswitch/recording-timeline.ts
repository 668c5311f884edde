import { statSync } from 'node:fs';
import { basename } from 'node:path';
import { WAV_PCM_HEADER_LENGTH } from '../embedded/media/wav-format.js';
import { RecordingNotVisibleError } from './freeswitch-errors.js';
import { saveRecordingSidecar, sidecarPathOf, type RecordingPauseSpan, type RecordingSidecar } from '../recording-sidecar.js';

/** FreeSWITCH's recordings here are 8 kHz: samples per millisecond. */
const SAMPLES_PER_MS = 8;
/** record_session with RECORD_STEREO: two 16-bit channels. */
const BYTES_PER_SAMPLE_FRAME = 4;

export interface RecordingTimelineOptions {
  /** Wall clock, in ms, for the sidecar's times. Default `Date.now`. */
  readonly now?: () => number;
  /**
   * Samples per channel FreeSWITCH has written so far. Default: read from
   * the file's size (a 44-byte header, then stereo 16-bit frames).
   */
  readonly position?: () => number;
  /**
   * How much of each end of a mask the sidecar leaves out: FreeSWITCH's
   * recording thread writes what it has every 20 ms, so the file is up to
   * a frame or two behind the media. Default 60 ms.
   */
  readonly edgeMs?: number;
}

/**
 * The pause sidecar (recording-sidecar.ts) of a recording FreeSWITCH writes
 * with record_session, kept by the app from the times of its own commands.
 * FreeSWITCH has no pause spans, only `uuid_record mask` and `unmask`, which
 * write zeros while masked and keep the timeline (switch_ivr_async.c,
 * record_callback). A span's samples are where the file stood when the mask
 * went on and off, read from its size: not the wall clock, which the file
 * falls behind whenever the channel reads no frame (seconds in a call
 * here). FreeSWITCH must write the file where the app sees it (the compose
 * file's shared volume). Each span is taken inside the mask, so that
 * the audit (tools/audit/recording-audit.ts) can demand silence in all of
 * it: it opens once FreeSWITCH has confirmed the mask and closes when the
 * unmask is asked for, each end pulled in by `edgeMs`.
 */
export class RecordingTimeline {
  readonly sidecarPath: string;
  readonly #recording: string;
  readonly #now: () => number;
  readonly #position: () => number;
  readonly #edgeSamples: number;
  readonly #startedAt: number;
  readonly #pauses: { from: number; fromSample: number; to: number | null; toSample: number | null }[] = [];
  #stoppedAt: number | null = null;
  #samples = 0;
  #writes: Promise<void> = Promise.resolve();
  #failure: unknown = undefined;

  private constructor(path: string, options: RecordingTimelineOptions) {
    this.sidecarPath = sidecarPathOf(path);
    this.#recording = basename(path);
    this.#now = options.now ?? Date.now;
    this.#position = options.position ?? (() => samplesInFile(path));
    this.#edgeSamples = (options.edgeMs ?? 60) * SAMPLES_PER_MS;
    this.#startedAt = this.#now();
  }

  /**
   * Call once record_session has completed: writes the sidecar with no
   * pause. Throws RecordingNotVisibleError if the app cannot see the file.
   */
  static async start(path: string, options: RecordingTimelineOptions = {}): Promise<RecordingTimeline> {
    const timeline = new RecordingTimeline(path, options);
    timeline.#position();
    await timeline.#save();
    return timeline;
  }

  get paused(): boolean {
    return this.#pauses.at(-1)?.to === null;
  }

  /** Call once FreeSWITCH confirmed `uuid_record mask`. */
  async pause(): Promise<void> {
    if (this.paused || this.#stoppedAt !== null) return;
    this.#pauses.push({ from: this.#now(), fromSample: this.#position(), to: null, toSample: null });
    return this.#save();
  }

  /** Call before `uuid_record unmask` is sent. */
  async resume(): Promise<void> {
    const open = this.#pauses.at(-1);
    if (!open || open.to !== null || this.#stoppedAt !== null) return;
    open.to = this.#now();
    open.toSample = this.#position();
    return this.#save();
  }

  /** The recording stopped (or the channel hung up, which closes it): the last save. Safe twice. */
  async stop(): Promise<void> {
    if (this.#stoppedAt !== null) return this.#writes.then(() => this.#throwFailure());
    this.#stoppedAt = this.#now();
    this.#samples = this.#position();
    const open = this.#pauses.at(-1);
    // FreeSWITCH closes a masked recording masked to its end.
    if (open && open.to === null) {
      open.to = this.#stoppedAt;
      open.toSample = this.#samples + this.#edgeSamples;
    }
    return this.#save();
  }

  sidecar(): RecordingSidecar {
    return {
      format: 'secure-ivr-recording/1',
      recording: this.#recording,
      sampleRate: 8000,
      channels: ['received', 'sent'],
      startedAt: new Date(this.#startedAt).toISOString(),
      stoppedAt: this.#stoppedAt === null ? null : new Date(this.#stoppedAt).toISOString(),
      samples: this.#stoppedAt === null ? this.#position() : this.#samples,
      pauses: this.#pauses.map((p) => this.#span(p)),
    };
  }

  #span(p: { from: number; fromSample: number; to: number | null; toSample: number | null }): RecordingPauseSpan {
    const fromSample = p.fromSample + this.#edgeSamples;
    const from = new Date(p.from).toISOString();
    if (p.to === null || p.toSample === null) return { fromSample, from, toSample: null, to: null };
    // A mask shorter than both edges leaves an empty span, never a reversed one.
    return { fromSample, from, toSample: Math.max(fromSample, p.toSample - this.#edgeSamples), to: new Date(p.to).toISOString() };
  }

  #save(): Promise<void> {
    const sidecar = this.sidecar();
    this.#writes = this.#writes.then(() =>
      saveRecordingSidecar(this.sidecarPath, sidecar).catch((error: unknown) => {
        this.#failure ??= error;
      }),
    );
    return this.#writes.then(() => this.#throwFailure());
  }

  #throwFailure(): void {
    if (this.#failure !== undefined) throw this.#failure;
  }
}

/** Samples per channel in a stereo 16-bit WAV FreeSWITCH is writing, from its size. */
function samplesInFile(path: string): number {
  let size: number;
  try {
    size = statSync(path).size;
  } catch (err) {
    throw new RecordingNotVisibleError(path, err);
  }
  return Math.max(0, Math.floor((size - WAV_PCM_HEADER_LENGTH) / BYTES_PER_SAMPLE_FRAME));
}
