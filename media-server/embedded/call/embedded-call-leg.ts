import { EventEmitter } from 'node:events';
import type {
  AudioItem,
  CallLeg,
  CallLegEvents,
  DtmfEvent,
  HangupReason,
  InboundCall,
  LegEnded,
  Listener,
  PlaybackResult,
  PlayOptions,
  RecordingOptions,
} from '../../media-server-port.js';
import type { DtmfKey } from '../../../domain/dtmf-key.js';
import type { MediaDirection, NegotiatedAudio, OfferAnswer } from '../sdp/sdp-negotiator.js';
import type { InviteSession, IncomingInvite } from '../sip/user-agent/sip-user-agent.js';
import type { TransportAddress } from '../sip/transport/sip-transport.js';
import { formatDtmfInfo, parseDtmfInfo } from '../../dtmf/dtmf-info-body.js';
import { parseNameAddr } from '../sip/message/index.js';

/** What a leg needs of its RTP session (media-server/embedded/rtp). */
export interface LegMedia {
  readonly localPort: number;
  /** What `setRemote` last applied. */
  readonly remote: NegotiatedAudio | undefined;
  setRemote(negotiated: NegotiatedAudio): void;
  play(items: readonly AudioItem[], options?: PlayOptions): Promise<PlaybackResult>;
  stopPlayback(): void;
  setDtmfMasking(on: boolean): void;
  setMuted(on: boolean): void;
  startRecording(options: RecordingOptions): Promise<void>;
  pauseRecording(): Promise<void>;
  resumeRecording(): Promise<void>;
  stopRecording(): Promise<void>;
  /** A key press that came by signalling (INFO), so the session can count each press once. */
  reportDtmf(key: DtmfKey, method: 'info', durationMs?: number): void;
  /** Sends a key press as RFC 4733 events; false when the remote declared no telephone-event. */
  sendTelephoneEvent(key: DtmfKey, durationMs?: number): boolean;
  readonly dtmfMasking: boolean;
  on(event: 'dtmf', listener: (event: DtmfEvent) => void): unknown;
  /** The engine carrying the media is gone (a media worker exited). */
  on(event: 'lost', listener: () => void): unknown;
  close(): Promise<void> | void;
}

export interface EmbeddedCallLegOptions {
  readonly id: string;
  readonly media: LegMedia;
  /**
   * Answers a re-INVITE's offer with the leg's next SDP version, under the
   * server's SRTP policy: `source` is where the offer came from, `current`
   * what the leg uses now. Throws for an offer to refuse with 488.
   */
  readonly answerReoffer: (offerSdp: string, source: TransportAddress, current: NegotiatedAudio | undefined) => OfferAnswer;
  /**
   * A new offer of ours with the leg's next SDP version and this direction,
   * and how to read its answer (for `setHold`).
   */
  readonly reoffer: (direction: MediaDirection, current: NegotiatedAudio | undefined) => { sdp: string; readAnswer: (answerSdp: string) => NegotiatedAudio };
  readonly onError?: (err: unknown) => void;
  /**
   * Runs each event's listeners on behalf of the leg's call, so what they
   * start (a `dial`) stays on the call's media worker
   * (MediaWorkerPool.runInCall). Default: listeners run as they are.
   */
  readonly runInCall?: ((fn: () => void) => void) | undefined;
}

/** RFC 3515 §2.4.5: a NOTIFY body is a message/sipfrag status line. */
const SIPFRAG_REASONS: Readonly<Record<number, string>> = { 100: 'Trying', 200: 'OK', 486: 'Busy Here', 487: 'Request Terminated', 404: 'Not Found', 480: 'Temporarily Unavailable', 503: 'Service Unavailable' };

/** A party of a call on the embedded media server: one SIP dialog and one RTP session. */
export class EmbeddedCallLeg extends EventEmitter<CallLegEvents> implements CallLeg {
  readonly id: string;
  /** The leg's RTP session; for the embedded server's bridge, not for callers of the port. */
  readonly media: LegMedia;
  readonly #answerReoffer: EmbeddedCallLegOptions['answerReoffer'];
  readonly #reoffer: EmbeddedCallLegOptions['reoffer'];
  readonly #onError: (err: unknown) => void;
  readonly #runInCall: ((fn: () => void) => void) | undefined;
  #dialog: InviteSession | undefined;
  #ended = false;
  #held = false;
  #bargeIn = false;

  constructor(options: EmbeddedCallLegOptions) {
    super();
    this.id = options.id;
    this.media = options.media;
    this.#answerReoffer = options.answerReoffer;
    this.#reoffer = options.reoffer;
    this.#onError = options.onError ?? (() => undefined);
    this.#runInCall = options.runInCall;
    this.media.on('dtmf', (event) => this.#onDtmf(event));
    this.media.on('lost', () => void this.endOnMediaLoss());
  }

  /**
   * Settles once the leg's media is closed after it ended (its recording's
   * WAV header patched and sidecar written); undefined while the leg lives.
   */
  mediaClosed: Promise<void> | undefined;

  get ended(): boolean {
    return this.#ended;
  }

  /** Binds the SIP dialog once the leg is answered (or the outbound call was). */
  attachDialog(dialog: InviteSession): void {
    this.#dialog = dialog;
    dialog.on('info', (req) => {
      const digit = parseDtmfInfo(req.headers.get('Content-Type'), req.body);
      if (digit) this.media.reportDtmf(digit.key, 'info', digit.durationMs);
    });
    dialog.on('reinvite', (req, answer, reject, source) => {
      try {
        const { sdp, negotiated } = this.#answerReoffer(req.body.toString('latin1'), source, this.media.remote);
        this.media.setRemote(negotiated);
        answer(sdp);
        if (negotiated.onHold !== this.#held) {
          this.#held = negotiated.onHold;
          this.emit('hold', this.#held);
        }
      } catch (err) {
        // RFC 3261 §14.2: an offer we cannot accept gets 488, and the session stays as it was.
        reject(488);
        this.#onError(err);
      }
    });
    dialog.on('refer', (req) => {
      const referTo = req.headers.get('Refer-To') ?? '';
      let target: string;
      try {
        target = parseNameAddr(referTo).uri;
      } catch (err) {
        this.#onError(err);
        return;
      }
      this.emit('transferRequested', target, (status) => this.#notifyTransfer(dialog, status));
    });
    dialog.on('ended', (reason) => {
      this.end(reason === 'remote-bye' ? 'remote-hangup' : reason === 'local-bye' ? 'local-hangup' : 'failed');
    });
  }

  override on<K extends keyof CallLegEvents>(event: K, listener: Listener<CallLegEvents[K]>): this {
    return super.on(event, listener as never);
  }

  override off<K extends keyof CallLegEvents>(event: K, listener: Listener<CallLegEvents[K]>): this {
    return super.off(event, listener as never);
  }

  override emit<K extends keyof CallLegEvents>(event: K, ...args: K extends keyof CallLegEvents ? CallLegEvents[K] : never): boolean {
    const run = this.#runInCall;
    if (!run) return super.emit(event, ...args);
    let listened = false;
    run(() => {
      listened = super.emit(event, ...args);
    });
    return listened;
  }

  async play(items: readonly AudioItem[], options: PlayOptions = {}): Promise<PlaybackResult> {
    if (this.#ended) return 'hangup';
    this.#bargeIn = options.bargeIn ?? false;
    try {
      return await this.media.play(items, options);
    } finally {
      this.#bargeIn = false;
    }
  }

  stopPlayback(): void {
    this.media.stopPlayback();
  }

  /** The RTP masker replaces key presses alone; the caller's voice still passes. */
  readonly dtmfMaskingMethod = 'tones' as const;

  setDtmfMasking(on: boolean): void {
    this.media.setDtmfMasking(on);
  }

  setMuted(on: boolean): void {
    this.media.setMuted(on);
  }

  startRecording(options: RecordingOptions): Promise<void> {
    return this.media.startRecording(options);
  }

  pauseRecording(): Promise<void> {
    return this.media.pauseRecording();
  }

  resumeRecording(): Promise<void> {
    return this.media.resumeRecording();
  }

  stopRecording(): Promise<void> {
    return this.media.stopRecording();
  }

  async setHold(held: boolean): Promise<void> {
    const dialog = this.#dialog;
    if (!dialog || this.#ended) return;
    const offer = this.#reoffer(held ? 'sendonly' : 'sendrecv', this.media.remote);
    const answer = await dialog.reinvite(offer.sdp);
    this.media.setRemote(offer.readAnswer(answer));
  }

  async sendDtmf(key: DtmfKey, options: { readonly method?: 'rfc4733' | 'info'; readonly durationMs?: number } = {}): Promise<void> {
    const dialog = this.#dialog;
    if (!dialog || this.#ended) return;
    if (options.method !== 'info' && this.media.sendTelephoneEvent(key, options.durationMs)) return;
    const info = formatDtmfInfo(key, options.durationMs);
    await dialog.request('INFO', { body: info.body, contentType: info.contentType });
  }

  /** RFC 3515 §2.4.4: the outcome of the REFER as a final NOTIFY with a sipfrag body. */
  #notifyTransfer(dialog: InviteSession, status: number): void {
    const final = status >= 200;
    const body = Buffer.from(`SIP/2.0 ${status} ${SIPFRAG_REASONS[status] ?? 'Unknown'}\r\n`, 'latin1');
    dialog
      .request('NOTIFY', {
        headers: { Event: 'refer', 'Subscription-State': final ? 'terminated;reason=noresource' : 'active;expires=60' },
        body,
        contentType: 'message/sipfrag;version=2.0',
      })
      .catch((err: unknown) => this.#onError(err));
  }

  async transfer(target: string): Promise<void> {
    if (!this.#dialog) throw new Error('cannot transfer a leg that is not answered');
    await this.#dialog.refer(target);
  }

  async hangup(): Promise<void> {
    if (this.#ended) return;
    try {
      await this.#dialog?.bye();
    } catch (err) {
      this.#onError(err);
    }
    this.end('local-hangup');
  }

  /**
   * The leg's media engine is gone: the far end would hear nothing and be
   * heard by no one, so the call ends now (BYE) rather than by the far end's
   * media timeout, and the leg ends `failed`.
   */
  protected async endOnMediaLoss(): Promise<void> {
    if (this.#ended) return;
    // Ended first, so the BYE's own 'ended' does not read as an ordinary hang-up.
    this.end('failed');
    try {
      await this.#dialog?.bye();
    } catch (err) {
      this.#onError(err);
    }
  }

  /** Marks the leg ended once, frees its media and tells the listeners. */
  end(reason: HangupReason, status?: number): void {
    if (this.#ended) return;
    this.#ended = true;
    this.mediaClosed = Promise.resolve(this.media.close()).catch((err: unknown) => this.#onError(err));
    const event: LegEnded = status === undefined ? { reason } : { reason, status };
    this.emit('ended', event);
  }

  #onDtmf(event: DtmfEvent): void {
    if (this.#bargeIn) this.media.stopPlayback();
    this.emit('dtmf', event);
  }
}

/** A call arriving at the embedded media server: the leg plus its INVITE. */
export class EmbeddedInboundCall extends EmbeddedCallLeg implements InboundCall {
  readonly from: string;
  readonly calledUser: string;
  readonly headers: ReadonlyMap<string, string>;
  readonly sourceAddress: string;
  readonly #invite: IncomingInvite;
  readonly #answerSdp: string;
  readonly #negotiated: NegotiatedAudio;
  #answered = false;

  constructor(options: EmbeddedCallLegOptions & { invite: IncomingInvite; answerSdp: string; negotiated: NegotiatedAudio }) {
    super(options);
    this.#invite = options.invite;
    this.#answerSdp = options.answerSdp;
    this.from = options.invite.from;
    this.calledUser = options.invite.calledUser;
    this.sourceAddress = options.invite.source.address;
    const headers = new Map<string, string>();
    for (const [name, value] of options.invite.request.headers.entries()) {
      const key = name.toLowerCase();
      if (!headers.has(key)) headers.set(key, value);
    }
    this.headers = headers;
    // No remote for the RTP session yet: nothing is sent to the caller before our answer (see answer()).
    this.#negotiated = options.negotiated;
    options.invite.on('cancelled', () => this.end('cancelled', 487));
  }

  progress(status: 180 | 183): void {
    if (!this.#answered && !this.ended) this.#invite.progress(status);
  }

  async answer(): Promise<void> {
    if (this.ended) throw new Error('the caller has gone');
    if (this.#answered) return;
    this.#answered = true;
    try {
      // accept() sends the 200 before its first await. RFC 3264 §6: "Once the answerer has sent
      // the answer, ... it MAY send media immediately": the RTP starts with the answer, not with
      // the INVITE (a ringing caller, or whatever address an offer names, gets nothing before).
      const accepted = this.#invite.accept({ sdp: this.#answerSdp });
      this.media.setRemote(this.#negotiated);
      this.attachDialog(await accepted);
    } catch (err) {
      // No ACK for our 200 (RFC 3261 §13.3.1.4): the call never really started.
      this.end('failed');
      throw err;
    }
  }

  async reject(status: number, reason?: string): Promise<void> {
    if (this.#answered || this.ended) return;
    this.#invite.reject(status, reason);
    this.end('rejected', status);
  }

  /** Before the answer, the caller is refused (503: try elsewhere) instead. */
  protected override async endOnMediaLoss(): Promise<void> {
    if (!this.#answered && !this.ended) {
      this.#invite.reject(503, 'Service Unavailable');
      this.end('failed', 503);
      return;
    }
    await super.endOnMediaLoss();
  }

  override async hangup(): Promise<void> {
    if (!this.#answered && !this.ended) {
      await this.reject(480, 'Temporarily Unavailable');
      return;
    }
    await super.hangup();
  }
}
