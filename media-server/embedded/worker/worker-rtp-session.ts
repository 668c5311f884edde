import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { DtmfKey } from '../../../domain/dtmf-key.js';
import { g711CodecByName } from '../media/g711.js';
import type { PlayerItem, PlayerPlayOptions, PlayerResult } from '../rtp/media-player.js';
import type { RtpSessionEvents, SessionDtmfEvent } from '../rtp/rtp-session.js';
import type { NegotiatedAudio } from '../sdp/sdp-negotiator.js';
import type { DtmfMessage, MediaWorkerThread } from './media-worker-thread.js';

/**
 * A leg's RTP session that lives on a media worker, seen from the main
 * thread: what a call leg uses of an in-thread `RtpSession` (call/'s `LegMedia`), each call a
 * message to the worker. What the rest of the main thread reads at once
 * (the remote, whether masking is on) is kept here, as last set.
 */
export class WorkerRtpSession extends EventEmitter<RtpSessionEvents> {
  readonly localPort: number;
  /** The worker's session number. */
  readonly id: number;
  readonly thread: MediaWorkerThread;
  /** The session it is bridged to, if any (set by the pool). */
  peer: WorkerRtpSession | undefined;
  readonly #logger: Logger | undefined;
  readonly #onClosed: () => void;
  #remote: NegotiatedAudio | undefined;
  #masking = false;
  /** True while `dtmf` listeners run for a key the worker reported while masking (see `dtmfMasking`). */
  #reportedMasked = false;
  #closing: Promise<void> | undefined;

  constructor(options: { id: number; localPort: number; thread: MediaWorkerThread; logger?: Logger; onClosed: () => void }) {
    super();
    this.id = options.id;
    this.localPort = options.localPort;
    this.thread = options.thread;
    this.#logger = options.logger;
    this.#onClosed = options.onClosed;
  }

  get remote(): NegotiatedAudio | undefined {
    return this.#remote;
  }

  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /**
   * On when masking was last turned on here, and also while a key pressed
   * under the worker's masking is reported: a key of the secure window is
   * never relayed, even if masking went off on this thread before its
   * message arrived.
   */
  get dtmfMasking(): boolean {
    return this.#masking || this.#reportedMasked;
  }

  setRemote(negotiated: NegotiatedAudio): void {
    if (this.closed) return;
    // Thrown here, as the in-thread session does, so the call set-up refuses the answer.
    if (!g711CodecByName(negotiated.codec)) throw new RangeError(`codec ${negotiated.codec} is not G.711`);
    this.#remote = negotiated;
    this.thread.notify({ type: 'set-remote', session: this.id, negotiated });
  }

  async play(items: readonly PlayerItem[], options: PlayerPlayOptions = {}): Promise<PlayerResult> {
    if (this.closed) return 'hangup';
    return this.thread.request<PlayerResult>({ type: 'play', session: this.id, items, bargeIn: options.bargeIn ?? false });
  }

  stopPlayback(): void {
    if (!this.closed) this.thread.notify({ type: 'stop-playback', session: this.id });
  }

  setDtmfMasking(on: boolean): void {
    this.#masking = on;
    if (!this.closed) this.thread.notify({ type: 'set-dtmf-masking', session: this.id, on });
  }

  setMuted(on: boolean): void {
    if (!this.closed) this.thread.notify({ type: 'set-muted', session: this.id, on });
  }

  async startRecording(options: { readonly path: string }): Promise<void> {
    await this.thread.request({ type: 'start-recording', session: this.id, path: options.path });
  }

  async pauseRecording(): Promise<void> {
    if (!this.closed) await this.thread.request({ type: 'pause-recording', session: this.id });
  }

  async resumeRecording(): Promise<void> {
    if (!this.closed) await this.thread.request({ type: 'resume-recording', session: this.id });
  }

  async stopRecording(): Promise<void> {
    if (!this.closed) await this.thread.request({ type: 'stop-recording', session: this.id });
  }

  /** A SIP INFO key: to the worker, to be counted once with the RTP reports of the same press, and back as `dtmf`. */
  reportDtmf(key: DtmfKey, method: 'info', durationMs?: number): void {
    if (!this.closed && method === 'info') this.thread.notify({ type: 'report-dtmf', session: this.id, key, durationMs });
  }

  sendTelephoneEvent(key: DtmfKey, durationMs?: number): boolean {
    if (this.closed || this.#remote?.telephoneEventPayloadType === undefined) return false;
    this.thread.notify({ type: 'send-telephone-event', session: this.id, key, durationMs });
    return true;
  }

  /** Its worker exited: tells the leg, which ends the call (no one would hear or be heard). */
  lose(): void {
    if (this.closed) return;
    try {
      this.emit('lost');
    } catch (err) {
      this.#logger?.error({ err, session: this.id }, 'a lost media session\'s listener failed');
    }
  }

  /** A key the worker reported; listener errors are logged, never thrown into the message loop. */
  deliverDtmf(message: DtmfMessage): void {
    if (this.closed) return;
    const event: SessionDtmfEvent =
      message.durationMs === undefined ? { key: message.key, method: message.method, at: message.at } : { key: message.key, method: message.method, at: message.at, durationMs: message.durationMs };
    this.#reportedMasked = message.masked;
    try {
      for (const listener of this.rawListeners('dtmf')) {
        try {
          (listener as (event: SessionDtmfEvent) => void).call(this, event);
        } catch (err) {
          this.#logger?.error({ err, port: this.localPort }, 'dtmf listener threw');
        }
      }
    } finally {
      this.#reportedMasked = false;
    }
  }

  /** Closes the worker's session (socket, recording, playback) and gives its port back. Safe to call twice. */
  close(): Promise<void> {
    this.#closing ??= this.thread
      .request({ type: 'close', session: this.id })
      .then(() => undefined)
      .finally(() => this.#onClosed());
    return this.#closing;
  }
}
