import type { DtmfKey } from '../domain/dtmf-key.js';
/**
 * The media server port: everything the payment IVR needs from telephony, at
 * the level of FreeSWITCH's own verbs (answer, playback, DTMF events, bridge,
 * record with mask/unmask, transfer, hangup) so that the embedded SIP/RTP
 * engine and a FreeSWITCH + drachtio adapter implement the same interface.
 * Nothing SIP- or RTP-specific appears here.
 */

/** How a key press reached us. */
export type DtmfMethod = 'rfc4733' | 'info' | 'inband';


export interface DtmfEvent {
  readonly key: DtmfKey;
  readonly method: DtmfMethod;
  /** Milliseconds since the Unix epoch when the key press was first seen. */
  readonly at: number;
  /** Length of the key press when known (RFC 4733 end packet, INFO Duration). */
  readonly durationMs?: number;
}

/** Why a leg ended. */
export type HangupReason =
  /** The far end sent BYE (or its FreeSWITCH equivalent). */
  | 'remote-hangup'
  /** We hung up. */
  | 'local-hangup'
  /** The caller gave up before answer (CANCEL). */
  | 'cancelled'
  /** An outbound leg was refused (4xx–6xx) or not answered in time. */
  | 'rejected'
  | 'no-answer'
  /** Signalling or media failed (no ACK, transport error, media timeout). */
  | 'failed'
  /** The media server is shutting down. */
  | 'shutdown';

export interface LegEnded {
  readonly reason: HangupReason;
  /** The SIP status that ended it, when there was one. */
  readonly status?: number;
}

/** One thing to play: an 8 kHz mono WAV file, or silence. */
export type AudioItem = { readonly file: string } | { readonly silenceMs: number };

export type PlaybackResult = 'completed' | 'stopped' | 'hangup';

export interface PlayOptions {
  /** A key press stops the playback (the key is still reported). Default false. */
  readonly bargeIn?: boolean;
}

export interface RecordingOptions {
  /** Absolute path of the WAV file to write. */
  readonly path: string;
}

export interface CallLegEvents {
  dtmf: [event: DtmfEvent];
  /** The far end put the call on hold (true) or took it off hold (false). */
  hold: [held: boolean];
  /**
   * The far end asked us to call `target` instead of it (a blind transfer,
   * SIP REFER, already accepted); `report` tells it how that went (the SIP
   * status of the new call: 200, 486...). The leg stays up until it hangs up.
   */
  transferRequested: [target: string, report: (status: number) => void];
  ended: [event: LegEnded];
}

export type Listener<A extends unknown[]> = (...args: A) => void;

/** One party of a call, as the media server sees it. */
export interface CallLeg {
  /** Unique within the media server (not the SIP Call-ID). */
  readonly id: string;
  readonly ended: boolean;

  on<K extends keyof CallLegEvents>(event: K, listener: Listener<CallLegEvents[K]>): this;
  off<K extends keyof CallLegEvents>(event: K, listener: Listener<CallLegEvents[K]>): this;

  /** Plays the items in order to this leg; settles when done, stopped, or the leg ended. */
  play(items: readonly AudioItem[], options?: PlayOptions): Promise<PlaybackResult>;
  stopPlayback(): void;

  /**
   * While on, key presses from this leg never reach any other leg: RFC 4733
   * events and INFO digits are not forwarded, in-band tones are replaced
   * (`dtmfMaskingMethod` says how). They are still detected and reported.
   */
  setDtmfMasking(on: boolean): void;
  /**
   * How masking keeps in-band tones from the others: `tones` replaces the
   * key presses alone with silence or a flat tone (the voice still passes),
   * `mute` silences everything this leg says while masking is on.
   */
  readonly dtmfMaskingMethod: 'tones' | 'mute';
  /**
   * While muted, nothing this leg says reaches any other leg (for capture with
   * `AGENT_AUDIO_DURING_CAPTURE=muted`).
   */
  setMuted(on: boolean): void;

  /** Starts recording this leg's call (both directions) to a stereo WAV. */
  startRecording(options: RecordingOptions): Promise<void>;
  /** Silence is written while paused, so the recording keeps its timeline. */
  pauseRecording(): Promise<void>;
  resumeRecording(): Promise<void>;
  stopRecording(): Promise<void>;

  /**
   * Puts this leg's party on hold (SIP re-INVITE, a=sendonly: it hears what
   * we send, we ignore what it says) or takes it off hold (sendrecv), for
   * relaying another leg's hold. Embedded media server only.
   */
  setHold?(held: boolean): Promise<void>;
  /**
   * Sends a key press to this leg's party: an RFC 4733 event when its SDP
   * declared telephone-event, else SIP INFO (`application/dtmf-relay`);
   * `method: 'info'` always sends INFO. For relaying another leg's keys
   * (in-line mode, outside the secure window). Embedded media server only.
   */
  sendDtmf?(key: DtmfKey, options?: { readonly method?: 'rfc4733' | 'info'; readonly durationMs?: number }): Promise<void>;

  /** Blind transfer (SIP REFER). Resolves when the far end accepted it. */
  transfer(target: string): Promise<void>;
  /** Ends the leg (BYE, or CANCEL/reject if not yet answered). Safe to call twice. */
  hangup(): Promise<void>;
}

/** A call arriving at the media server, not yet answered. */
export interface InboundCall extends CallLeg {
  /** The caller's URI (From). */
  readonly from: string;
  /** The user part of the Request-URI (the number dialled). */
  readonly calledUser: string;
  /** Request headers, names in lower case (for X-Payment-Session and the like). */
  readonly headers: ReadonlyMap<string, string>;
  /** The address the call came from (the carrier's, for in-line mode's INLINE_CARRIERS). */
  readonly sourceAddress: string;

  /** Tells the caller the call is ringing (180) or progressing (183), before the answer. */
  progress?(status: 180 | 183): void;
  answer(): Promise<void>;
  /** Refuses the call with a final status (403, 404, 486, 488, 503...). */
  reject(status: number, reason?: string): Promise<void>;
}

export interface DialOptions {
  /** Our identity towards the callee (From). */
  readonly from?: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** Give up (CANCEL) after this long without an answer. Default 30 s. */
  readonly timeoutMs?: number;
  /** Each provisional response above 100 (180, 183) before the answer. */
  readonly onProgress?: (status: number) => void;
  /** Aborting it before the answer cancels the call (CANCEL); `dial` rejects with DialError 'cancelled'. */
  readonly signal?: AbortSignal;
  /**
   * The headers of the 2xx that answered, names in lower case (in-line
   * mode reads the PBX's agent header from them). Embedded media server only.
   */
  readonly onAnswer?: (headers: ReadonlyMap<string, string>) => void;
}

export interface BridgeOptions {
  /**
   * Keys pressed on either leg while its DTMF masking is off are sent on to
   * the other leg (`sendDtmf`: RFC 4733 regenerated, INFO as INFO; in-band
   * tones pass in the audio anyway). For in-line mode. Default false: no key
   * ever passes by signalling or RFC 4733 (agent-assisted calls).
   */
  readonly relayDtmf?: boolean;
  /**
   * With `relayDtmf`: a key for which this answers true is not relayed (the
   * caller of `bridge` takes it: in-line mode's start code on the PBX leg).
   */
  readonly holdKey?: (from: CallLeg, key: DtmfKey) => boolean;
}

/** Joins two legs' media: each hears the other (subject to masking and mute). */
export interface Bridge {
  readonly legs: readonly [CallLeg, CallLeg];
  /** Stops the media exchange; the legs stay up. Safe to call twice. */
  unbridge(): void;
}

export interface MediaServerEvents {
  call: [call: InboundCall];
  /** Lost or regained the connection to its signalling/media engine. */
  connected: [connected: boolean];
}

/** The media server. Adapters: embedded (TypeScript SIP/RTP) and freeswitch. */
export interface MediaServer {
  readonly kind: 'embedded' | 'freeswitch';
  /** Whether it can take calls now (for /readyz). */
  readonly connected: boolean;

  on<K extends keyof MediaServerEvents>(event: K, listener: Listener<MediaServerEvents[K]>): this;
  off<K extends keyof MediaServerEvents>(event: K, listener: Listener<MediaServerEvents[K]>): this;

  start(): Promise<void>;
  /** Stops taking calls; ends the legs still up. */
  stop(): Promise<void>;
  /** While draining, new calls are refused (503) and existing ones go on. */
  setAcceptingCalls(accepting: boolean): void;

  /** Places an outbound call; resolves once answered, rejects if refused or not answered. */
  dial(target: string, options?: DialOptions): Promise<CallLeg>;
  bridge(a: CallLeg, b: CallLeg, options?: BridgeOptions): Bridge;
}
