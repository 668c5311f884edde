import { randomInt } from 'node:crypto';
import type { Socket } from 'node:dgram';
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { DtmfKey } from '../../../domain/dtmf-key.js';
import { g711CodecByName, type G711Codec } from '../media/g711.js';
import { RTP_FIXED_HEADER_LENGTH, RtpPacketView, writeRtpHeader, type RtpHeaderFields } from '../media/rtp-packet.js';
import { TELEPHONE_EVENT_LENGTH, TelephoneEventBits, TelephoneEventOffset } from '../media/telephone-event.js';
import { TelephoneEventReceiver, type TelephoneEventReport } from '../media/telephone-event-receiver.js';
import type { ToneComponent } from '../media/tone-generator.js';
import type { NegotiatedAudio, NegotiatedSrtp } from '../sdp/sdp-negotiator.js';
import type { SdesCrypto } from '../sdp/sdes-crypto.js';
import { CallRecorder } from './call-recorder.js';
import { DtmfDeduplicator } from '../../dtmf/dtmf-deduplicator.js';
import type { DtmfMethod } from '../../media-server-port.js';
import { DtmfMasker, type MaskMode } from './dtmf-masker.js';
import type { FramePipeReader, FramePipeWriter } from './frame-pipe.js';
import { FRAME_SAMPLES, JitterBuffer, type JitterBufferStats } from './jitter-buffer.js';
import type { FrameHandler } from './media-clock.js';
import { MediaPlayer, type PlayerItem, type PlayerPlayOptions, type PlayerResult } from './media-player.js';
import { PromptCache } from './prompt-cache.js';
import { InvalidStateError } from './rtp-errors.js';
import type { RtpPortAllocator } from './rtp-port-allocator.js';
import { RtpSourceSequences } from './rtp-source-sequences.js';
import { SRTP_MAX_TAG_BYTES, SrtpContext, SrtpError } from './srtp-context.js';
import { TelephoneEventSender } from './telephone-event-sender.js';

/** What a session needs of the clock: a `MediaClock`, or a hand-driven one in tests. */
export interface FrameScheduler {
  add(handler: FrameHandler): void;
  remove(handler: FrameHandler): void;
}

export interface RtpSessionOptions {
  /** Hands out the session's UDP port (bound socket); the port goes back on `close()`. */
  readonly allocator: Pick<RtpPortAllocator, 'allocate' | 'release'>;
  /** The one 20 ms clock of every session. */
  readonly clock: FrameScheduler;
  /** Default: none (errors are counted in `stats()` only). */
  readonly logger?: Logger;
  /** What a masked key press becomes towards the bridged peer (`MASK_MODE`). */
  readonly maskMode: MaskMode;
  /** Delay of the audio forwarded to the peer, 0–40 ms, that lets a tone be masked from its first sample. Default 40. */
  readonly lookAheadMs?: number;
  /** Masking kept after a tone is last seen. Default 30 ms. */
  readonly hangOverMs?: number;
  /** Masking tone in 'tone' mode. Default 400 Hz at −20 dBm0. */
  readonly maskTone?: ToneComponent;
  /** Jitter buffer playout delay. Default 40 ms. */
  readonly jitterBufferMs?: number;
  /** See `DtmfDeduplicatorOptions.windowMs`. Default 300 ms. */
  readonly dtmfDedupeWindowMs?: number;
  /** Decoded prompts. Default: one cache shared by every session of the process. */
  readonly promptCache?: PromptCache;
  /** Monotonic milliseconds. Default `performance.now`. */
  readonly now?: () => number;
}

/** A key press from this leg's party (the media-server port's `DtmfEvent`). */
export interface SessionDtmfEvent {
  readonly key: DtmfKey;
  readonly method: DtmfMethod;
  /** Milliseconds since the Unix epoch when the press was first seen. */
  readonly at: number;
  /** Length of the press, when the report carries it (INFO Duration). */
  readonly durationMs?: number;
}

export interface RtpSessionEvents {
  dtmf: [event: SessionDtmfEvent];
  /** The engine carrying the session is gone (its media worker exited): nothing more is sent or received. */
  lost: [];
}

export interface RtpSessionStats {
  readonly packetsIn: number;
  readonly bytesIn: number;
  readonly packetsOut: number;
  readonly bytesOut: number;
  /** Datagrams that are not RTP (RFC 3550 §5.1 checks), or a telephone-event payload not in 4-byte blocks. */
  readonly malformed: number;
  /** Packets of a payload type the SDP did not declare (SIPp's PT 97 filler, comfort noise …), ignored. */
  readonly undeclaredPayloadType: number;
  readonly audioPackets: number;
  readonly eventPackets: number;
  /** Sequence gaps per source, audio and events together (RFC 3550 §6.4.1 cumulative lost); a new SSRC starts a new count. */
  readonly lost: number;
  /** Reordered or duplicate packets, plus audio too late for the jitter buffer. */
  readonly late: number;
  readonly ssrcChanges: number;
  readonly jitterBuffer: JitterBufferStats;
  readonly sendErrors: number;
  /** Smoothed |send interval − 20 ms| (the RFC 3550 §6.4.1 estimator, applied to our own sending). */
  readonly sendIntervalJitterMs: number;
  readonly sendIntervalMaxMs: number;
  /** Key presses reported, and reports dropped as another method's report of the same press. */
  readonly dtmfReported: number;
  readonly dtmfDuplicates: number;
  /** Samples forwarded to the peer as silence or masking tone. */
  readonly maskedSamples: number;
  /** SRTP packets discarded: the tag did not verify (a wrong key, tampering, plain RTP), RFC 3711 §3.3 step 5. */
  readonly srtpAuthenticationFailures: number;
  /** SRTP packets discarded as replayed or older than the replay window (RFC 3711 §3.3.2). */
  readonly srtpReplayed: number;
}

/** Send buffers rotated so one is never rewritten while the socket may still hold it. */
const SEND_BUFFERS = 4;
const PACKET_LENGTH = RTP_FIXED_HEADER_LENGTH + FRAME_SAMPLES;
/** Never written: the forwarded frame of a muted leg. */
const SILENT_FRAME = new Int16Array(FRAME_SAMPLES);

let sharedPromptCache: PromptCache | undefined;

interface MutableEventFields {
  event: number;
  end: boolean;
  volume: number;
  duration: number;
}

/**
 * The media of one call leg: one UDP port, G.711 both ways, RFC 4733 and
 * in-band DTMF in, prompts and the bridged peer's audio out, masking,
 * recording.
 *
 * SRTP (when the SDP negotiated keys): each datagram is authenticated and
 * decrypted in place before anything reads it, so everything below sees
 * plain RTP; one that fails (tag, replay) is counted and dropped. Each
 * packet is protected in its send buffer, which has room for the tag, just
 * before it is sent.
 *
 * Receive: each datagram is read with one reused `RtpPacketView`. Packets of
 * the negotiated audio payload type are decoded into the jitter buffer (a new
 * SSRC restarts it: SIPp changes SSRC mid-call); packets of the declared
 * telephone-event type go to a `TelephoneEventReceiver`; any other payload
 * type is counted and ignored. Every source address is accepted (no
 * latching to the SDP address).
 *
 * Tick (once per `MediaClock` frame, for every session): one frame leaves the
 * jitter buffer, passes the `DtmfMasker` (in-band detection, look-ahead
 * delay, masking) and becomes what this leg forwards to its peer (silence
 * if muted); the frame sent to this leg is the player's output plus the
 * peer's forwarded frame, encoded to this leg's codec. Each side of a bridge
 * prepares its forwarded frame once per frame index, whichever tick asks
 * first, so both directions use the same frame.
 *
 * Send: one packet per tick while the remote is known and not on hold, with
 * no silence suppression (a steady stream keeps PBX media timeouts and the
 * far jitter buffer happy); random initial sequence number, timestamp and
 * SSRC (RFC 3550 §5.1); the marker bit on the first packet and after hold
 * or a new remote address.
 *
 * DTMF: every report (RFC 4733 start, in-band confirmation, `reportDtmf`
 * for INFO) goes through a `DtmfDeduplicator`, which an RFC 4733 event's end
 * stretches over the whole press; an accepted one stops a play
 * started with `bargeIn` and is emitted as `dtmf`. RFC 4733 events are
 * never forwarded: the peer only ever gets audio we produce. Listener errors
 * are logged, never thrown into the RTP loop. `sendTelephoneEvent` sends a
 * key press of our own to this leg's party (the in-line relay regenerates
 * the caller's keys towards the PBX that way, outside the secure window).
 */
export class RtpSession extends EventEmitter<RtpSessionEvents> {
  readonly localPort: number;
  readonly #socket: Socket;
  readonly #allocator: Pick<RtpPortAllocator, 'allocate' | 'release'>;
  readonly #clock: FrameScheduler;
  readonly #logger: Logger | undefined;
  readonly #now: () => number;
  readonly #view = new RtpPacketView();
  readonly #jitter: JitterBuffer;
  readonly #sequences = new RtpSourceSequences();
  readonly #events = new TelephoneEventReceiver();
  readonly #eventFields: MutableEventFields = { event: 0, end: false, volume: 0, duration: 0 };
  readonly #dedupe: DtmfDeduplicator;
  readonly #masker: DtmfMasker;
  readonly #player: MediaPlayer;
  readonly #pendingInband: DtmfKey[] = [];
  /** When the audio each pending in-band key was heard in arrived (NaN: not known). */
  readonly #pendingInbandAt: number[] = [];
  /** When the frame being detected and masked now arrived; see JitterBuffer.lastReadArrivalMs. */
  #frameArrivalMs = Number.NaN;
  readonly #eventsOut = new TelephoneEventSender();

  readonly #decodeScratch = new Int16Array(1024);
  readonly #received = new Int16Array(FRAME_SAMPLES);
  readonly #masked = new Int16Array(FRAME_SAMPLES);
  readonly #out = new Int16Array(FRAME_SAMPLES);
  #forwarded: Int16Array = SILENT_FRAME;
  #preparedFrame = -1;

  /** Each with room for an SRTP tag after the RTP packet. */
  readonly #sendBuffers: Buffer[] = [];
  /** The RTP packet of each send buffer, and its payload. */
  readonly #sendPackets: Buffer[] = [];
  readonly #sendPayloads: Buffer[] = [];
  #sendSlot = 0;
  readonly #header: RtpHeaderFields;
  /** RFC 3550 §5.1: random initial sequence number and timestamp. */
  #sequence: number;
  #timestamp: number;
  #sending = false;
  #lastSendAt = -1;

  #remote: NegotiatedAudio | undefined;
  #codec: G711Codec | undefined;
  #srtp: NegotiatedSrtp | undefined;
  #srtpIn: SrtpContext | undefined;
  #srtpOut: SrtpContext | undefined;
  #audioSsrc = -1;
  #peer: RtpSession | undefined;
  /** A peer on another media worker: what we forward goes out, what it forwards comes in (see FramePipeWriter). */
  #pipeOut: FramePipeWriter | undefined;
  #pipeIn: FramePipeReader | undefined;
  readonly #piped = new Int16Array(FRAME_SAMPLES);
  #muted = false;
  #recorder: CallRecorder | undefined;
  /** A recording stopped by stopRecording(), still closing: close() waits for it too. */
  #recorderStopping: Promise<void> | undefined;
  #recorderStarting = false;
  #recordingPaused = false;
  #closed = false;
  #closing: Promise<void> | undefined;

  #packetsIn = 0;
  #bytesIn = 0;
  #packetsOut = 0;
  #bytesOut = 0;
  #malformed = 0;
  #undeclared = 0;
  #audioPackets = 0;
  #eventPackets = 0;
  #ssrcChanges = 0;
  #sendErrors = 0;
  #sendJitter = 0;
  #sendIntervalMax = 0;
  #dtmfReported = 0;
  #srtpAuthenticationFailures = 0;
  #srtpReplayed = 0;

  private constructor(options: RtpSessionOptions, socket: Socket, port: number) {
    super();
    this.localPort = port;
    this.#socket = socket;
    this.#allocator = options.allocator;
    this.#clock = options.clock;
    this.#logger = options.logger;
    this.#now = options.now ?? (() => performance.now());
    this.#jitter = new JitterBuffer({ targetDelaySamples: Math.round((options.jitterBufferMs ?? 40) * 8) });
    this.#dedupe = new DtmfDeduplicator({ windowMs: options.dtmfDedupeWindowMs ?? 300 });
    this.#masker = new DtmfMasker({
      mode: options.maskMode,
      ...(options.lookAheadMs !== undefined ? { lookAheadMs: options.lookAheadMs } : {}),
      ...(options.hangOverMs !== undefined ? { hangOverMs: options.hangOverMs } : {}),
      ...(options.maskTone !== undefined ? { maskTone: options.maskTone } : {}),
      onDigitStart: (key) => {
        this.#pendingInband.push(key);
        this.#pendingInbandAt.push(this.#frameArrivalMs);
      },
    });
    this.#player = new MediaPlayer({ cache: options.promptCache ?? (sharedPromptCache ??= new PromptCache()) });
    for (let i = 0; i < SEND_BUFFERS; i++) {
      const buffer = Buffer.alloc(PACKET_LENGTH + SRTP_MAX_TAG_BYTES);
      this.#sendBuffers.push(buffer);
      this.#sendPackets.push(buffer.subarray(0, PACKET_LENGTH));
      this.#sendPayloads.push(buffer.subarray(RTP_FIXED_HEADER_LENGTH, PACKET_LENGTH));
    }
    this.#sequence = randomInt(0, 0x10000);
    this.#timestamp = randomInt(0, 0x100000000);
    this.#header = { marker: false, payloadType: 0, sequenceNumber: 0, timestamp: 0, ssrc: randomInt(0, 0x100000000) };
    socket.on('message', this.#onMessage);
    socket.on('error', this.#onSocketError);
    this.#clock.add(this.#onTick);
  }

  /** Binds a port from the allocator and starts ticking. Rejects with `RtpPortsExhaustedError`. */
  static async open(options: RtpSessionOptions): Promise<RtpSession> {
    const { socket, port } = await options.allocator.allocate();
    try {
      return new RtpSession(options, socket, port);
    } catch (error) {
      socket.close();
      options.allocator.release(port);
      throw error;
    }
  }

  /**
   * Joins two sessions so each hears the other. For `MediaBridge`; throws
   * `InvalidStateError` if either is closed or already bridged.
   */
  static link(a: RtpSession, b: RtpSession): void {
    if (a === b) throw new InvalidStateError('a session cannot be bridged to itself');
    if (a.#closed || b.#closed) throw new InvalidStateError('cannot bridge a closed session');
    if (a.#peer || b.#peer || a.#pipeOut || b.#pipeOut) throw new InvalidStateError('session is already bridged');
    a.#peer = b;
    b.#peer = a;
  }

  /** Separates two sessions joined by `link`; false if they were not joined to each other. */
  static unlink(a: RtpSession, b: RtpSession): boolean {
    if (a.#peer !== b || b.#peer !== a) return false;
    a.#peer = undefined;
    b.#peer = undefined;
    return true;
  }

  /**
   * Joins this session to a peer on another media worker through shared
   * frame rings (`frame-pipe.ts`); throws `InvalidStateError` if closed or
   * already bridged.
   */
  linkPipe(out: FramePipeWriter, into: FramePipeReader): void {
    if (this.#closed) throw new InvalidStateError('cannot bridge a closed session');
    if (this.#peer || this.#pipeOut) throw new InvalidStateError('session is already bridged');
    this.#pipeOut = out;
    this.#pipeIn = into;
  }

  unlinkPipe(): void {
    this.#pipeOut = undefined;
    this.#pipeIn = undefined;
  }

  /** Our SSRC (RFC 3550 §8: random, kept for the session's life). */
  get ssrc(): number {
    return this.#header.ssrc;
  }

  get closed(): boolean {
    return this.#closed;
  }

  get peer(): RtpSession | undefined {
    return this.#peer;
  }

  get remote(): NegotiatedAudio | undefined {
    return this.#remote;
  }

  get dtmfMasking(): boolean {
    return this.#masker.masking;
  }

  get muted(): boolean {
    return this.#muted;
  }

  get recording(): boolean {
    return this.#recorder !== undefined;
  }

  /** Look-ahead delay of the forwarded audio, in ms. */
  get forwardDelayMs(): number {
    return this.#masker.delaySamples / 8;
  }

  /**
   * Applies the negotiated SDP: codec and payload types for both directions,
   * where to send. Called again on every re-INVITE: a new codec applies from
   * the next frame; a new address or a return from hold sends the next
   * packet with the marker bit. On hold (`onHold`, or a 0.0.0.0 / port 0
   * address, RFC 3264 §8.4) nothing is sent; receiving goes on. With
   * `srtp`, media is SRTP both ways from now on; a direction whose key is
   * unchanged keeps its rollover counter and replay list (a re-INVITE).
   */
  setRemote(negotiated: NegotiatedAudio): void {
    if (this.#closed) return;
    const codec = g711CodecByName(negotiated.codec);
    if (!codec) throw new RangeError(`codec ${negotiated.codec} is not G.711`);
    const previous = this.#remote;
    this.#remote = negotiated;
    this.#codec = codec;
    this.#applySrtp(negotiated.srtp);
    if (previous && (previous.remoteAddress !== negotiated.remoteAddress || previous.remotePort !== negotiated.remotePort)) {
      this.#sending = false;
    }
  }

  #applySrtp(srtp: NegotiatedSrtp | undefined): void {
    const before = this.#srtp;
    this.#srtp = srtp;
    if (!srtp) {
      this.#srtpIn = undefined;
      this.#srtpOut = undefined;
      return;
    }
    if (!this.#srtpIn || !sameKey(before?.remote, srtp.remote)) {
      this.#srtpIn = new SrtpContext(srtp.suite, srtp.remote.masterKey, srtp.remote.masterSalt, 'inbound');
    }
    if (!this.#srtpOut || !sameKey(before?.local, srtp.local)) {
      this.#srtpOut = new SrtpContext(srtp.suite, srtp.local.masterKey, srtp.local.masterSalt, 'outbound');
    }
  }

  /** Plays the items in order to this leg; with `bargeIn`, an accepted key press stops it ('stopped'). */
  play(items: readonly PlayerItem[], options: PlayerPlayOptions = {}): Promise<PlayerResult> {
    return this.#player.play(items, options);
  }

  stopPlayback(): void {
    this.#player.stop('stopped');
  }

  /** While on, the audio forwarded to the peer has every DTMF tone replaced (see `DtmfMasker`). */
  setDtmfMasking(on: boolean): void {
    this.#masker.masking = on;
  }

  /** While on, the peer gets silence from this leg. */
  setMuted(on: boolean): void {
    this.#muted = on;
  }

  /**
   * Records this leg to a stereo WAV at `path` (left: what its party said,
   * as forwarded — delayed by the look-ahead, masked while masking is on;
   * right: what we send it) and `<path>.json`. Starts paused if
   * `pauseRecording` came first. Throws `InvalidStateError` when closed or
   * already recording.
   */
  async startRecording(options: { readonly path: string }): Promise<void> {
    if (this.#closed) throw new InvalidStateError('session is closed');
    if (this.#recorder || this.#recorderStarting) throw new InvalidStateError('already recording');
    this.#recorderStarting = true;
    let recorder: CallRecorder;
    try {
      recorder = await CallRecorder.start(options.path, { paused: this.#recordingPaused });
    } finally {
      this.#recorderStarting = false;
    }
    if (this.#closed) {
      await recorder.stop();
      throw new InvalidStateError('session closed while the recording was starting');
    }
    this.#recorder = recorder;
    // A pause or resume that came while the file was being created.
    if (recorder.paused !== this.#recordingPaused) await (this.#recordingPaused ? recorder.pause() : recorder.resume());
  }

  /** Silence is recorded from the next frame; remembered if no recording is running yet. */
  async pauseRecording(): Promise<void> {
    this.#recordingPaused = true;
    await this.#recorder?.pause();
  }

  async resumeRecording(): Promise<void> {
    this.#recordingPaused = false;
    await this.#recorder?.resume();
  }

  async stopRecording(): Promise<void> {
    const recorder = this.#recorder;
    this.#recorder = undefined;
    if (!recorder) return;
    this.#recorderStopping = recorder.stop();
    await this.#recorderStopping;
  }

  /** A key press that came by signalling (SIP INFO), counted once with the RTP reports of the same press. */
  reportDtmf(key: DtmfKey, method: DtmfMethod, durationMs?: number): void {
    if (this.#closed) return;
    const now = this.#now();
    // An INFO sent at key-up of a long press comes while its RFC 4733 event may still be going.
    if (this.#events.activeEvent?.key === key) this.#dedupe.extend(key, 'rfc4733', now);
    this.#report(key, method, durationMs, now);
  }

  /**
   * Sends a key press to this leg's party as RFC 4733 events, in place of
   * the audio of the frames it lasts; false (nothing sent) when the remote
   * declared no telephone-event payload type.
   */
  sendTelephoneEvent(key: DtmfKey, durationMs?: number): boolean {
    if (this.#closed || this.#remote?.telephoneEventPayloadType === undefined) return false;
    this.#eventsOut.enqueue(key, durationMs);
    return true;
  }

  stats(): RtpSessionStats {
    const sequences = this.#sequences.stats();
    const jitter = this.#jitter.stats();
    return {
      packetsIn: this.#packetsIn,
      bytesIn: this.#bytesIn,
      packetsOut: this.#packetsOut,
      bytesOut: this.#bytesOut,
      malformed: this.#malformed,
      undeclaredPayloadType: this.#undeclared,
      audioPackets: this.#audioPackets,
      eventPackets: this.#eventPackets,
      lost: sequences.lost,
      late: sequences.late + jitter.late,
      ssrcChanges: this.#ssrcChanges,
      jitterBuffer: jitter,
      sendErrors: this.#sendErrors,
      sendIntervalJitterMs: this.#sendJitter,
      sendIntervalMaxMs: this.#sendIntervalMax,
      dtmfReported: this.#dtmfReported,
      dtmfDuplicates: this.#dedupe.duplicates,
      maskedSamples: this.#masker.stats().maskedSamples,
      srtpAuthenticationFailures: this.#srtpAuthenticationFailures,
      srtpReplayed: this.#srtpReplayed,
    };
  }

  /**
   * Stops ticking, leaves the bridge, resolves a pending play with 'hangup',
   * closes the recording, closes the socket and gives the port back. Safe to
   * call twice (the same promise).
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#closed = true;
    this.#clock.remove(this.#onTick);
    const peer = this.#peer;
    if (peer) RtpSession.unlink(this, peer);
    this.unlinkPipe();
    this.#player.close();
    this.#socket.off('message', this.#onMessage);
    await new Promise<void>((resolve) => {
      try {
        this.#socket.close(() => resolve());
      } catch {
        resolve();
      }
    });
    this.#allocator.release(this.localPort);
    const recorder = this.#recorder;
    this.#recorder = undefined;
    if (recorder) await recorder.stop().catch((err: unknown) => this.#logger?.error({ err, port: this.localPort }, 'closing the recording failed'));
    await this.#recorderStopping?.catch(() => undefined);
  }

  readonly #onSocketError = (err: Error): void => {
    this.#sendErrors++;
    this.#logger?.warn({ err, port: this.localPort }, 'RTP socket error');
  };

  readonly #onMessage = (msg: Buffer): void => {
    if (this.#closed) return;
    try {
      this.#receive(msg);
    } catch (err) {
      this.#logger?.error({ err, port: this.localPort }, 'RTP receive failed');
    }
  };

  readonly #onTick: FrameHandler = (frame) => {
    if (this.#closed) return;
    try {
      this.#tick(frame);
    } catch (err) {
      this.#logger?.error({ err, port: this.localPort }, 'RTP tick failed');
    }
    const pending = this.#pendingInband;
    if (pending.length > 0) {
      const now = this.#now();
      const heardAt = this.#pendingInbandAt;
      // Stamped with the audio's arrival, like an RFC 4733 packet, so a late tick cannot part one press into two keys.
      for (let i = 0; i < pending.length; i++) {
        const at = heardAt[i] as number;
        this.#report(pending[i] as DtmfKey, 'inband', undefined, Number.isNaN(at) ? now : at);
      }
      pending.length = 0;
      heardAt.length = 0;
    }
  };

  #receive(msg: Buffer): void {
    this.#packetsIn++;
    this.#bytesIn += msg.length;
    const packet = this.#srtpIn ? this.#unprotect(this.#srtpIn, msg) : msg;
    if (!packet) return;
    const view = this.#view;
    try {
      view.read(packet);
    } catch {
      this.#malformed++;
      return;
    }
    const remote = this.#remote;
    const pt = view.payloadType;
    if (remote && pt === remote.payloadType) this.#receiveAudio(view);
    else if (remote && pt === remote.telephoneEventPayloadType) this.#receiveEvents(view);
    else this.#undeclared++;
  }

  /** The datagram decrypted in place (it is ours: dgram hands each its own buffer), or undefined when discarded. */
  #unprotect(srtp: SrtpContext, msg: Buffer): Buffer | undefined {
    try {
      return srtp.unprotect(msg, msg);
    } catch (err) {
      if (!(err instanceof SrtpError)) throw err;
      if (err.reason === 'authentication') this.#srtpAuthenticationFailures++;
      else if (err.reason === 'too-short') this.#malformed++;
      else this.#srtpReplayed++;
      return undefined;
    }
  }

  #receiveAudio(view: RtpPacketView): void {
    this.#audioPackets++;
    if (view.ssrc !== this.#audioSsrc) {
      // RFC 3550 §8.2: a new SSRC is a new source; SIPp restarts with one mid-call.
      if (this.#audioSsrc !== -1) {
        this.#ssrcChanges++;
        this.#jitter.reset();
      }
      this.#audioSsrc = view.ssrc;
    }
    this.#sequences.update(view.ssrc, view.sequenceNumber);
    const table = (this.#codec as G711Codec).decodeTable;
    const scratch = this.#decodeScratch;
    const bytes = view.buffer;
    let offset = view.payloadOffset;
    let left = view.payloadLength;
    let timestamp = view.timestamp;
    let marker = view.marker;
    const arrivedMs = this.#now();
    while (left > 0) {
      const n = Math.min(left, scratch.length);
      for (let i = 0; i < n; i++) scratch[i] = table[bytes[offset + i] as number] as number;
      this.#jitter.write(timestamp, scratch, n, marker, arrivedMs);
      offset += n;
      left -= n;
      timestamp = (timestamp + n) >>> 0;
      marker = false;
    }
  }

  #receiveEvents(view: RtpPacketView): void {
    const length = view.payloadLength;
    if (length === 0 || length % TELEPHONE_EVENT_LENGTH !== 0) {
      this.#malformed++;
      return;
    }
    this.#eventPackets++;
    this.#sequences.update(view.ssrc, view.sequenceNumber);
    const now = this.#now();
    const bytes = view.buffer;
    const fields = this.#eventFields;
    // RFC 4733 §2.5.1.5: one packet may carry several event blocks.
    for (let at = view.payloadOffset; at < view.payloadOffset + length; at += TELEPHONE_EVENT_LENGTH) {
      const flags = bytes[at + TelephoneEventOffset.FLAGS_VOLUME] as number;
      fields.event = bytes[at + TelephoneEventOffset.EVENT] as number;
      fields.end = (flags & TelephoneEventBits.END) !== 0;
      fields.volume = flags & TelephoneEventBits.VOLUME;
      fields.duration = ((bytes[at + TelephoneEventOffset.DURATION] as number) << 8) | (bytes[at + TelephoneEventOffset.DURATION + 1] as number);
      for (const report of this.#events.receive(view, fields, now)) this.#onEventReport(report, now);
    }
  }

  /** A start is a key press; an end says how long the press was held, for the de-duplication of a late INFO. */
  #onEventReport(report: TelephoneEventReport, now: number): void {
    if (report.key === undefined) return;
    if (report.type === 'start') this.#report(report.key, 'rfc4733', undefined, now);
    else this.#dedupe.extend(report.key, 'rfc4733', report.atMs);
  }

  #tick(frame: number): void {
    this.#prepare(frame);
    const peer = this.#peer;
    if (peer) peer.#prepare(frame);
    const out = this.#out;
    this.#player.nextFrame(out);
    const pipeIn = this.#pipeIn;
    if (peer || pipeIn) {
      let forwarded: Int16Array;
      if (peer) forwarded = peer.#forwarded;
      else {
        (pipeIn as FramePipeReader).read(this.#piped);
        forwarded = this.#piped;
      }
      for (let i = 0; i < FRAME_SAMPLES; i++) {
        const v = (out[i] as number) + (forwarded[i] as number);
        out[i] = v > 32767 ? 32767 : v < -32768 ? -32768 : v;
      }
    }
    this.#send(out);
    this.#record(out);
  }

  /** This frame's audio from this leg: detected, delayed, masked; once per frame index. */
  #prepare(frame: number): void {
    if (this.#preparedFrame === frame) return;
    this.#preparedFrame = frame;
    const now = this.#now();
    for (const report of this.#events.poll(now)) this.#onEventReport(report, now);
    this.#jitter.read(this.#received);
    this.#frameArrivalMs = this.#jitter.lastReadArrivalMs;
    try {
      this.#masker.process(this.#received, this.#masked, this.#events.isActive(now));
    } finally {
      this.#forwarded = this.#muted ? SILENT_FRAME : this.#masked;
      // Masked (or muted) before it leaves for another worker, as for a peer here.
      this.#pipeOut?.write(this.#forwarded);
    }
  }

  #send(pcm: Int16Array): void {
    const timestamp = this.#timestamp;
    // RFC 3550 §5.1: the timestamp follows the sampling clock, sent or not.
    this.#timestamp = (timestamp + FRAME_SAMPLES) >>> 0;
    const remote = this.#remote;
    const codec = this.#codec;
    if (!remote || !codec || remote.onHold || remote.remotePort <= 0 || isUnspecified(remote.remoteAddress)) {
      this.#sending = false;
      this.#eventsOut.clear();
      return;
    }
    const header = this.#header;
    // RFC 3551 §4.1: the marker bit is set on the first packet after a period of not sending.
    header.marker = !this.#sending;
    header.payloadType = remote.payloadType;
    header.sequenceNumber = this.#sequence;
    header.timestamp = timestamp;
    this.#sequence = (this.#sequence + 1) & 0xffff;
    const slot = this.#sendSlot;
    this.#sendSlot = (slot + 1) % SEND_BUFFERS;
    let packet = this.#sendPackets[slot] as Buffer;
    const payload = this.#sendPayloads[slot] as Buffer;
    const event = this.#eventsOut.pending && remote.telephoneEventPayloadType !== undefined ? this.#eventsOut.next(timestamp, payload) : undefined;
    if (event && remote.telephoneEventPayloadType !== undefined) {
      // RFC 4733 §2.5.1.2: the event's packets stand in for the audio of the frames it covers.
      header.payloadType = remote.telephoneEventPayloadType;
      header.timestamp = event.timestamp;
      header.marker = event.marker;
      packet = (this.#sendBuffers[slot] as Buffer).subarray(0, RTP_FIXED_HEADER_LENGTH + TELEPHONE_EVENT_LENGTH);
    } else {
      codec.encode(pcm, payload, FRAME_SAMPLES);
    }
    writeRtpHeader(packet, header, 0);
    const wire = this.#srtpOut ? this.#srtpOut.protect(packet, this.#sendBuffers[slot]) : packet;
    this.#socket.send(wire, remote.remotePort, remote.remoteAddress);
    this.#packetsOut++;
    this.#bytesOut += wire.length;
    const now = this.#now();
    if (this.#sending && this.#lastSendAt >= 0) {
      const interval = now - this.#lastSendAt;
      this.#sendJitter += (Math.abs(interval - 20) - this.#sendJitter) / 16;
      if (interval > this.#sendIntervalMax) this.#sendIntervalMax = interval;
    }
    this.#lastSendAt = now;
    this.#sending = true;
  }

  #record(sent: Int16Array): void {
    const recorder = this.#recorder;
    if (!recorder) return;
    try {
      recorder.append(this.#masked, sent);
    } catch (err) {
      this.#recorder = undefined;
      this.#logger?.error({ err, port: this.localPort, path: recorder.path }, 'recording failed; stopped');
      recorder.stop().catch(() => undefined);
    }
  }

  #report(key: DtmfKey, method: DtmfMethod, durationMs: number | undefined, now = this.#now()): void {
    if (!this.#dedupe.accept(key, method, now, durationMs)) return;
    this.#dtmfReported++;
    if (this.#player.bargeIn) this.#player.stop('stopped');
    const event: SessionDtmfEvent = durationMs === undefined ? { key, method, at: Date.now() } : { key, method, at: Date.now(), durationMs };
    for (const listener of this.rawListeners('dtmf')) {
      try {
        (listener as (event: SessionDtmfEvent) => void).call(this, event);
      } catch (err) {
        this.#logger?.error({ err, port: this.localPort }, 'dtmf listener threw');
      }
    }
  }
}

function sameKey(a: SdesCrypto | undefined, b: SdesCrypto): boolean {
  return a !== undefined && a.suite === b.suite && a.masterKey.equals(b.masterKey) && a.masterSalt.equals(b.masterSalt);
}

function isUnspecified(address: string): boolean {
  return address === '0.0.0.0' || address === '::' || address === '';
}
