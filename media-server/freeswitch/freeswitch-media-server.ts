import { EventEmitter } from 'node:events';
import Mrf from 'drachtio-fsmrf';
import Srf from 'drachtio-srf';
import type { Logger } from 'pino';
import { parse as parseSdp } from 'sdp-transform';
import { DialError } from '../media-server-errors.js';
import type { Bridge, CallLeg, DialOptions, Listener, MediaServer, MediaServerEvents } from '../media-server-port.js';
import { FreeswitchCallLeg, FreeswitchInboundCall, type Attached, type FreeswitchCallLegOptions } from './freeswitch-call-leg.js';
import { connectDrachtio, connectFreeswitch, type DrachtioAddress, type MrfConnector } from './startup-connections.js';
import type { SrfApi, SrfRequest, SrfResponse } from './srf-api.js';
import { newOpaqueId } from '../../domain/opaque-id.js';

/** G.711 only, µ-law first: what the prompts are recorded in and what the drachtio_mrf profile offers. */
export const CODECS: readonly string[] = ['PCMU', 'PCMA'];

export interface FreeswitchMediaServerOptions {
  /** drachtio-server's application port (DRACHTIO_HOST, DRACHTIO_PORT, DRACHTIO_SECRET). */
  readonly drachtio: DrachtioAddress;
  readonly freeswitch: {
    /** FreeSWITCH's event socket (FREESWITCH_HOST, FREESWITCH_PORT, FREESWITCH_SECRET). */
    readonly host: string;
    readonly port: number;
    readonly secret: string;
    /** Where we listen for FreeSWITCH's outbound `socket` connections (FREESWITCH_LISTEN_HOST/PORT). */
    readonly listenHost: string;
    readonly listenPort: number;
    /** The address FreeSWITCH connects back to, when not listenHost (FREESWITCH_ADVERTISED_HOST). */
    readonly advertisedHost?: string;
    /** The sofia profile for our INVITEs. Default drachtio_mrf. */
    readonly profile?: string;
  };
  /** The SIP port callers reach drachtio-server on (SIP_PORT), reported by `sipPort`. */
  readonly sipPort: number;
  /** SIP_ALLOW: whether a source address may call in; others get 403. Default: everyone drachtio-server lets through. */
  readonly allows?: (address: string) => boolean;
  /** How long a leg's read mute outlasts masking going off (FreeswitchCallLegOptions). Default 500 ms. */
  readonly unmaskGuardMs?: number;
  /** How long start() waits for each of drachtio-server and FreeSWITCH. Default 5000 ms. */
  readonly connectTimeoutMs?: number;
  readonly logger: Logger;
  /** The drachtio-srf instance (tests pass a fake). Default: a new Srf. */
  readonly srf?: SrfApi;
  /** Makes drachtio-fsmrf's Mrf on that srf (tests pass a fake). Default: `new Mrf(srf)`. */
  readonly mrf?: (srf: SrfApi) => MrfConnector;
}

/**
 * The production media server: signalling through drachtio-server
 * (drachtio-srf), media through FreeSWITCH (drachtio-fsmrf over its event
 * socket). Each party is a drachtio dialog plus a FreeSWITCH channel; the
 * leg (freeswitch-call-leg.ts) maps the port onto both. See
 * freeswitch-commands.ts for how masking works here, and the README's
 * production section for the deployment.
 */
export class FreeswitchMediaServer extends EventEmitter<MediaServerEvents> implements MediaServer {
  readonly kind = 'freeswitch' as const;
  readonly #options: FreeswitchMediaServerOptions;
  readonly #logger: Logger;
  readonly #srf: SrfApi;
  readonly #legs = new Set<FreeswitchCallLeg>();
  #ms: Mrf.MediaServer | undefined;
  #signalling = false;
  /** FreeSWITCH's inbound event socket is up (lost on 'end', back on the connection's 'esl::ready'). */
  #media = false;
  #accepting = true;
  #started = false;

  constructor(options: FreeswitchMediaServerOptions) {
    super();
    this.#options = options;
    this.#logger = options.logger;
    this.#srf = options.srf ?? (new Srf() as unknown as SrfApi);
  }

  /** drachtio-server and FreeSWITCH's event socket are both up. */
  get connected(): boolean {
    return this.#started && this.#signalling && this.#media && (this.#ms?.connected() ?? false);
  }

  get sipPort(): number {
    return this.#options.sipPort;
  }

  get activeLegs(): number {
    return this.#legs.size;
  }

  override on<K extends keyof MediaServerEvents>(event: K, listener: Listener<MediaServerEvents[K]>): this {
    return super.on(event, listener as never);
  }

  override off<K extends keyof MediaServerEvents>(event: K, listener: Listener<MediaServerEvents[K]>): this {
    return super.off(event, listener as never);
  }

  /**
   * Connects to drachtio-server, then to FreeSWITCH; rejects with
   * MediaServerConnectError (naming the component, address and settings)
   * if either is not there within connectTimeoutMs.
   */
  async start(): Promise<void> {
    const timeoutMs = this.#options.connectTimeoutMs ?? 5000;
    const { freeswitch } = this.#options;
    // Listening for good: an 'error' event with no listener would throw. After start-up both
    // libraries reconnect on their own; we only follow the state.
    this.#srf.on('error', (err) => {
      if (this.#started) this.#logger.warn({ err }, 'drachtio-server connection error');
    });
    this.#srf.on('close', () => this.#setSignalling(false));
    this.#srf.on('connect', (err) => this.#setSignalling(!err));
    const hostport = await connectDrachtio(this.#srf, this.#options.drachtio, timeoutMs);
    this.#signalling = true;
    const mrf = this.#options.mrf?.(this.#srf) ?? (new Mrf(this.#srf) as MrfConnector);
    try {
      this.#ms = await connectFreeswitch(
        mrf,
        {
          address: freeswitch.host,
          port: freeswitch.port,
          secret: freeswitch.secret,
          listenAddress: freeswitch.listenHost,
          listenPort: freeswitch.listenPort,
          ...(freeswitch.advertisedHost ? { advertisedAddress: freeswitch.advertisedHost } : {}),
          profile: freeswitch.profile ?? 'drachtio_mrf',
        },
        timeoutMs,
      );
    } catch (err) {
      this.#disconnectSignalling();
      throw err;
    }
    this.#media = true;
    this.#ms.on('error', (err) => this.#logger.warn({ err }, 'FreeSWITCH event socket error'));
    this.#ms.on('end', () => {
      this.#logger.error('lost the FreeSWITCH event socket; drachtio-modesl reconnects');
      this.#setMedia(false);
    });
    this.#ms.conn.on('esl::ready', () => this.#setMedia(true));
    this.#srf.invite((req, res) => this.#onInvite(req, res));
    this.#srf.options((req, res) => this.#onOptions(req, res));
    this.#started = true;
    this.#logger.info({ drachtio: hostport, freeswitch: this.#ms.address }, 'FreeSWITCH media server connected');
    this.emit('connected', true);
  }

  async stop(): Promise<void> {
    this.#accepting = false;
    await Promise.allSettled([...this.#legs].map((leg) => leg.hangup()));
    this.#ms?.disconnect();
    this.#disconnectSignalling();
    const wasStarted = this.#started;
    this.#started = false;
    if (wasStarted) this.emit('connected', false);
  }

  setAcceptingCalls(accepting: boolean): void {
    this.#accepting = accepting;
  }

  /**
   * FreeSWITCH makes the offer (an endpoint with no remote SDP, 3pcc), the
   * callee answers through drachtio-server, and its answer goes back to
   * FreeSWITCH as a re-INVITE (Endpoint#modify).
   */
  async dial(target: string, options: DialOptions = {}): Promise<CallLeg> {
    const ms = this.#mediaServer();
    const endpoint = await ms.createEndpoint();
    let invite: SrfRequest | undefined;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      invite?.cancel();
    }, options.timeoutMs ?? 30_000);
    const headers: Record<string, string> = { ...options.headers, ...(options.from ? { From: options.from } : {}) };
    let dialog;
    try {
      dialog = await this.#srf.createUAC(
        target,
        { localSdp: endpoint.local.sdp, headers },
        {
          cbRequest: (_err, req) => {
            invite = req;
            if (timedOut) req?.cancel();
          },
        },
      );
    } catch (err) {
      void endpoint.destroy().catch(() => undefined);
      const status = (err as { status?: number }).status;
      if (timedOut) throw new DialError('no-answer');
      throw new DialError(status ? 'rejected' : 'failed', status);
    } finally {
      clearTimeout(timer);
    }
    try {
      await endpoint.modify(dialog.remote.sdp);
    } catch (err) {
      this.#logger.warn({ err }, 'FreeSWITCH refused the callee answer');
      void dialog.destroy().catch(() => undefined);
      void endpoint.destroy().catch(() => undefined);
      throw new DialError('failed', 488);
    }
    const leg = new FreeswitchCallLeg(this.#legOptions());
    await leg.attach(endpoint, dialog);
    this.#track(leg);
    return leg;
  }

  /**
   * `uuid_bridge` the two channels. Every leg carries bridge_filter_dtmf
   * (set at answer), so neither side's RFC 2833 is regenerated on the other;
   * masking and mute act on each leg's read path (freeswitch-commands.ts).
   * While bridged, a leg's prompts are displaced rather than played, so the
   * peer keeps hearing the party through them.
   */
  bridge(a: CallLeg, b: CallLeg): Bridge {
    if (!(a instanceof FreeswitchCallLeg) || !(b instanceof FreeswitchCallLeg)) {
      throw new TypeError('the FreeSWITCH media server bridges only its own legs');
    }
    const [ea, eb] = [a.endpoint, b.endpoint];
    a.setBridged(true);
    b.setBridged(true);
    const bridged = ea.bridge(eb).catch((err: unknown) => {
      this.#logger.error({ err, a: a.id, b: b.id }, 'uuid_bridge failed');
    });
    let open = true;
    const unbridge = (): void => {
      if (!open) return;
      open = false;
      a.setBridged(false);
      b.setBridged(false);
      // A leg that hung up leaves the bridge by itself (park_after_bridge keeps the other channel).
      if (a.ended || b.ended) return;
      void bridged.then(() => ea.unbridge()).catch((err: unknown) => this.#logger.warn({ err }, 'unbridge failed'));
    };
    a.on('ended', unbridge);
    b.on('ended', unbridge);
    return { legs: [a, b], unbridge };
  }

  /**
   * A proxy in front (Kamailio's dispatcher) probes each node with OPTIONS:
   * 200 while we take calls, 503 while draining or while FreeSWITCH is out
   * of reach, so that new calls go elsewhere (RFC 3261 §11.2, §21.5.4).
   */
  #onOptions(req: SrfRequest, res: SrfResponse): void {
    if (this.#options.allows && !this.#options.allows(req.source_address)) {
      res.send(403, 'Forbidden');
      return;
    }
    res.send(this.#accepting && this.connected ? 200 : 503);
  }

  #onInvite(req: SrfRequest, res: SrfResponse): void {
    if (!this.#accepting) {
      res.send(503, 'Service Unavailable');
      return;
    }
    if (this.#options.allows && !this.#options.allows(req.source_address)) {
      res.send(403, 'Forbidden');
      return;
    }
    // RFC 3261 §13.3.1.3: an offer we cannot accept gets 488 (and no offer at all is not supported).
    if (!offersG711(req.body)) {
      res.send(488, 'Not Acceptable Here');
      return;
    }
    const call = new FreeswitchInboundCall({ ...this.#legOptions(), req, res, connect: (r, s) => this.#connectCaller(r, s) });
    this.#track(call);
    res.send(180);
    this.emit('call', call);
  }

  /**
   * drachtio-fsmrf's connectCaller in two steps, so that a caller who
   * cancels between them does not leave a FreeSWITCH channel behind: a
   * channel for the caller's offer, then our 200 with FreeSWITCH's answer.
   * Not before answer(): FreeSWITCH would send RTP to a caller still ringing.
   */
  async #connectCaller(req: SrfRequest, res: SrfResponse): Promise<Attached> {
    // An SRTP offer (RTP/SAVP with SDES a=crypto, FREESWITCH_RTP_SECURE_MEDIA): drachtio-fsmrf refuses it to
    // createEndpoint and takes it through connectCaller, which answers the caller in the same step.
    if (/^m=audio \S+ RTP\/SAVP/m.test(req.body)) {
      const { endpoint, dialog } = await this.#mediaServer().connectCaller(req, res, { codecs: [...CODECS] });
      return { endpoint, dialog: dialog as Attached['dialog'] };
    }
    const endpoint = await this.#mediaServer().createEndpoint({ remoteSdp: req.body, codecs: [...CODECS] });
    try {
      const dialog = await this.#srf.createUAS(req, res, { localSdp: endpoint.local.sdp });
      return { endpoint, dialog };
    } catch (err) {
      void endpoint.destroy().catch(() => undefined);
      throw err;
    }
  }

  #legOptions(): FreeswitchCallLegOptions {
    const guard = this.#options.unmaskGuardMs;
    return { id: newOpaqueId('leg'), logger: this.#logger, ...(guard === undefined ? {} : { unmaskGuardMs: guard }) };
  }

  #mediaServer(): Mrf.MediaServer {
    if (!this.#ms || !this.#started) throw new Error('the FreeSWITCH media server is not started');
    return this.#ms;
  }

  #setSignalling(up: boolean): void {
    if (up === this.#signalling) return;
    this.#signalling = up;
    if (this.#started) this.emit('connected', this.connected);
  }

  #setMedia(up: boolean): void {
    if (up === this.#media) return;
    this.#media = up;
    if (this.#started) this.emit('connected', this.connected);
  }

  #disconnectSignalling(): void {
    this.#signalling = false;
    try {
      this.#srf.disconnect();
    } catch {
      // not connected
    }
  }

  #track(leg: FreeswitchCallLeg): void {
    this.#legs.add(leg);
    leg.on('ended', () => this.#legs.delete(leg));
  }
}

/** Whether an SDP offer has an audio stream with G.711 (PCMU or PCMA, static or by rtpmap). */
export function offersG711(sdp: string): boolean {
  if (!sdp.trim()) return false;
  let media;
  try {
    media = parseSdp(sdp).media;
  } catch {
    return false;
  }
  return media.some(
    (m) =>
      m.type === 'audio' &&
      m.port !== 0 &&
      (m.rtp.some((r) => /^(PCMU|PCMA)$/i.test(r.codec)) || String(m.payloads ?? '').split(/\s+/).some((p) => p === '0' || p === '8')),
  );
}
