import { EventEmitter } from 'node:events';
import type Mrf from 'drachtio-fsmrf';
import type { Logger } from 'pino';
import { DtmfDeduplicator } from '../dtmf/dtmf-deduplicator.js';
import { readWavFile } from '../embedded/media/wav-reader.js';
import { parseDtmfInfo } from '../dtmf/dtmf-info-body.js';
import type {
  AudioItem,
  CallLeg,
  CallLegEvents,
  DtmfMethod,
  HangupReason,
  InboundCall,
  LegEnded,
  Listener,
  PlaybackResult,
  PlayOptions,
  RecordingOptions,
} from '../media-server-port.js';
import type { DtmfKey } from '../../domain/dtmf-key.js';
import {
  breakPlayback,
  displace,
  INBAND_DTMF_DETECTOR,
  isOk,
  LEG_VARIABLES,
  playbackTarget,
  readMute,
  RECORD_STEREO,
  RECORD_UNBUFFERED,
  recordAction,
  type ApiCommand,
} from './freeswitch-commands.js';
import { FreeswitchCommandError, LegStateError } from './freeswitch-errors.js';
import { RecordingTimeline } from './recording-timeline.js';
import type { SrfDialog, SrfRequest, SrfResponse } from './srf-api.js';

const KEYS = new Set<string>(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '#', 'A', 'B', 'C', 'D']);

/** ESL DTMF-Source → the port's method. APP (uuid_send_dtmf and the like) and UNKNOWN are no caller's key press. */
const DTMF_SOURCES: Readonly<Record<string, DtmfMethod>> = { RTP: 'rfc4733', INBAND_AUDIO: 'inband', ENDPOINT: 'info' };

/** FreeSWITCH reports DTMF durations in samples of the 8 kHz telephone-event clock. */
const SAMPLES_PER_MS = 8;

export interface FreeswitchCallLegOptions {
  readonly id: string;
  readonly logger: Logger;
  /**
   * How long the read mute outlasts masking (and mute) going off. The
   * in-band detector reports a key when its tone starts, and the flow ends
   * masking on a field's last key: the rest of that tone must not reach the
   * other party. Default 500 ms (a key held longer than that is heard).
   */
  readonly unmaskGuardMs?: number;
}

/** A leg's FreeSWITCH channel and its drachtio dialog with the party; set once the leg is answered. */
export interface Attached {
  readonly endpoint: Mrf.Endpoint;
  readonly dialog: SrfDialog;
}

/**
 * One party of a call on the FreeSWITCH media path: a drachtio-server
 * dialog with the party (signalling, SIP INFO digits, re-INVITEs, BYE,
 * REFER) and the FreeSWITCH channel (an drachtio-fsmrf Endpoint) that
 * carries its media. See freeswitch-commands.ts for what each port
 * operation becomes on FreeSWITCH.
 */
export class FreeswitchCallLeg extends EventEmitter<CallLegEvents> implements CallLeg {
  readonly id: string;
  protected readonly logger: Logger;
  readonly #dedupe = new DtmfDeduplicator();
  #attached: Attached | undefined;
  #ended = false;
  #endedPromise: Promise<void>;
  #resolveEnded!: () => void;
  #held = false;
  #hangup: Promise<void> | undefined;
  #masked = false;
  #muted = false;
  readonly #unmaskGuardMs: number;
  /** Whether uuid_audio read mute is (or is being) applied. */
  #readMuted = false;
  #unmuteTimer: NodeJS.Timeout | undefined;
  /** Mute commands in order: a later one never overtakes an earlier one. */
  #muteQueue: Promise<void> = Promise.resolve();
  #playback: Playback | undefined;
  /** In a bridge (FreeswitchMediaServer#bridge): prompts are displaced, not played (freeswitch-commands.ts, displace). */
  #bridged = false;
  /** Settles once the last play()'s playbacks have all completed on FreeSWITCH. */
  #playing: Promise<void> = Promise.resolve();
  #recordingPath: string | undefined;
  /** The recording's pause sidecar, kept from the mask and unmask times. */
  #timeline: RecordingTimeline | undefined;

  constructor(options: FreeswitchCallLegOptions) {
    super();
    this.id = options.id;
    this.logger = options.logger;
    this.#unmaskGuardMs = options.unmaskGuardMs ?? 500;
    this.#endedPromise = new Promise((resolve) => (this.#resolveEnded = resolve));
  }

  get ended(): boolean {
    return this.#ended;
  }

  /** The FreeSWITCH channel's Unique-ID once answered (for the server's bridge). */
  get uuid(): string | undefined {
    return this.#attached?.endpoint.uuid;
  }

  /** The fsmrf endpoint, for the server's bridge; throws before answer. */
  get endpoint(): Mrf.Endpoint {
    if (!this.#attached) throw new LegStateError(`leg ${this.id} is not answered`);
    return this.#attached.endpoint;
  }

  /** Set by the server's bridge() and its unbridge: how the next prompt file is played. */
  setBridged(on: boolean): void {
    this.#bridged = on;
  }

  override on<K extends keyof CallLegEvents>(event: K, listener: Listener<CallLegEvents[K]>): this {
    return super.on(event, listener as never);
  }

  override off<K extends keyof CallLegEvents>(event: K, listener: Listener<CallLegEvents[K]>): this {
    return super.off(event, listener as never);
  }

  /**
   * Binds the answered leg: listens to its dialog and channel, starts
   * in-band detection and sets the leg's channel variables. The detector
   * comes first so its media bug precedes any mute (FreeSWITCH runs media
   * bugs in the order they were added).
   */
  async attach(endpoint: Mrf.Endpoint, dialog: SrfDialog): Promise<void> {
    this.#attached = { endpoint, dialog };
    endpoint.on('dtmf', (args) => this.#onChannelDtmf(args));
    endpoint.on('destroy', () => this.#onChannelGone());
    dialog.on('destroy', () => this.#onBye());
    dialog.on('info', (req, res) => this.#onInfo(req, res));
    dialog.on('modify', (req, res) => void this.#onReinvite(req, res));
    // The IVR does not let a party move the call elsewhere mid-payment (RFC 3515 §2.4.2: 603 declines).
    dialog.on('refer', (_req, res) => res.send(603, 'Decline'));
    await endpoint.execute(INBAND_DTMF_DETECTOR);
    for (const [name, value] of LEG_VARIABLES) await endpoint.set(name, value);
    if (this.#masked || this.#muted) this.#applyReadMute();
  }

  /**
   * Plays the items one `playback` each, so that a barge-in ends the whole
   * prompt: `uuid_break` stops only the file playing, and a list joined with
   * `!` would play on, with the next prompt's playback nested inside it. A
   * play() that starts while another runs on this leg stops that one and
   * waits for its playback to complete first, for the same reason.
   */
  async play(items: readonly AudioItem[], options: PlayOptions = {}): Promise<PlaybackResult> {
    if (this.#ended) return 'hangup';
    const { endpoint } = this.#answered('play');
    const files = items.map(playbackTarget).filter((f): f is string => f !== undefined);
    if (files.length === 0) return 'completed';
    const previous = this.#playing;
    this.stopPlayback();
    const playback = new Playback(options.bargeIn ?? false);
    this.#playback = playback;
    const run = this.#playFiles(endpoint, files, playback, previous);
    this.#playing = run.then(() => undefined, () => undefined);
    try {
      return await run;
    } finally {
      if (this.#playback === playback) this.#playback = undefined;
    }
  }

  async #playFiles(endpoint: Mrf.Endpoint, files: readonly string[], playback: Playback, previous: Promise<void>): Promise<PlaybackResult> {
    await previous;
    try {
      for (const file of files) {
        if (playback.stopped) return 'stopped';
        if (this.#ended) return 'hangup';
        // A leg that ends mid-playback may never see the playback's completion event.
        const done = this.#bridged
          ? await this.#displaceFile(endpoint, file, playback)
          : await Promise.race([endpoint.play(file).then(() => 'played' as const), this.#endedPromise.then(() => 'ended' as const)]);
        if (done === 'ended' || this.#ended) return 'hangup';
      }
      return playback.stopped ? 'stopped' : 'completed';
    } catch (err) {
      if (this.#ended) return 'hangup';
      throw err;
    }
  }

  /**
   * One file to a bridged leg with uuid_displace, for as long as the file
   * lasts (FreeSWITCH fires no event at its end), or until stopped. The
   * displace is stopped in any case: a bug left at the end of a file would
   * refuse the same file next (one displace per file and channel).
   */
  async #displaceFile(endpoint: Mrf.Endpoint, file: string, playback: Playback): Promise<'played' | 'stopped' | 'ended'> {
    const silence = SILENCE.exec(file);
    const lengthMs = silence ? Number(silence[1]) : await fileLengthMs(file);
    if (!silence) {
      if (/\s/.test(file)) throw new LegStateError(`a prompt path may not contain spaces (uuid_displace splits on them): ${file}`);
      await this.#api(displace(endpoint.uuid, 'start', file), { mustSucceed: true });
    }
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      new Promise<'played'>((resolve) => (timer = setTimeout(() => resolve('played'), lengthMs))),
      playback.stopping.then(() => 'stopped' as const),
      this.#endedPromise.then(() => 'ended' as const),
    ]);
    clearTimeout(timer);
    if (!silence && outcome !== 'ended') await this.#api(displace(endpoint.uuid, 'stop', file), { mustSucceed: false });
    return outcome;
  }

  stopPlayback(): void {
    const playback = this.#playback;
    if (!playback || playback.stopped || this.#ended) return;
    playback.stop();
    // A displaced file is stopped by #displaceFile; uuid_break is for playback, and only outside a bridge.
    if (!this.#bridged) void this.#api(breakPlayback(this.endpoint.uuid), { mustSucceed: false });
  }

  /** FreeSWITCH cannot replace in-band tones alone: masking mutes the leg's read audio (freeswitch-commands.ts). */
  readonly dtmfMaskingMethod = 'mute' as const;

  setDtmfMasking(on: boolean): void {
    this.#masked = on;
    this.#applyReadMute();
  }

  setMuted(on: boolean): void {
    this.#muted = on;
    this.#applyReadMute();
  }

  async startRecording(options: RecordingOptions): Promise<void> {
    const { endpoint } = this.#answered('record');
    // uuid_record's arguments are split on spaces: a path with one could never be masked.
    if (/\s/.test(options.path)) throw new LegStateError(`a recording path may not contain spaces: ${options.path}`);
    await endpoint.set(...RECORD_STEREO);
    await endpoint.set(...RECORD_UNBUFFERED);
    await endpoint.recordSession(options.path);
    this.#recordingPath = options.path;
    this.#timeline = await RecordingTimeline.start(options.path);
  }

  pauseRecording(): Promise<void> {
    return this.#recording('mask');
  }

  resumeRecording(): Promise<void> {
    return this.#recording('unmask');
  }

  async stopRecording(): Promise<void> {
    await this.#recording('stop');
    this.#recordingPath = undefined;
    await this.#closeTimeline();
  }

  async transfer(target: string): Promise<void> {
    const { dialog } = this.#answered('transfer');
    const response = await dialog.request({ method: 'REFER', headers: { 'Refer-To': `<${target}>` } });
    if (response.status >= 300) throw new LegStateError(`REFER to ${target} refused with ${response.status}`);
  }

  hangup(): Promise<void> {
    if (this.#ended) return Promise.resolve();
    this.#hangup ??= this.#doHangup();
    return this.#hangup;
  }

  async #doHangup(): Promise<void> {
    const attached = this.#attached;
    if (attached) {
      void attached.endpoint.destroy().catch((err: unknown) => this.logger.warn({ err, leg: this.id }, 'FreeSWITCH channel hangup failed'));
      try {
        await attached.dialog.destroy();
      } catch (err) {
        this.logger.warn({ err, leg: this.id }, 'BYE failed');
      }
    }
    this.end('local-hangup');
  }

  /** Marks the leg ended once and tells the listeners. */
  end(reason: HangupReason, status?: number): void {
    if (this.#ended) return;
    this.#ended = true;
    clearTimeout(this.#unmuteTimer);
    this.#dedupe.reset();
    this.#resolveEnded();
    // FreeSWITCH closes the channel's recording with it.
    this.#closeTimeline().catch((err: unknown) => this.logger.error({ err, leg: this.id }, 'recording sidecar not written'));
    const event: LegEnded = status === undefined ? { reason } : { reason, status };
    this.emit('ended', event);
  }

  #answered(what: string): Attached {
    if (!this.#attached || this.#ended) throw new LegStateError(`cannot ${what}: leg ${this.id} is ${this.#ended ? 'ended' : 'not answered'}`);
    return this.#attached;
  }

  async #recording(action: 'mask' | 'unmask' | 'stop'): Promise<void> {
    const path = this.#recordingPath;
    // FreeSWITCH closes a channel's recordings when it hangs up: nothing is left to pause.
    if (path === undefined || this.#ended || !this.#attached) return;
    const timeline = this.#timeline;
    // The sidecar's span lies inside the mask: it opens once the mask is confirmed, closes before the unmask is sent.
    const unmasking = action === 'unmask' ? timeline?.resume() : undefined;
    await this.#api(recordAction(this.#attached.endpoint.uuid, action, path), { mustSucceed: true });
    if (action === 'mask') void timeline?.pause().catch(() => undefined);
    // A sidecar that could not be written fails stopRecording(), as on the embedded server.
    await unmasking?.catch(() => undefined);
  }

  async #closeTimeline(): Promise<void> {
    const timeline = this.#timeline;
    this.#timeline = undefined;
    await timeline?.stop();
  }

  /**
   * Keeps uuid_audio's read mute on while masked or muted: on at once (one
   * event-socket round trip, while the flow plays the field's prompt), off
   * only after the guard, unless it comes back on meanwhile.
   */
  #applyReadMute(): void {
    if (!this.#attached || this.#ended) return;
    if (this.#masked || this.#muted) {
      clearTimeout(this.#unmuteTimer);
      this.#unmuteTimer = undefined;
      if (!this.#readMuted) this.#sendReadMute(true);
      return;
    }
    if (!this.#readMuted || this.#unmuteTimer) return;
    this.#unmuteTimer = setTimeout(() => {
      this.#unmuteTimer = undefined;
      if (!this.#masked && !this.#muted && !this.#ended) this.#sendReadMute(false);
    }, this.#unmaskGuardMs);
  }

  #sendReadMute(on: boolean): void {
    this.#readMuted = on;
    const command = readMute(this.endpoint.uuid, on);
    this.#muteQueue = this.#muteQueue.then(() =>
      this.#api(command, { mustSucceed: true }).catch((err: unknown) => {
        // PCI DSS 4.0 req. 3.3.1: the agent must not hear a card field's tones. Say so loudly.
        this.logger.error({ err, leg: this.id, mute: on }, 'FreeSWITCH did not change the leg mute');
      }),
    );
  }

  async #api([command, args]: ApiCommand, { mustSucceed }: { mustSucceed: boolean }): Promise<void> {
    const reply = (await this.endpoint.api(command, args)).getBody();
    if (mustSucceed && !isOk(reply)) throw new FreeswitchCommandError(`${command} ${args}`, reply);
  }

  #onChannelDtmf(args: Mrf.DtmfEventArgs): void {
    const method = DTMF_SOURCES[args.source];
    const key = args.dtmf?.toUpperCase();
    if (!method || !key || !KEYS.has(key)) return;
    const samples = Number(args.duration);
    this.#report(key as DtmfKey, method, Number.isFinite(samples) && samples > 0 ? Math.round(samples / SAMPLES_PER_MS) : undefined);
  }

  #onInfo(req: SrfRequest, res: SrfResponse): void {
    // Answered first: a hang-up a listener does on this key must not reach the peer before the 200.
    res.send(200);
    const digit = parseDtmfInfo(req.get('Content-Type'), Buffer.from(req.body ?? '', 'latin1'));
    if (digit) this.#report(digit.key, 'info', digit.durationMs);
  }

  #report(key: DtmfKey, method: DtmfMethod, durationMs: number | undefined): void {
    if (this.#ended || !this.#dedupe.accept(key, method, performance.now(), durationMs)) return;
    if (this.#playback?.bargeIn) this.stopPlayback();
    this.emit('dtmf', durationMs === undefined ? { key, method, at: Date.now() } : { key, method, at: Date.now(), durationMs });
  }

  /** A re-INVITE from the party: FreeSWITCH answers it (new address, hold, codec), we relay its answer. */
  async #onReinvite(req: SrfRequest, res: SrfResponse): Promise<void> {
    if (!this.#attached || this.#ended) {
      res.send(481);
      return;
    }
    try {
      const sdp = await this.#attached.endpoint.modify(req.body);
      res.send(200, { body: sdp, headers: { 'Content-Type': 'application/sdp' } });
    } catch (err) {
      // RFC 3261 §14.2: an offer we cannot accept gets 488, and the session stays as it was.
      this.logger.warn({ err, leg: this.id }, 're-INVITE refused');
      res.send(488);
      return;
    }
    const held = isHoldOffer(req.body);
    if (held !== this.#held) {
      this.#held = held;
      this.emit('hold', held);
    }
  }

  #onBye(): void {
    if (this.#ended) return;
    void this.#attached?.endpoint.destroy().catch(() => undefined);
    this.end('remote-hangup');
  }

  /** FreeSWITCH hung the channel up on its own (restart, media timeout): the party cannot stay. */
  #onChannelGone(): void {
    if (this.#ended || this.#hangup) return;
    this.logger.warn({ leg: this.id }, 'FreeSWITCH ended the channel; hanging up the party');
    void this.#attached?.dialog.destroy().catch(() => undefined);
    this.end('failed');
  }
}

/** One play() on a leg: stopped by barge-in or stopPlayback(). */
class Playback {
  stopped = false;
  readonly stopping: Promise<void>;
  #resolve!: () => void;

  constructor(readonly bargeIn: boolean) {
    this.stopping = new Promise((resolve) => (this.#resolve = resolve));
  }

  stop(): void {
    this.stopped = true;
    this.#resolve();
  }
}

const SILENCE = /^silence_stream:\/\/(\d+)$/;
const fileLengths = new Map<string, number>();

/** A prompt file's length in ms (read once per path: the files are checked at start-up and do not change). */
async function fileLengthMs(file: string): Promise<number> {
  let ms = fileLengths.get(file);
  if (ms === undefined) {
    ms = (await readWavFile(file)).durationMs;
    fileLengths.set(file, ms);
  }
  return ms;
}

/** RFC 3264 §8.4: an offer that stops us sending (sendonly, inactive, or the old c=0.0.0.0) is a hold. */
function isHoldOffer(sdp: string): boolean {
  return /^a=(sendonly|inactive)\s*$/m.test(sdp) || /^c=IN IP4 0\.0\.0\.0\s*$/m.test(sdp);
}

/** What the server needs to answer an inbound call: a channel for the caller's offer and the UAS dialog. */
export type ConnectCaller = (req: SrfRequest, res: SrfResponse) => Promise<Attached>;

export interface FreeswitchInboundCallOptions extends FreeswitchCallLegOptions {
  readonly req: SrfRequest;
  readonly res: SrfResponse;
  readonly connect: ConnectCaller;
}

/** A call arriving through drachtio-server, not yet answered. */
export class FreeswitchInboundCall extends FreeswitchCallLeg implements InboundCall {
  readonly from: string;
  readonly calledUser: string;
  readonly headers: ReadonlyMap<string, string>;
  readonly sourceAddress: string;
  readonly #req: SrfRequest;
  readonly #res: SrfResponse;
  readonly #connect: ConnectCaller;
  #answer: Promise<void> | undefined;

  constructor(options: FreeswitchInboundCallOptions) {
    super(options);
    this.#req = options.req;
    this.#res = options.res;
    this.#connect = options.connect;
    this.calledUser = options.req.calledNumber;
    this.sourceAddress = options.req.source_address;
    this.from = uriOf(options.req.get('From') ?? '');
    const headers = new Map<string, string>();
    for (const [name, value] of Object.entries(options.req.headers)) headers.set(name.toLowerCase(), value);
    this.headers = headers;
    options.req.on('cancel', () => this.end('cancelled', 487));
  }

  answer(): Promise<void> {
    if (this.ended) return Promise.reject(new LegStateError('the caller has gone'));
    this.#answer ??= this.#doAnswer();
    return this.#answer;
  }

  async #doAnswer(): Promise<void> {
    let attached: Attached;
    try {
      attached = await this.#connect(this.#req, this.#res);
    } catch (err) {
      if (!this.ended) {
        const status = (err as { status?: number }).status;
        if (!this.#res.finalResponseSent) this.#res.send(status && status >= 400 ? status : 500);
        this.end('failed', status);
      }
      throw err;
    }
    if (this.ended) {
      // Cancelled while FreeSWITCH was setting up: release what was made.
      void attached.endpoint.destroy().catch(() => undefined);
      void attached.dialog.destroy().catch(() => undefined);
      throw new LegStateError('the caller has gone');
    }
    await this.attach(attached.endpoint, attached.dialog);
  }

  async reject(status: number, reason?: string): Promise<void> {
    if (this.#answer || this.ended) return;
    if (reason === undefined) this.#res.send(status);
    else this.#res.send(status, reason);
    this.end('rejected', status);
  }

  override async hangup(): Promise<void> {
    if (this.ended) return;
    if (!this.#answer) {
      await this.reject(480, 'Temporarily Unavailable');
      return;
    }
    await this.#answer.catch(() => undefined);
    await super.hangup();
  }
}

/** The URI of a From/To header value: inside <...>, or up to the first parameter. */
function uriOf(value: string): string {
  const angle = /<([^>]*)>/.exec(value);
  if (angle) return angle[1] as string;
  return value.split(';')[0]?.trim() ?? '';
}
