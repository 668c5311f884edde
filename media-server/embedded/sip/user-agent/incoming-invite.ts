import { SipDialogTerminatedError } from '../dialog/dialog-errors.js';
import { checkExtraHeaders } from '../dialog/dialog-request.js';
import { isSecureRequest, uasDialogState } from '../dialog/dialog-state.js';
import { GuardedEmitter } from '../dialog/guarded-emitter.js';
import { InviteSession } from '../dialog/invite-session.js';
import { createSipResponse, parseNameAddr, parseSipUri, type SipRequest } from '../message/index.js';
import type { IncomingRequest } from '../transaction/incoming-request.js';
import type { InviteServerTransaction } from '../transaction/invite-server-transaction.js';
import { newTag } from '../transaction/sip-identifiers.js';
import { InvalidStateError } from '../transaction/transaction-errors.js';
import type { TransportAddress } from '../transport/sip-transport.js';
import type { UserAgentCore } from './user-agent-core.js';

export interface IncomingInviteEvents {
  /** The caller CANCELled before our final response; the INVITE has been answered 487 (§9.2). */
  cancelled: [];
}

export interface AcceptOptions {
  /** The SDP answer for the 200. */
  readonly sdp: string;
  /** Extra header lines for the 200 (not Via, From, To, Call-ID, CSeq, Route, Content-*). */
  readonly headers?: Readonly<Record<string, string>>;
}

/** A new INVITE outside any dialog, waiting for the call layer's decision. */
export interface IncomingInvite {
  readonly request: SipRequest;
  readonly source: TransportAddress;
  readonly callId: string;
  /** The caller's URI (From). */
  readonly from: string;
  /** The user part of the Request-URI (the number dialled); '' when there is none. */
  readonly calledUser: string;
  /** The offer; '' when the INVITE had no body. */
  readonly sdp: string;
  /** The To tag every response to this INVITE carries (§8.2.6.2). */
  readonly localTag: string;
  /** Sends 180 or 183 (with early-media SDP). Ignored once a final response went out. */
  progress(status: 180 | 183, options?: { sdp?: string }): void;
  /**
   * Sends 200 with the SDP answer, creating the dialog, and resolves with it
   * on the ACK. Rejects with `SipAckTimeoutError` (no ACK in 64·T1; the
   * dialog has sent BYE), `SipDialogTerminatedError` (BYE before the ACK),
   * or `InvalidStateError` (already answered, rejected or cancelled).
   */
  accept(options: AcceptOptions): Promise<InviteSession>;
  /** Sends a 300–699 final response. Ignored once a final response went out. */
  reject(status: number, reason?: string): void;
  on(event: 'cancelled', listener: () => void): this;
  once(event: 'cancelled', listener: () => void): this;
  off(event: 'cancelled', listener: () => void): this;
}

/**
 * Where an inbound INVITE is:
 *
 *   pending  → accepted    accept(): 200 sent
 *   pending  → rejected    reject(), or the UA's own 4xx/5xx
 *   pending  → cancelled   CANCEL (487 sent)
 */
type InboundInviteState = 'pending' | 'accepted' | 'rejected' | 'cancelled';

const TRANSITIONS: Readonly<Record<InboundInviteState, readonly InboundInviteState[]>> = {
  pending: ['accepted', 'rejected', 'cancelled'],
  accepted: [],
  rejected: [],
  cancelled: [],
};

const SDP = 'application/sdp';

/** The UAS side of an INVITE outside a dialog (RFC 3261 §13.3), over its INVITE server transaction. */
export class InboundInvite extends GuardedEmitter<IncomingInviteEvents> implements IncomingInvite {
  readonly request: SipRequest;
  readonly source: TransportAddress;
  readonly callId: string;
  readonly from: string;
  readonly calledUser: string;
  readonly sdp: string;
  readonly localTag = newTag();
  readonly #core: UserAgentCore;
  readonly #incoming: IncomingRequest;
  readonly #onSettled: (() => void) | undefined;
  #transaction: InviteServerTransaction | undefined;
  #state: InboundInviteState = 'pending';

  /** `onSettled` runs once, when the INVITE is accepted, rejected or cancelled. */
  constructor(core: UserAgentCore, incoming: IncomingRequest, onSettled?: () => void) {
    super();
    const request = incoming.message;
    this.#core = core;
    this.#incoming = incoming;
    this.#onSettled = onSettled;
    this.request = request;
    this.source = incoming.source;
    this.callId = request.headers.get('Call-ID') as string;
    this.from = parseNameAddr(request.headers.get('From') as string).uri;
    let user = '';
    try {
      user = parseSipUri(request.uri).user ?? '';
    } catch {
      // A tel: or other Request-URI has no SIP user part.
    }
    this.calledUser = user;
    this.sdp = request.body.toString('utf8');
  }

  get state(): InboundInviteState {
    return this.#state;
  }

  /** @internal Binds the INVITE server transaction the core opened for this INVITE. */
  bind(transaction: InviteServerTransaction): void {
    this.#transaction = transaction;
  }

  progress(status: 180 | 183, options: { sdp?: string } = {}): void {
    if (this.#state !== 'pending') return;
    const headers: Array<[string, string]> = [...this.#copyRecordRoute(), ['Contact', this.#contact()]];
    if (options.sdp !== undefined) headers.push(['Content-Type', SDP]);
    this.#respond(status, headers, options.sdp === undefined ? undefined : Buffer.from(options.sdp, 'utf8'));
  }

  async accept(options: AcceptOptions): Promise<InviteSession> {
    const transaction = this.#transaction;
    if (this.#state !== 'pending' || !transaction || transaction.hasFinalResponse) {
      throw new InvalidStateError('IncomingInvite', this.#state, 'accepted');
    }
    checkExtraHeaders(options.headers);
    const state = uasDialogState(this.request, this.localTag, this.#incoming.cseq.seq, this.source.protocol === 'tls');
    const dialog = new InviteSession({
      role: 'uas',
      host: this.#core,
      state,
      remoteSdp: this.sdp,
      localSdp: options.sdp,
      flow: this.source,
    });
    // §12.1.1: "the UAS MUST copy all Record-Route header field values from the request into
    // the response" and MUST add a Contact; §13.3.1.4: the 2xx "SHOULD include the Allow ...
    // header field" (Supported is left out: we support no extension).
    const headers: Array<[string, string]> = [
      ...this.#copyRecordRoute(),
      ['Contact', this.#contact()],
      ['Allow', this.#core.allowHeader],
    ];
    if (options.headers) headers.push(...Object.entries(options.headers));
    headers.push(['Content-Type', SDP]);
    this.#transition('accepted');
    this.#core.register(dialog);
    this.#respond(200, headers, Buffer.from(options.sdp, 'utf8'));
    if (!transaction.hasFinalResponse) {
      dialog.dispose();
      throw new SipDialogTerminatedError('the 200 could not be sent');
    }
    await dialog.awaitAck(transaction, this.#incoming.cseq.seq);
    return dialog;
  }

  reject(status: number, reason?: string): void {
    if (!Number.isInteger(status) || status < 300 || status > 699) throw new RangeError('reject() takes a 300–699 status');
    if (this.#state !== 'pending' || this.#transaction?.hasFinalResponse) return;
    this.#transition('rejected');
    this.#respond(status, [], undefined, reason);
  }

  /** @internal The CANCEL matched (§9.2): 487 with our tag, then 'cancelled'. */
  cancelled(): void {
    if (this.#state !== 'pending') return;
    this.#transition('cancelled');
    this.#respond(487, []);
    this.emitSafely('cancelled');
  }

  protected override onListenerError(error: unknown, event: string): void {
    this.#core.reportError(error, `incoming INVITE '${event}' listener`);
  }

  #transition(to: InboundInviteState): void {
    if (!TRANSITIONS[this.#state].includes(to)) throw new InvalidStateError('IncomingInvite', this.#state, to);
    this.#state = to;
    // Every state after pending is final.
    this.#onSettled?.();
  }

  /** §12.1.1: a SIPS Request-URI over TLS gets a SIPS Contact. */
  #contact(): string {
    return this.#core.origin(this.source.protocol, isSecureRequest(this.request, this.source.protocol === 'tls')).contact ?? '';
  }

  #copyRecordRoute(): Array<[string, string]> {
    return this.request.headers.getLines('Record-Route').map((value) => ['Record-Route', value]);
  }

  /** Every response but the 100 carries our To tag (§8.2.6.2) and the Server line. */
  #respond(status: number, headers: Array<[string, string]>, body?: Buffer, reason?: string): void {
    const transaction = this.#transaction;
    if (!transaction) return;
    const response = createSipResponse(this.request, status, {
      toTag: this.localTag,
      headers: [...this.#core.responseHeaders, ...headers],
      ...(body === undefined ? {} : { body }),
      ...(reason === undefined ? {} : { reason }),
    });
    try {
      transaction.respond(response);
    } catch (err) {
      this.#core.reportError(err, `responding ${status} to an INVITE`);
    }
  }
}
