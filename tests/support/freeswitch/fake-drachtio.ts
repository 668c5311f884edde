import { EventEmitter } from 'node:events';
import type {
  SrfApi,
  SrfDialog,
  SrfRequest,
  SrfRequestResponse,
  SrfResponse,
  SrfUacProgress,
} from '../../../media-server/freeswitch/srf-api.js';
import { SipError } from './sip-error.js';

/**
 * A fake drachtio-srf standing exactly at the API the adapter uses
 * (media-server/freeswitch/srf-api.ts, read from drachtio-srf 5's
 * lib/srf.js, lib/dialog.js, lib/request.js, lib/response.js): Srf#connect
 * and its 'connect'/'error' events, Srf#invite, createUAS, createUAC with
 * cbRequest and SipError rejections, Dialog#destroy/request and the
 * 'destroy', 'info', 'modify' and 'refer' events, Request#on('cancel') and
 * Request#cancel, Response#send. The far ends — callers and phones — are
 * driven by the test through FakeCaller and FakePhone.
 */

let callCounter = 0;

/** A caller's or phone's SDP; unique per party, so the fake FreeSWITCH can tell whose channel is whose. */
export function partySdp(name: string, codecs: 'g711' | 'g729' = 'g711'): string {
  const payloads = codecs === 'g711' ? '0 8 101' : '18';
  return [
    'v=0',
    `o=${name} ${++callCounter} 1 IN IP4 127.0.0.1`,
    's=-',
    'c=IN IP4 127.0.0.1',
    't=0 0',
    `m=audio ${30000 + callCounter * 2} RTP/AVP ${payloads}`,
    ...(codecs === 'g711' ? ['a=rtpmap:0 PCMU/8000', 'a=rtpmap:8 PCMA/8000', 'a=rtpmap:101 telephone-event/8000'] : ['a=rtpmap:18 G729/8000']),
    'a=sendrecv',
    '',
  ].join('\r\n');
}

/** A request as drachtio-srf hands it over. */
export class FakeRequest extends EventEmitter implements SrfRequest {
  readonly headers: Readonly<Record<string, string>>;
  cancelled = false;

  constructor(
    readonly method: string,
    readonly uri: string,
    headers: Record<string, string>,
    readonly body: string,
    readonly source_address = '127.0.0.1',
  ) {
    super();
    this.headers = headers;
  }

  get calledNumber(): string {
    return /sips?:(.*?)@/.exec(this.uri)?.[1]?.split(';')[0] ?? '';
  }

  get(name: string): string | undefined {
    const key = Object.keys(this.headers).find((h) => h.toLowerCase() === name.toLowerCase());
    return key === undefined ? undefined : this.headers[key];
  }

  /** The UAC side (createUAC's cbRequest): CANCEL this INVITE. */
  cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    this.emit('cancelled-by-uac');
  }
}

/** A response object; keeps every status sent. */
export class FakeResponse implements SrfResponse {
  readonly sent: { status: number; reason?: string; body?: string }[] = [];
  readonly #final: Promise<number>;
  #resolveFinal!: (status: number) => void;

  constructor() {
    this.#final = new Promise((resolve) => (this.#resolveFinal = resolve));
  }

  get finalResponseSent(): boolean {
    return this.sent.some((s) => s.status >= 200);
  }

  /** The final status, once sent. */
  get final(): Promise<number> {
    return this.#final;
  }

  send(status: number, reasonOrOptions?: string | { body?: string; headers?: Record<string, string> }): void {
    if (this.finalResponseSent) throw new Error(`fake drachtio: a final response was already sent (now ${status})`);
    const entry = typeof reasonOrOptions === 'string' ? { status, reason: reasonOrOptions } : { status, ...(reasonOrOptions?.body ? { body: reasonOrOptions.body } : {}) };
    this.sent.push(entry);
    if (status >= 200) this.#resolveFinal(status);
  }
}

/** A dialog between drachtio-server and a far end. */
export class FakeDialog extends EventEmitter implements SrfDialog {
  readonly local: { sdp: string };
  readonly remote: { sdp: string };
  /** Requests we sent within the dialog (REFER, INFO...). */
  readonly sent: { method: string; headers: Record<string, string>; body?: string }[] = [];
  /** Our BYE. */
  readonly destroyed: Promise<void>;
  #resolveDestroyed!: () => void;
  #open = true;
  /** What the far end answers to each method we send. Default 202 for REFER, 200 otherwise. */
  answers: Record<string, number> = { REFER: 202 };

  constructor(localSdp: string, remoteSdp: string) {
    super();
    this.local = { sdp: localSdp };
    this.remote = { sdp: remoteSdp };
    this.destroyed = new Promise((resolve) => (this.#resolveDestroyed = resolve));
  }

  get open(): boolean {
    return this.#open;
  }

  /** lib/dialog.js#destroy: BYE; no 'destroy' event here (that is the far end's BYE). */
  async destroy(): Promise<unknown> {
    if (!this.#open) throw new Error('fake drachtio: dialog already destroyed');
    this.#open = false;
    this.#resolveDestroyed();
    return {};
  }

  async request(options: { method: string; headers?: Record<string, string>; body?: string }): Promise<SrfRequestResponse> {
    if (!this.#open) throw new Error('fake drachtio: request on a destroyed dialog');
    this.sent.push({ method: options.method, headers: options.headers ?? {}, ...(options.body ? { body: options.body } : {}) });
    return { status: this.answers[options.method] ?? 200 };
  }

  /** The far end's BYE (drachtio answers it 200, then 'destroy'). */
  farEndBye(): void {
    if (!this.#open) return;
    this.#open = false;
    this.emit('destroy');
  }

  /** The far end sends a request within the dialog; resolves with our response. */
  async farEndRequest(event: 'info' | 'refer' | 'modify', headers: Record<string, string>, body: string): Promise<FakeResponse> {
    const method = event === 'modify' ? 'INVITE' : event.toUpperCase();
    const req = new FakeRequest(method, 'sip:ivr@127.0.0.1', headers, body);
    const res = new FakeResponse();
    // lib/dialog.js: with no listener INFO and REFER get 200; a re-INVITE the dialog's own SDP.
    if (this.listenerCount(event) === 0) res.send(200, event === 'modify' ? { body: this.local.sdp } : undefined);
    else this.emit(event, req, res);
    await res.final;
    return res;
  }
}

/** A party calling in through drachtio-server. */
export class FakeCaller {
  readonly req: FakeRequest;
  readonly res: FakeResponse;
  dialog: FakeDialog | undefined;
  readonly #answered: Promise<FakeDialog>;
  #resolveAnswered!: (dialog: FakeDialog) => void;

  constructor(req: FakeRequest, res: FakeResponse) {
    this.req = req;
    this.res = res;
    this.#answered = new Promise((resolve) => (this.#resolveAnswered = resolve));
  }

  get sdp(): string {
    return this.req.body;
  }

  /** Resolves with the dialog once our 200 went out. */
  get answered(): Promise<FakeDialog> {
    return this.#answered;
  }

  connect(dialog: FakeDialog): void {
    this.dialog = dialog;
    this.#resolveAnswered(dialog);
  }

  /** CANCEL: drachtio-server answers it and the INVITE (487), then the request's 'cancel' event. */
  cancel(): void {
    this.req.cancelled = true;
    if (!this.res.finalResponseSent) this.res.send(487, 'Request Terminated');
    this.req.emit('cancel');
  }
}

/** How a phone the IVR dials answers. */
export type PhoneBehaviour = 'answer' | 'busy' | 'no-answer';

/** A party the IVR can dial, at a URI. */
export class FakePhone {
  readonly sdp: string;
  /** Each INVITE it received: its headers. */
  readonly invites: Record<string, string>[] = [];
  dialog: FakeDialog | undefined;

  constructor(
    readonly uri: string,
    readonly behaviour: PhoneBehaviour,
  ) {
    this.sdp = partySdp(`phone-${uri.replace(/\W/g, '')}`);
  }
}

/** How the fake Srf#connect goes. */
export type FakeSrfConnect = 'ok' | 'refused' | 'bad-secret' | 'silent';

/** drachtio-srf's Srf, with the far ends on the test's side. */
export class FakeSrf extends EventEmitter implements SrfApi {
  readonly connects: { host: string; port: number; secret: string }[] = [];
  readonly callers: FakeCaller[] = [];
  disconnected = false;
  readonly #phones = new Map<string, FakePhone>();
  #onInvite: ((req: SrfRequest, res: SrfResponse) => void) | undefined;
  #onOptions: ((req: SrfRequest, res: SrfResponse) => void) | undefined;

  constructor(readonly behaviour: FakeSrfConnect = 'ok') {
    super();
  }

  connect(options: { host: string; port: number; secret: string }): void {
    this.connects.push(options);
    // lib/srf.js re-emits the agent's events on setImmediate.
    setImmediate(() => {
      if (this.behaviour === 'ok') this.emit('connect', null, `udp/127.0.0.1:5060`);
      else if (this.behaviour === 'bad-secret') this.emit('connect', new Error('failed to authenticate to server'));
      else if (this.behaviour === 'refused') this.emit('error', Object.assign(new Error(`connect ECONNREFUSED ${options.host}:${options.port}`), { code: 'ECONNREFUSED' }));
    });
  }

  disconnect(): void {
    this.disconnected = true;
  }

  invite(handler: (req: SrfRequest, res: SrfResponse) => void): void {
    this.#onInvite = handler;
  }

  options(handler: (req: SrfRequest, res: SrfResponse) => void): void {
    this.#onOptions = handler;
  }

  /** lib/srf.js#createUAS: our 200 with `localSdp`; a cancelled INVITE rejects with 487. */
  async createUAS(req: SrfRequest, res: SrfResponse, options: { localSdp: string }): Promise<SrfDialog> {
    const caller = this.callers.find((c) => c.req === req);
    if (!caller) throw new Error('fake drachtio: createUAS for an unknown request');
    if (caller.req.cancelled) throw new SipError(487, 'Request Terminated');
    res.send(200, { body: options.localSdp });
    const dialog = new FakeDialog(options.localSdp, req.body);
    caller.connect(dialog);
    return dialog;
  }

  /** lib/srf.js#createUAC: INVITE to a registered phone; rejects with SipError on a non-2xx (487 after cancel). */
  async createUAC(uri: string, options: { localSdp?: string; headers?: Record<string, string> }, progress: SrfUacProgress = {}): Promise<SrfDialog> {
    const phone = this.#phones.get(uri);
    const req = new FakeRequest('INVITE', uri, options.headers ?? {}, options.localSdp ?? '');
    progress.cbRequest?.(null, req);
    if (!phone) throw new SipError(404, 'Not Found');
    phone.invites.push(options.headers ?? {});
    if (phone.behaviour === 'busy') throw new SipError(486, 'Busy Here');
    if (phone.behaviour === 'no-answer') {
      progress.cbProvisional?.({ status: 180 });
      await new Promise<void>((resolve) => (req.cancelled ? resolve() : req.once('cancelled-by-uac', resolve)));
      throw new SipError(487, 'Request Terminated');
    }
    const dialog = new FakeDialog(options.localSdp ?? '', phone.sdp);
    phone.dialog = dialog;
    return dialog;
  }

  // The test's side.

  /** A phone the IVR can dial at `uri`. */
  addPhone(uri: string, behaviour: PhoneBehaviour): FakePhone {
    const phone = new FakePhone(uri, behaviour);
    this.#phones.set(uri, phone);
    return phone;
  }

  /** An OPTIONS outside a dialog (a proxy's probe), as drachtio-server delivers it once the application took the method. */
  probe(sourceAddress?: string): FakeResponse {
    if (!this.#onOptions) throw new Error('fake drachtio: no OPTIONS handler (not started?)');
    const req = new FakeRequest('OPTIONS', 'sip:127.0.0.1:5060', { 'Call-ID': `probe-${++callCounter}`, 'Max-Forwards': '70' }, '', sourceAddress);
    const res = new FakeResponse();
    this.#onOptions(req, res);
    return res;
  }

  /** An INVITE from a caller to `sip:<user>@...`, as drachtio-server delivers it to the application. */
  placeCall(options: { user: string; headers?: Record<string, string>; sdp?: string; from?: string; sourceAddress?: string }): FakeCaller {
    if (!this.#onInvite) throw new Error('fake drachtio: no invite handler (not started?)');
    const from = options.from ?? '"Caller" <sip:caller@127.0.0.1>;tag=abc';
    const req = new FakeRequest(
      'INVITE',
      `sip:${options.user}@127.0.0.1:5060`,
      { From: from, To: `<sip:${options.user}@127.0.0.1>`, 'Call-ID': `call-${++callCounter}`, 'Content-Type': 'application/sdp', ...options.headers },
      options.sdp ?? partySdp('caller'),
      options.sourceAddress,
    );
    const caller = new FakeCaller(req, new FakeResponse());
    this.callers.push(caller);
    this.#onInvite(req, caller.res);
    return caller;
  }
}
