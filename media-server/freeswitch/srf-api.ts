/**
 * The parts of drachtio-srf 5 (lib/srf.js, lib/dialog.js, lib/request.js,
 * lib/response.js) the FreeSWITCH adapter uses, as read from its source.
 * drachtio-srf ships types, but they differ from what runs where it
 * matters here: `connect()` returns nothing (the outcome comes as 'connect'
 * or 'error' events, and it retries for ever), and `Dialog#destroy()`
 * returns a promise. The adapter is written against these interfaces; the
 * real library and the test fakes both satisfy them.
 */

/** A SIP request as drachtio-srf hands it over (lib/request.js over lib/sip-parser/message.js). */
export interface SrfRequest {
  readonly method: string;
  /** The Request-URI. */
  readonly uri: string;
  readonly body: string;
  /** Header names as received; use `get()` for a case-insensitive look-up. */
  readonly headers: Readonly<Record<string, string>>;
  /** The user part of the Request-URI. */
  readonly calledNumber: string;
  /** Where drachtio-server received it from. */
  readonly source_address: string;
  get(name: string): string | undefined;
  /** 'cancel': the caller sent CANCEL (drachtio-server has answered it and the INVITE's 487). */
  on(event: 'cancel', listener: () => void): unknown;
  /** An INVITE we sent (createUAC's cbRequest): CANCEL it. */
  cancel(): void;
}

/** The response object for an incoming request (lib/response.js). */
export interface SrfResponse {
  readonly finalResponseSent: boolean;
  send(status: number, reason?: string): void;
  send(status: number, options: { body?: string; headers?: Record<string, string> }): void;
}

/** What `Dialog#request()` resolves with: the final response. */
export interface SrfRequestResponse {
  readonly status: number;
}

/** A SIP dialog in drachtio-server (lib/dialog.js). */
export interface SrfDialog {
  readonly local: { readonly sdp: string };
  readonly remote: { readonly sdp: string };
  /** BYE. Resolves once answered; no 'destroy' event follows (that is for the far end's BYE). */
  destroy(): Promise<unknown>;
  /** A request within the dialog (INFO, REFER...). */
  request(options: { method: string; headers?: Record<string, string>; body?: string }): Promise<SrfRequestResponse>;
  /** The far end's BYE (already answered 200). */
  on(event: 'destroy', listener: () => void): unknown;
  /** INFO, REFER: the listener answers through `res`. */
  on(event: 'info' | 'refer', listener: (req: SrfRequest, res: SrfResponse) => void): unknown;
  /** A re-INVITE: the listener answers it (200 with an SDP, or an error status). */
  on(event: 'modify', listener: (req: SrfRequest, res: SrfResponse) => void): unknown;
}

export interface SrfUacProgress {
  /** The INVITE as sent: its `cancel()` CANCELs it. */
  /** Node-style, like the rest of drachtio-srf (lib/srf.js, launchRequest): `(null, req)` once sent, `(err)` if not. */
  cbRequest?: (err: Error | null, req?: SrfRequest) => void;
  cbProvisional?: (res: { readonly status: number }) => void;
}

/** The Srf object: one connection to drachtio-server ("inbound" mode). */
export interface SrfApi {
  /**
   * Connects (and keeps reconnecting) to drachtio-server. Returns nothing:
   * 'connect' (err, hostport) follows authentication, 'error' a socket error.
   */
  connect(options: { host: string; port: number; secret: string }): void;
  disconnect(): void;
  invite(handler: (req: SrfRequest, res: SrfResponse) => void): void;
  /** Once registered, drachtio-server hands OPTIONS outside a dialog to us instead of answering them itself. */
  options(handler: (req: SrfRequest, res: SrfResponse) => void): void;
  createUAS(req: SrfRequest, res: SrfResponse, options: { localSdp: string; headers?: Record<string, string> }): Promise<SrfDialog>;
  /** Rejects with drachtio-srf's SipError (`status`) on a non-2xx final response. */
  createUAC(uri: string, options: { localSdp?: string; headers?: Record<string, string> }, progress?: SrfUacProgress): Promise<SrfDialog>;
  on(event: 'connect', listener: (err: Error | null, hostport?: string) => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  on(event: 'close' | 'reconnecting', listener: () => void): unknown;
  /** Takes back a listener given to `on`. */
  removeListener(event: string, listener: (...args: any[]) => void): unknown;
}
