/**
 * The parts of drachtio-fsmrf 4.1 (lib/mrf.js, lib/mediaserver.js,
 * lib/endpoint.js) this project uses. The package ships no types; every
 * signature here was read from its source, in the promise form (each method
 * also takes a trailing callback, which we never use).
 */
declare module 'drachtio-fsmrf' {
  import type { EventEmitter } from 'node:events';

  namespace Mrf {
    /** Mrf#connect options (lib/mrf.js). */
    interface ConnectOptions {
      /** FreeSWITCH's event socket host. */
      address: string;
      /** Default 8021. */
      port?: number;
      /** The event socket password. Default "ClueCon" (never rely on it). */
      secret?: string;
      /** Where this process listens for FreeSWITCH's outbound `socket` connections. Default: the first non-internal IPv4 address. */
      listenAddress?: string;
      /** Default 0 (any free port). */
      listenPort?: number;
      /** Sent to FreeSWITCH in X-esl-outbound; default listenAddress / listenPort. */
      advertisedAddress?: string;
      advertisedPort?: number;
      /** The sofia profile INVITEs are sent to. Default "drachtio_mrf". */
      profile?: string;
    }

    /** An event-socket event (drachtio-modesl's Event). */
    interface EslEvent {
      getHeader(name: string): string | undefined;
      getBody(): string;
    }

    /** MediaServer#createEndpoint options. */
    interface EndpointOptions {
      /** The far end's offer; without it FreeSWITCH makes the offer (3pcc) and `local.sdp` holds it. */
      remoteSdp?: string;
      /** Preferred codecs in order (e.g. ['PCMU', 'PCMA']); sets codec_string on the channel. */
      codecs?: string | string[];
      /** Extra headers on the INVITE to FreeSWITCH. */
      headers?: Record<string, string>;
    }

    /** Endpoint 'dtmf' event: the ESL DTMF event's DTMF-Digit, DTMF-Duration (samples) and DTMF-Source. */
    interface DtmfEventArgs {
      dtmf: string;
      duration: string;
      /** RTP (RFC 2833), INBAND_AUDIO (a detector), ENDPOINT (SIP INFO at FreeSWITCH), APP, UNKNOWN. */
      source: string;
      ssrc?: string;
      timestamp?: string;
    }

    interface PlaybackResults {
      playbackSeconds?: string;
      playbackMilliseconds?: string;
      playbackLastOffsetPos?: string;
    }

    /** The SIP dialog between drachtio and FreeSWITCH for one endpoint (a drachtio-srf Dialog). */
    interface EndpointDialog {
      destroy(): Promise<unknown>;
    }

    /** One FreeSWITCH server, reached over its inbound event socket. */
    class MediaServer extends EventEmitter {
      /** FreeSWITCH's address, as the event socket connection sees it. */
      readonly address: string;
      /** Whether the inbound event socket connection is up (delegated to the ESL connection; still true while it reconnects). */
      connected(): boolean;
      /** The inbound event socket connection (drachtio-modesl): 'esl::ready' once (re)connected and authenticated. */
      readonly conn: { on(event: 'esl::ready', listener: () => void): unknown };
      /**
       * Sends an INVITE (User-Agent drachtio-fsmrf:<id>, X-esl-outbound) to
       * FreeSWITCH's profile and resolves once FreeSWITCH's outbound socket
       * connection for that channel has arrived.
       */
      createEndpoint(options?: EndpointOptions): Promise<Endpoint>;
      /**
       * An RTP/SAVP offer (SRTP): INVITEs FreeSWITCH with the caller's offer,
       * answers the caller with FreeSWITCH's answer, and resolves once the
       * channel's outbound socket connection has arrived.
       */
      connectCaller(req: unknown, res: unknown, options?: { codecs?: readonly string[] }): Promise<{ endpoint: Endpoint; dialog: unknown }>;
      /** A raw API command on the inbound connection; resolves with the response body. */
      api(command: string): Promise<string>;
      disconnect(): void;
      /** 'end': the inbound event socket connection was lost (drachtio-modesl reconnects it). */
      on(event: 'end', listener: () => void): this;
      on(event: 'error', listener: (err: Error) => void): this;
      on(event: string, listener: (...args: unknown[]) => void): this;
    }

    /** One FreeSWITCH channel, driven over its outbound event socket connection. */
    class Endpoint extends EventEmitter {
      /** The channel's Unique-ID. */
      readonly uuid: string;
      readonly local: { sdp: string; mediaIp?: string; mediaPort?: string };
      readonly remote: { sdp: string; mediaIp?: string; mediaPort?: string };
      readonly dialog: EndpointDialog;
      /** `playback` of one file, or of several joined with playback_delimiter=! (set first). */
      play(file: string | string[]): Promise<PlaybackResults>;
      /** `sendmsg execute` of a dialplan application; resolves with its CHANNEL_EXECUTE_COMPLETE. */
      execute(app: string, arg?: string): Promise<EslEvent>;
      /** `api <command> <args>` (an array is joined with spaces); resolves with the api/response event. */
      api(command: string, args?: string | string[]): Promise<EslEvent>;
      /** `set name=value` (several: `multiset`). */
      set(name: string, value: string): Promise<void>;
      /** `record_session <args...>`. */
      recordSession(...args: string[]): Promise<EslEvent>;
      /** `uuid_bridge <this> <other>`; rejects unless the body starts with +OK. */
      bridge(other: Endpoint | string): Promise<void>;
      /** `uuid_transfer <this> -both park inline`. */
      unbridge(): Promise<void>;
      /** A re-INVITE to FreeSWITCH with the far end's new SDP; resolves with FreeSWITCH's answer. */
      modify(sdp: string): Promise<string>;
      /** `hangup` on the channel; resolves when FreeSWITCH's BYE arrives. */
      destroy(): Promise<void>;
      on(event: 'dtmf', listener: (args: DtmfEventArgs) => void): this;
      /** FreeSWITCH ended the channel (CHANNEL_CALLSTATE HANGUP, or the socket closed). */
      on(event: 'destroy', listener: (args?: { reason?: string }) => void): this;
      on(event: string, listener: (...args: unknown[]) => void): this;
    }
  }

  /** The media resource framework: `new Mrf(srf).connect(options)` gives a MediaServer. */
  class Mrf extends EventEmitter {
    /** `srf`: the drachtio-srf instance that sends the INVITEs to FreeSWITCH. */
    constructor(srf: unknown, options?: { debugDir?: string; customEvents?: string[] });
    connect(options: Mrf.ConnectOptions): Promise<Mrf.MediaServer>;
  }

  export = Mrf;
}
