import { basename } from 'node:path';
import { WavFileWriter, type WavFileWriterOptions } from '../media/wav-writer.js';
import { FRAME_SAMPLES } from './jitter-buffer.js';
import { saveRecordingSidecar, sidecarPathOf, type RecordingSidecar } from '../../recording-sidecar.js';

export interface CallRecorderOptions {
  /** Start paused (the flow paused recording before it started). Default false. */
  readonly paused?: boolean;
  /** Wall clock for the sidecar's ISO times. Default `() => new Date()`. */
  readonly now?: () => Date;
  /** Passed to the WAV writer (tests inject failing sinks). Default: a 0600 file, stereo, 8 kHz. */
  readonly writer?: Pick<WavFileWriterOptions, 'openFile' | 'chunkBytes' | 'mode'>;
}

export type { RecordingPauseSpan, RecordingSidecar } from '../../recording-sidecar.js';

interface MutablePause {
  fromSample: number;
  from: string;
  toSample: number | null;
  to: string | null;
}

/**
 * One leg's recording: a stereo 8 kHz 16-bit WAV appended one 20 ms frame
 * per tick, and a sidecar JSON of the pause spans, rewritten (atomically,
 * through a temporary file and rename) at start, at every pause and resume,
 * and at stop (in the background for pause and resume), so a crash leaves
 * one at most a few file-system round trips old.
 *
 * While paused, zeros are written on both channels instead of the audio:
 * the timeline keeps its length and nothing said or keyed in a paused span
 * is on disk (ARCHITECTURE.md "Capture rules"). A pause takes effect from
 * the next frame appended.
 */
export class CallRecorder {
  readonly path: string;
  readonly sidecarPath: string;
  readonly #writer: WavFileWriter;
  readonly #now: () => Date;
  readonly #startedAt: string;
  readonly #pauses: MutablePause[] = [];
  #stoppedAt: string | null = null;
  #paused = false;
  #sidecarWrites: Promise<void> = Promise.resolve();
  #sidecarFailure: unknown = undefined;
  #stopping: Promise<void> | undefined;

  private constructor(path: string, writer: WavFileWriter, now: () => Date) {
    this.path = path;
    this.sidecarPath = sidecarPathOf(path);
    this.#writer = writer;
    this.#now = now;
    this.#startedAt = now().toISOString();
  }

  /** Creates the WAV file and the sidecar. */
  static async start(path: string, options: CallRecorderOptions = {}): Promise<CallRecorder> {
    const writer = await WavFileWriter.create(path, { ...options.writer, sampleRate: 8000, channels: 2 });
    const recorder = new CallRecorder(path, writer, options.now ?? (() => new Date()));
    if (options.paused) recorder.#openPause();
    try {
      await recorder.#saveSidecar();
    } catch (error) {
      await writer.close().catch(() => undefined);
      throw error;
    }
    return recorder;
  }

  get paused(): boolean {
    return this.#paused;
  }

  get stopped(): boolean {
    return this.#stopping !== undefined;
  }

  /** Samples per channel written so far. */
  get samples(): number {
    return this.#writer.framesWritten;
  }

  /**
   * Appends one 160-sample frame: `received` left, `sent` right; zeros
   * while paused. Throws `WavWriterStateError` if an earlier disk write failed.
   */
  append(received: Int16Array, sent: Int16Array): void {
    if (this.#paused) this.#writer.appendSilence(FRAME_SAMPLES);
    else this.#writer.append(received, sent, FRAME_SAMPLES);
  }

  /**
   * Silence from the next frame on, settled before this returns: that, not
   * the sidecar, is what keeps a card out of the file. The sidecar follows in
   * the background; `stop()` throws if it could not be written. (Waiting for
   * it held card capture back for seconds once a few hundred calls shared
   * libuv's four file-system threads.)
   */
  pause(): Promise<void> {
    if (this.#paused || this.stopped) return Promise.resolve();
    this.#openPause();
    this.#saveSidecarInBackground();
    return Promise.resolve();
  }

  /** Audio again from the next frame on; the sidecar follows as for `pause()`. */
  resume(): Promise<void> {
    if (!this.#paused || this.stopped) return Promise.resolve();
    this.#closePause();
    this.#saveSidecarInBackground();
    return Promise.resolve();
  }

  /** Closes the WAV file (patching its sizes) and writes the final sidecar. Safe to call twice. */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  /** The sidecar as it stands. */
  sidecar(): RecordingSidecar {
    return {
      format: 'secure-ivr-recording/1',
      recording: basename(this.path),
      sampleRate: 8000,
      channels: ['received', 'sent'],
      startedAt: this.#startedAt,
      stoppedAt: this.#stoppedAt,
      samples: this.#writer.framesWritten,
      pauses: this.#pauses.map((p) => ({ ...p })),
    };
  }

  async #stop(): Promise<void> {
    if (this.#paused) this.#closePause();
    this.#stoppedAt = this.#now().toISOString();
    let failure: unknown;
    try {
      await this.#writer.close();
    } catch (error) {
      failure = error;
    }
    try {
      await this.#saveSidecar();
    } catch (error) {
      failure ??= error;
    }
    if (failure !== undefined) throw failure;
  }

  #openPause(): void {
    this.#paused = true;
    this.#pauses.push({ fromSample: this.#writer.framesWritten, from: this.#now().toISOString(), toSample: null, to: null });
  }

  #closePause(): void {
    this.#paused = false;
    const open = this.#pauses[this.#pauses.length - 1];
    if (open && open.toSample === null) {
      open.toSample = this.#writer.framesWritten;
      open.to = this.#now().toISOString();
    }
  }

  #saveSidecarInBackground(): void {
    // The failure is kept in #sidecarFailure and thrown by stop().
    this.#saveSidecar().catch(() => undefined);
  }

  /** Queues a write of the sidecar as it stands now; resolves when it (and every earlier one) is on disk. */
  #saveSidecar(): Promise<void> {
    const sidecar = this.sidecar();
    this.#sidecarWrites = this.#sidecarWrites.then(async () => {
      try {
        await saveRecordingSidecar(this.sidecarPath, sidecar);
      } catch (error) {
        this.#sidecarFailure ??= error;
      }
    });
    return this.#sidecarWrites.then(() => {
      if (this.#sidecarFailure !== undefined) throw this.#sidecarFailure;
    });
  }
}
