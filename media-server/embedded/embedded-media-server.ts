import { randomInt } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type {
  Bridge,
  BridgeOptions,
  CallLeg,
  DialOptions,
  DtmfEvent,
  Listener,
  MediaServer,
  MediaServerEvents,
} from '../media-server-port.js';
import { EmbeddedCallLeg, EmbeddedInboundCall, type LegMedia } from './call/embedded-call-leg.js';
import { MediaClock } from './rtp/media-clock.js';
import { RtpPortAllocator } from './rtp/rtp-port-allocator.js';
import { RtpSession, type RtpSessionStats } from './rtp/rtp-session.js';
import { MediaBridge } from './rtp/media-bridge.js';
import { raiseMediaClockThread } from './worker/realtime-priority.js';
import { MediaWorkerPool } from './worker/media-worker-pool.js';
import { WorkerRtpSession } from './worker/worker-rtp-session.js';
import {
  answerOffer,
  createOffer,
  NoCommonCodecError,
  offerCrypto,
  readAnswer,
  SdpError,
  SrtpRefusedError,
  type LocalMedia,
  type MediaDirection,
  type NegotiatedAudio,
  type OfferAnswer,
  type SrtpPolicy,
  type SrtpRefusal,
} from './sdp/sdp-negotiator.js';
import type { SdesCrypto } from './sdp/sdes-crypto.js';
import { SipStreamFramer } from './sip/message/index.js';
import { nextHopOf } from './sip/transaction/next-hop.js';
import { SipTransportError } from './sip/transaction/transaction-errors.js';
import {
  SipTransport,
  type DropReason,
  type SipTlsOptions,
  type SipTransportCounters,
  type SipTransportOptions,
  type TransportAddress,
} from './sip/transport/sip-transport.js';
import { SourceFilter } from './sip/transport/source-filter.js';
import { SipUserAgent, type IncomingInvite, type SipUserAgentOptions } from './sip/user-agent/sip-user-agent.js';
import { SipCancelledError } from './sip/user-agent/user-agent-errors.js';
import type { DigestCredentials } from './sip/user-agent/digest-authorization.js';
import { InboundDigestAuth, type InboundDigestAuthOptions } from './sip/user-agent/inbound-digest-auth.js';
import { parseSipUri } from './sip/message/index.js';
import { newOpaqueId } from '../../domain/opaque-id.js';
import { DialError } from '../media-server-errors.js';

export interface EmbeddedMediaServerOptions {
  /** SIP listens here (UDP and TCP). Default 127.0.0.1. */
  readonly sipHost: string;
  /** Default 5060; 0 picks a free port (tests). */
  readonly sipPort: number;
  /**
   * SIP over TLS (SIP_TLS_PORT, SIP_TLS_CERT, SIP_TLS_KEY, SIP_TLS_CA): a
   * listener on its own port, and TLS for calls out to `sips:` or
   * `transport=tls` URIs, certificates verified. Default: no TLS listener;
   * calls out over TLS trust Node's bundled roots.
   */
  readonly sipTls?: SipTlsOptions | undefined;
  /**
   * SIP_OUTBOUND_AUTH: Digest credentials for calls out, by the target's
   * `host:port` or `host` (the first that matches); a 401/407 from a target
   * with none ends the call. Default: none.
   */
  readonly outboundAuth?: Readonly<Record<string, DigestCredentials>> | undefined;
  /** SIP_ALLOW: CIDRs whose requests are served; others get 403. Default loopback only. */
  readonly allow?: readonly string[];
  /**
   * SIP_AUTH_USERS and SIP_AUTH_REALM: INVITEs from outside `allow` are
   * challenged with Digest (SHA-256, MD5) instead of refused, their TCP and
   * TLS connections accepted (within the per-source cap). Default: none.
   */
  readonly inboundAuth?: Omit<InboundDigestAuthOptions, 'now'> | undefined;
  /** Address RTP binds to and SDP advertises. Default: sipHost. */
  readonly rtpHost?: string;
  /** Even ports in this inclusive range. Defaults 20000–29999. */
  readonly rtpPortMin?: number;
  readonly rtpPortMax?: number;
  /**
   * SRTP: SRTP with SDES keys (RFC 3711, RFC 4568), only where the SIP runs
   * over TLS. 'optional' answers RTP/SAVP offers over TLS with SRTP and the
   * rest with RTP, and offers RTP/SAVP to TLS targets; 'mandatory' refuses
   * (488) every offer it cannot answer with SRTP and fails calls out to
   * targets that are not reached over TLS. Default 'off': RTP only, an
   * RTP/SAVP offer gets 488.
   */
  readonly srtp?: SrtpPolicy;
  /** What a masked key press becomes towards other legs. Default 'tone'. */
  readonly maskMode?: 'silence' | 'tone';
  /**
   * MEDIA_WORKERS: worker threads that run the calls' RTP (sockets, media
   * clock, DTMF detection and masking, playback, recording), each owning
   * whole calls, the RTP port range split between them; SIP stays on this
   * thread. Default 0: the RTP runs on this thread.
   */
  readonly mediaWorkers?: number;
  /** MEDIA_REALTIME_PRIORITY: SCHED_FIFO priority (1–99) of the threads that run a media clock (each worker, else this one). Default 0: the normal policy. */
  readonly mediaRealtimePriority?: number;
  /** Each GC pause of a media worker, in seconds (the main thread's are prom-client's). Default: none. */
  readonly onMediaWorkerGcPause?: (seconds: number) => void;
  /**
   * Caps on what peers can make the SIP stack hold (SIP_UDP_MAX_MESSAGE_BYTES,
   * SIP_TCP_MAX_CONNECTIONS, SIP_TCP_MAX_CONNECTIONS_PER_SOURCE, SIP_TCP_IDLE_TIMEOUT_MS,
   * and the server transactions alive at once). Defaults: 65 507 bytes, 1024,
   * 256, 120 s (`SipTransportOptions`), 20 000 (`SipUserAgentOptions`).
   */
  readonly sipLimits?: SipLimits;
  readonly logger: Logger;
}

export type SipLimits = Pick<
  SipTransportOptions,
  'maxUdpMessageBytes' | 'maxTcpConnections' | 'maxTcpConnectionsPerSource' | 'tcpIdleTimeoutMs'
> &
  Pick<SipUserAgentOptions, 'maxServerTransactions'>;

/** What the SIP stack took in and refused since start, for the metrics (all monotonic). */
export interface SipTotals {
  /** Messages delivered by each transport (framed, within the size cap, allowed or not). */
  readonly messages: { readonly udp: number; readonly tcp: number };
  /**
   * Messages refused: the parser's (answered 400 or dropped), UDP datagrams over
   * the size cap, requests from outside SIP_ALLOW (answered 403 or dropped), and
   * new requests answered 503 at the server-transaction cap.
   */
  readonly refused: { readonly malformed: number; readonly oversized: number; readonly forbidden: number; readonly overloaded: number };
  /** Requests that reused a live transaction's Via branch with a new CSeq, served as new requests (SIPp loops). */
  readonly branchReused: number;
  /** TCP connections closed by us, by reason. */
  readonly tcpClosed: Readonly<Record<Exclude<DropReason, 'oversized'>, number>>;
  /** TCP connections open now. */
  readonly tcpOpen: number;
  /** INVITEs from outside SIP_ALLOW (SIP_AUTH_USERS): challenged, authenticated, credentials refused, locked out. */
  readonly digest: { readonly challenged: number; readonly authenticated: number; readonly failed: number; readonly lockedOut: number };
}

/** RTP packets of every session since the server was made, open and closed (for the metrics). */
export interface RtpTotals {
  readonly packetsIn: number;
  readonly packetsOut: number;
  /** Reordered, duplicate, or too late for the jitter buffer. */
  readonly late: number;
  /** Sequence gaps (RFC 3550 §6.4.1 cumulative lost). */
  readonly lost: number;
  /** SRTP packets whose tag did not verify, and replayed or too old (RFC 3711 §3.3). */
  readonly srtp: { readonly authenticationFailures: number; readonly replayed: number };
}

/**
 * The default media server: SIP (UDP/TCP) and RTP (G.711, RFC 4733, in-band
 * DTMF, masking, recording) in this process. See ARCHITECTURE.md "Ports and
 * adapters".
 */
export class EmbeddedMediaServer extends EventEmitter<MediaServerEvents> implements MediaServer {
  readonly kind = 'embedded' as const;
  readonly #options: EmbeddedMediaServerOptions;
  readonly #logger: Logger;
  readonly #transport: SipTransport;
  readonly #ua: SipUserAgent;
  readonly #ports: RtpPortAllocator;
  readonly #clock: MediaClock;
  readonly #legs = new Set<EmbeddedCallLeg>();
  /** Media of ended legs still closing: stop() waits for them, so no recording is left unfinished. */
  readonly #closingMedia = new Set<Promise<void>>();
  /** Sessions not yet seen closed, and the totals of those that were: nothing is counted per packet here. */
  readonly #rtpSessions = new Set<RtpSession>();
  readonly #closedRtp: MutableRtpTotals = { packetsIn: 0, packetsOut: 0, late: 0, lost: 0, srtp: { authenticationFailures: 0, replayed: 0 } };
  /** With MEDIA_WORKERS: the worker threads that hold every session. */
  #workers: MediaWorkerPool | undefined;
  #started = false;

  constructor(options: EmbeddedMediaServerOptions) {
    super();
    this.#options = options;
    this.#logger = options.logger;
    const allow = new SourceFilter(options.allow);
    const inboundAuth = options.inboundAuth && new InboundDigestAuth(options.inboundAuth);
    this.#transport = new SipTransport({
      host: options.sipHost,
      port: options.sipPort,
      createFramer: (callbacks) => new SipStreamFramer(callbacks),
      // With SIP_AUTH_USERS an outsider may connect to be challenged; the per-source cap still holds.
      acceptTcpFrom: (address) => inboundAuth !== undefined || allow.allows(address),
      maxUdpMessageBytes: options.sipLimits?.maxUdpMessageBytes,
      maxTcpConnections: options.sipLimits?.maxTcpConnections,
      maxTcpConnectionsPerSource: options.sipLimits?.maxTcpConnectionsPerSource,
      tcpIdleTimeoutMs: options.sipLimits?.tcpIdleTimeoutMs,
      tls: options.sipTls,
    });
    this.#ua = new SipUserAgent({
      transport: this.#transport,
      allow,
      inboundAuth,
      contactHost: options.sipHost,
      contactPort: () => this.#transport.port,
      // Without a listener, calls out over TLS name the SIP port: the peer answers on our connection.
      contactTlsPort: () => this.#transport.tlsPort || this.#transport.port,
      logger: options.logger,
      maxServerTransactions: options.sipLimits?.maxServerTransactions,
    });
    this.#ports = new RtpPortAllocator({
      host: options.rtpHost ?? options.sipHost,
      min: options.rtpPortMin ?? 20000,
      max: options.rtpPortMax ?? 29999,
    });
    this.#clock = new MediaClock({ onHandlerError: (err) => this.#logger.error({ err }, 'media tick failed') });
    this.#ua.on('invite', (invite) => {
      this.#onInvite(invite).catch((err: unknown) => {
        this.#logger.error({ err }, 'inbound call setup failed');
        invite.reject(500);
      });
    });
  }

  get connected(): boolean {
    return this.#started;
  }

  /** The SIP port actually bound (useful with port 0). */
  get sipPort(): number {
    return this.#transport.port;
  }

  /** The SIP over TLS port actually bound; 0 without TLS. */
  get sipTlsPort(): number {
    return this.#transport.tlsPort;
  }

  get activeLegs(): number {
    return this.#legs.size;
  }

  /** This thread's media clock (idle with MEDIA_WORKERS: each worker has its own). */
  get clock(): MediaClock {
    return this.#clock;
  }

  /** The media workers (MEDIA_WORKERS), once started; undefined when the RTP runs on this thread. */
  get mediaWorkers(): MediaWorkerPool | undefined {
    return this.#workers;
  }

  get sipCounters(): SipUserAgent['counters'] {
    return this.#ua.counters;
  }

  /** What the SIP transport carried and refused below the message layer (caps, framing, SIP_ALLOW on TCP). */
  get sipTransportCounters(): Readonly<SipTransportCounters> {
    return this.#transport.counters;
  }

  /** TCP connections open now, both directions. */
  get sipTcpConnections(): number {
    return this.#transport.tcpConnections;
  }

  /** The SIP counters of the user agent and the transport, in one shape for the metrics. */
  sipTotals(): SipTotals {
    const ua = this.#ua.counters;
    const transport = this.#transport.counters;
    const { oversized, ...tcpClosed } = transport.dropped;
    return {
      messages: { udp: transport.udpMessages, tcp: transport.tcpMessages },
      refused: { malformed: ua.malformed, oversized, forbidden: ua.forbidden, overloaded: ua.overloaded },
      branchReused: ua.branchReused,
      digest: { challenged: ua.challenged, authenticated: ua.authenticated, failed: ua.authFailures, lockedOut: ua.lockedOut },
      tcpClosed,
      tcpOpen: this.#transport.tcpConnections,
    };
  }

  /** Reads each open session's own counters: call it per scrape, not per packet. */
  rtpTotals(): RtpTotals {
    this.#retireClosedSessions();
    const totals: MutableRtpTotals = { ...this.#closedRtp, srtp: { ...this.#closedRtp.srtp } };
    for (const session of this.#rtpSessions) addRtp(totals, session.stats());
    if (this.#workers) addRtp(totals, this.#workers.rtpTotals());
    return totals;
  }

  override on<K extends keyof MediaServerEvents>(event: K, listener: Listener<MediaServerEvents[K]>): this {
    return super.on(event, listener as never);
  }

  override off<K extends keyof MediaServerEvents>(event: K, listener: Listener<MediaServerEvents[K]>): this {
    return super.off(event, listener as never);
  }

  async start(): Promise<void> {
    const workers = this.#options.mediaWorkers ?? 0;
    if (workers > 0 && !this.#workers) {
      this.#workers = await MediaWorkerPool.start({
        workers,
        rtpHost: this.#options.rtpHost ?? this.#options.sipHost,
        rtpPortMin: this.#options.rtpPortMin ?? 20000,
        rtpPortMax: this.#options.rtpPortMax ?? 29999,
        maskMode: this.#options.maskMode ?? 'tone',
        realtimePriority: this.#options.mediaRealtimePriority ?? 0,
        logger: this.#logger,
        ...(this.#options.onMediaWorkerGcPause ? { onGcPause: this.#options.onMediaWorkerGcPause } : {}),
      });
    } else if (workers === 0) {
      // The media clock runs on this thread: the whole event loop (SIP, the flow, the store too) takes the priority.
      raiseMediaClockThread(this.#options.mediaRealtimePriority ?? 0, 'the main thread (and its media clock)', this.#logger);
    }
    await this.#transport.start();
    await this.#ua.start();
    this.#started = true;
    this.emit('connected', true);
  }

  async stop(): Promise<void> {
    this.#ua.setAcceptingCalls(false);
    const legs = [...this.#legs];
    await Promise.allSettled(legs.map((leg) => leg.hangup()));
    // Every recording closed (its WAV header written and sidecar stopped) before the process or a media
    // worker stops: the legs just hung up, and those that ended before whose media is still closing.
    await Promise.allSettled([...this.#closingMedia, ...legs.map((leg) => leg.media.close())]);
    await this.#ua.stop();
    await this.#transport.stop();
    this.#clock.stop();
    await this.#workers?.stop();
    this.#workers = undefined;
    this.#started = false;
    this.emit('connected', false);
  }

  setAcceptingCalls(accepting: boolean): void {
    this.#ua.setAcceptingCalls(accepting);
  }

  async dial(target: string, options: DialOptions = {}): Promise<CallLeg> {
    const crypto = this.#offerCryptoFor(target);
    const { media, local, nextLocal } = await this.#openMedia();
    const outgoing = this.#ua.invite(target, {
      sdp: createOffer(local, 'sendrecv', crypto),
      ...(options.from ? { from: options.from } : {}),
      ...(options.headers ? { headers: { ...options.headers } } : {}),
      timeoutMs: options.timeoutMs ?? 30_000,
      credentials: this.#credentialsFor(target),
    });
    const { onProgress, signal } = options;
    if (onProgress) outgoing.on('provisional', (status) => status > 100 && onProgress(status));
    const cancel = (): void => outgoing.cancel();
    if (signal?.aborted) cancel();
    signal?.addEventListener('abort', cancel, { once: true });
    let dialog;
    try {
      dialog = await outgoing.dialog;
    } catch (err) {
      await media.close();
      if (err instanceof SipCancelledError) throw new DialError('cancelled');
      if (err instanceof SipTransportError) {
        // A refused connection or a certificate that did not verify: say which, once, here.
        this.#logger.warn({ target, cause: (err.cause as Error | undefined)?.message ?? err.message }, 'outgoing call could not reach its target');
        throw new DialError('failed');
      }
      const status = (err as { status?: number }).status;
      if (status === 401 || status === 407) {
        // The credentials themselves never reach a log line.
        this.#logger.warn({ target, status, configured: this.#credentialsFor(target) !== undefined }, 'outgoing call: the target refused our credentials (SIP_OUTBOUND_AUTH)');
      }
      throw new DialError(status ? 'rejected' : 'no-answer', status);
    } finally {
      signal?.removeEventListener('abort', cancel);
    }
    const leg = new EmbeddedCallLeg({
      id: newOpaqueId('leg'),
      media,
      runInCall: this.#runInCall(media),
      answerReoffer: (offer, source, current) => this.#answer(offer, nextLocal(), source, current),
      reoffer: (direction, current) => reoffer(nextLocal(), direction, current),
      onError: (e) => this.#legError(e),
    });
    try {
      media.setRemote(readAnswer(dialog.remoteSdp, crypto));
    } catch (err) {
      await dialog.bye().catch(() => undefined);
      await media.close();
      if (err instanceof SrtpRefusedError) this.#logger.warn({ target, reason: err.reason }, 'outgoing call: the answer to our RTP/SAVP offer has none of our keys; hung up');
      throw new DialError('failed', err instanceof NoCommonCodecError || err instanceof SrtpRefusedError ? 488 : undefined);
    }
    leg.attachDialog(dialog);
    this.#track(leg);
    if (options.onAnswer && outgoing.answer) {
      options.onAnswer(new Map(outgoing.answer.headers.entries().map(([name, value]) => [name.toLowerCase(), value])));
    }
    return leg;
  }

  bridge(a: CallLeg, b: CallLeg, options: BridgeOptions = {}): Bridge {
    if (!(a instanceof EmbeddedCallLeg) || !(b instanceof EmbeddedCallLeg)) {
      throw new TypeError('the embedded media server bridges only its own legs');
    }
    const bridge = bridgeMedia(a.media, b.media, this.#workers);
    const relays = options.relayDtmf ? [relayKeys(a, b, options.holdKey, (e) => this.#legError(e)), relayKeys(b, a, options.holdKey, (e) => this.#legError(e))] : [];
    let open = true;
    const unbridge = (): void => {
      if (!open) return;
      open = false;
      for (const stop of relays) stop();
      bridge.unbridge();
    };
    a.on('ended', unbridge);
    b.on('ended', unbridge);
    return { legs: [a, b], unbridge };
  }

  async #onInvite(invite: IncomingInvite): Promise<void> {
    const { media, local, nextLocal } = await this.#openMedia();
    let answer;
    try {
      answer = this.#answer(invite.sdp, local, invite.source, undefined);
    } catch (err) {
      await media.close();
      if (err instanceof NoCommonCodecError || err instanceof SdpError || err instanceof SrtpRefusedError) {
        if (err instanceof SrtpRefusedError) this.#logSrtpRefusal(err.reason, invite.source, true);
        // RFC 3261 §13.3.1.3: an offer we cannot accept gets 488.
        invite.reject(488);
        return;
      }
      throw err;
    }
    const call = new EmbeddedInboundCall({
      id: newOpaqueId('leg'),
      media,
      runInCall: this.#runInCall(media),
      answerReoffer: (offer, source, current) => this.#answer(offer, nextLocal(), source, current),
      reoffer: (direction, current) => reoffer(nextLocal(), direction, current),
      invite,
      answerSdp: answer.sdp,
      negotiated: answer.negotiated,
      onError: (e) => this.#legError(e),
    });
    this.#track(call);
    invite.progress(180);
    // With media workers, whatever the call's listeners do (dialling the agent among it) belongs to this call's worker.
    const runInCall = this.#runInCall(media);
    if (runInCall) runInCall(() => this.emit('call', call));
    else this.emit('call', call);
  }

  /** Runs work on behalf of the call `media` belongs to (MediaWorkerPool.runInCall); undefined on this thread's RTP. */
  #runInCall(media: LegMedia): ((fn: () => void) => void) | undefined {
    const workers = this.#workers;
    if (!workers || !(media instanceof WorkerRtpSession)) return undefined;
    return (fn) => workers.runInCall(media, fn);
  }

  /** Answers an offer under SRTP policy; one answered plain though it asked for SRTP is logged. */
  #answer(offerSdp: string, local: LocalMedia, source: TransportAddress, current: NegotiatedAudio | undefined): OfferAnswer {
    const answer = answerOffer(offerSdp, local, { policy: this.#options.srtp ?? 'off', overTls: source.protocol === 'tls', previous: current?.srtp });
    if (answer.srtpDeclined) this.#logSrtpRefusal(answer.srtpDeclined, source, false);
    return answer;
  }

  /** The reason and where the offer came from; never the SDP, whose a=crypto lines hold keys. */
  #logSrtpRefusal(reason: SrtpRefusal, source: TransportAddress, refused: boolean): void {
    const from = `${source.protocol}:${source.address}:${source.port}`;
    const message =
      reason === 'insecure-transport'
        ? 'SRTP: a=crypto received over a transport other than TLS is not used (RFC 4568 §8.3)'
        : `SRTP: the offer does not meet SRTP=${this.#options.srtp ?? 'off'}`;
    this.#logger.warn({ from, reason, answer: refused ? 488 : 'plain RTP' }, message);
  }

  /**
   * Keys to offer a target: RTP/SAVP only towards one reached over TLS (RFC
   * 4568 §8.3). Under SRTP=mandatory, a target over UDP or TCP fails the
   * call before anything is sent.
   */
  #offerCryptoFor(target: string): SdesCrypto[] {
    const policy = this.#options.srtp ?? 'off';
    if (policy === 'off') return [];
    let protocol;
    try {
      protocol = nextHopOf(target).protocol;
    } catch {
      // A target that does not parse fails in the user agent, with its own error.
      return [];
    }
    if (protocol === 'tls') return offerCrypto();
    if (policy === 'mandatory') {
      this.#logger.warn({ target, protocol }, 'outgoing call: SRTP=mandatory, but the target is not reached over TLS (sips: or transport=tls); not called');
      throw new DialError('failed');
    }
    return [];
  }

  async #openMedia(): Promise<{ media: LegMedia; local: LocalMedia; nextLocal: () => LocalMedia }> {
    let media: LegMedia;
    if (this.#workers) {
      media = await this.#workers.open();
    } else {
      const session = await RtpSession.open({
        allocator: this.#ports,
        clock: this.#clock,
        maskMode: this.#options.maskMode ?? 'tone',
        logger: this.#logger,
      });
      this.#retireClosedSessions();
      this.#rtpSessions.add(session);
      media = session;
    }
    const address = this.#options.rtpHost ?? this.#options.sipHost;
    const sessionId = randomInt(1, 2 ** 31);
    let version = 1;
    const local = { address, port: media.localPort, sessionId, sessionVersion: version };
    return { media, local, nextLocal: () => ({ ...local, sessionVersion: ++version }) };
  }

  /** Folds the sessions closed since the last look into the totals (a closed session's counters no longer move). */
  #retireClosedSessions(): void {
    for (const session of this.#rtpSessions) {
      if (!session.closed) continue;
      addRtp(this.#closedRtp, session.stats());
      this.#rtpSessions.delete(session);
    }
  }

  #track(leg: EmbeddedCallLeg): void {
    this.#legs.add(leg);
    leg.on('ended', () => {
      this.#legs.delete(leg);
      const closing = leg.mediaClosed;
      if (closing) {
        this.#closingMedia.add(closing);
        void closing.finally(() => this.#closingMedia.delete(closing));
      }
      // The leg closed its media before saying so.
      this.#retireClosedSessions();
    });
  }

  #credentialsFor(target: string): DigestCredentials | undefined {
    const all = this.#options.outboundAuth;
    if (!all) return undefined;
    try {
      const uri = parseSipUri(target);
      return (uri.port === undefined ? undefined : all[`${uri.host}:${uri.port}`]) ?? all[uri.host];
    } catch {
      // A target that does not parse fails in the user agent, with its own error.
      return undefined;
    }
  }

  #legError(err: unknown): void {
    this.#logger.warn({ err }, 'call leg error');
  }
}

/** Our offer to change a leg's direction, with the keys it uses now (RFC 4568 §7.1.4: kept on a re-offer). */
function reoffer(local: LocalMedia, direction: MediaDirection, current: NegotiatedAudio | undefined): { sdp: string; readAnswer: (answerSdp: string) => NegotiatedAudio } {
  const crypto = current?.srtp ? [current.srtp.local] : [];
  return { sdp: createOffer(local, direction, crypto), readAnswer: (answerSdp) => readAnswer(answerSdp, crypto) };
}

/**
 * Keys `from`'s party presses while its masking is off, sent on to `to`'s:
 * RFC 4733 and INFO by the same method (in-band tones are in the audio
 * already). The masking is read when the press is reported, so a key of
 * the secure window never passes. Returns the function that stops it.
 */
function relayKeys(from: EmbeddedCallLeg, to: EmbeddedCallLeg, hold: BridgeOptions['holdKey'], onError: (err: unknown) => void): () => void {
  const listener = (event: DtmfEvent): void => {
    if (event.method === 'inband' || from.media.dtmfMasking || to.ended) return;
    if (hold?.(from, event.key)) return;
    to.sendDtmf(event.key, { method: event.method, ...(event.durationMs !== undefined ? { durationMs: event.durationMs } : {}) }).catch(onError);
  };
  from.on('dtmf', listener);
  return () => from.off('dtmf', listener);
}

/** Every leg of this server was opened by #openMedia: on this thread (RtpSession) or on a media worker. */
function bridgeMedia(a: LegMedia, b: LegMedia, workers: MediaWorkerPool | undefined): { unbridge(): void } {
  if (a instanceof WorkerRtpSession && b instanceof WorkerRtpSession && workers) return workers.bridge(a, b);
  return new MediaBridge(a as RtpSession, b as RtpSession);
}

interface MutableRtpTotals {
  packetsIn: number;
  packetsOut: number;
  late: number;
  lost: number;
  srtp: { authenticationFailures: number; replayed: number };
}

function addRtp(totals: MutableRtpTotals, stats: Pick<RtpSessionStats, 'packetsIn' | 'packetsOut' | 'late' | 'lost' | 'srtpAuthenticationFailures' | 'srtpReplayed'>): void {
  totals.packetsIn += stats.packetsIn;
  totals.packetsOut += stats.packetsOut;
  totals.late += stats.late;
  totals.lost += stats.lost;
  totals.srtp.authenticationFailures += stats.srtpAuthenticationFailures;
  totals.srtp.replayed += stats.srtpReplayed;
}
