import { createSipResponse, parseNameAddr, type SipRequest, type SipResponse } from '../message/index.js';
import type { IncomingRequest } from '../transaction/incoming-request.js';
import { nextHopOf } from '../transaction/next-hop.js';
import { newBranch } from '../transaction/sip-identifiers.js';
import type { ServerTransaction, TransactionLayer } from '../transaction/transaction-layer.js';
import { isStreamProtocol, type TransportAddress, type TransportProtocol } from '../transport/sip-transport.js';
import { buildDialogRequest, checkExtraHeaders, type RequestOrigin } from './dialog-request.js';
import { dialogId, type DialogState } from './dialog-state.js';
import { GuardedEmitter } from './guarded-emitter.js';

/** What a dialog needs from the user agent core that owns it. */
export interface DialogHost {
  readonly transactions: TransactionLayer;
  /**
   * Via sent-by, Contact and User-Agent for requests over that transport;
   * `secure` (a dialog or request that is SIPS, over TLS) asks for a SIPS
   * Contact (RFC 3261 §8.1.1.8, §12.1.1).
   */
  origin(protocol: TransportProtocol, secure?: boolean): RequestOrigin;
  /** Header lines every response carries (Server, when configured). */
  readonly responseHeaders: ReadonlyArray<readonly [string, string]>;
  /** A listener threw, or something failed with nobody to tell: log it. */
  reportError(error: unknown, context: string): void;
}

export interface SipDialogOptions {
  readonly role: 'uac' | 'uas';
  readonly host: DialogHost;
  readonly state: DialogState;
  /**
   * The flow the dialog was set up on (the INVITE's source, or where we sent
   * ours). Over TCP or TLS, with no route set, requests reuse it (§18.1.1: a
   * connection to the peer that is open is used).
   */
  readonly flow: TransportAddress;
}

export interface DialogRequestOptions {
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: Buffer;
  readonly contentType?: string;
}

export interface DialogResponseOptions {
  readonly reason?: string;
  readonly headers?: ReadonlyArray<readonly [string, string]>;
  readonly body?: Buffer;
}

const EMPTY = Buffer.alloc(0);

/**
 * A SIP dialog (RFC 3261 §12): its id, the local and remote sequence
 * numbers, the route set and remote target; builds requests within it and
 * puts the peer's in order. What the dialog is used for (an INVITE session,
 * `InviteSession`) answers those requests and emits `Events`.
 */
export abstract class SipDialog<Events extends Record<keyof Events, unknown[]>> extends GuardedEmitter<Events> {
  readonly id: string;
  readonly role: 'uac' | 'uas';
  readonly callId: string;
  readonly localTag: string;
  readonly remoteTag: string;
  /** The flow the dialog was set up on (see `SipDialogOptions.flow`). */
  protected readonly flow: TransportAddress;
  readonly #host: DialogHost;
  readonly #dialogState: DialogState;

  constructor(options: SipDialogOptions) {
    super();
    const state = options.state;
    this.role = options.role;
    this.#host = options.host;
    this.#dialogState = state;
    this.flow = options.flow;
    this.callId = state.callId;
    this.localTag = state.localTag;
    this.remoteTag = state.remoteTag;
    this.id = dialogId(state.callId, state.localTag, state.remoteTag);
  }

  get remoteTarget(): string {
    return this.#dialogState.remoteTarget;
  }

  get routeSet(): readonly string[] {
    return this.#dialogState.routeSet;
  }

  get localSeq(): number | undefined {
    return this.#dialogState.localSeq;
  }

  get remoteSeq(): number | undefined {
    return this.#dialogState.remoteSeq;
  }

  /** Our From in requests (our To in responses), tag included. */
  get localParty(): string {
    return this.#dialogState.localParty;
  }

  get remoteParty(): string {
    return this.#dialogState.remoteParty;
  }

  /** The §12 'secure' flag: set up over TLS with a SIPS Request-URI. */
  get secure(): boolean {
    return this.#dialogState.secure;
  }

  /**
   * @internal A request whose Call-ID and tags name this dialog, on its new
   * server transaction (§12.2.2).
   */
  receiveRequest(incoming: IncomingRequest, transaction: ServerTransaction): void {
    const seq = incoming.cseq.seq;
    // §12.2.2: "If the remote sequence number is not empty, but the sequence number of the
    // request is lower than the remote sequence number, the request is out of order and
    // MUST be rejected with a 500 (Server Internal Error) response."
    if (this.#dialogState.remoteSeq !== undefined && seq < this.#dialogState.remoteSeq) {
      this.respond(transaction, 500, { reason: 'Server Internal Error (CSeq out of order)' });
      return;
    }
    this.#dialogState.remoteSeq = seq;
    this.receiveInOrder(incoming, transaction);
  }

  /** A request of the peer's in order (§12.2.2), for what uses the dialog to answer. */
  protected abstract receiveInOrder(incoming: IncomingRequest, transaction: ServerTransaction): void;

  protected override onListenerError(error: unknown, event: string): void {
    this.#host.reportError(error, `dialog '${event}' listener`);
  }

  protected nextCseq(): number {
    // §12.2.1.1: "the CSeq ... MUST be incremented by one"; a UAS with no local number starts at 1 (§8.1.1.5).
    const cseq = (this.#dialogState.localSeq ?? 0) + 1;
    this.#dialogState.localSeq = cseq;
    return cseq;
  }

  /** A request within the dialog (§12.2.1.1) with a new branch, and the next hop it goes to. */
  protected buildRequest(
    method: string,
    cseq: number,
    options: DialogRequestOptions,
  ): { readonly request: SipRequest; readonly to: TransportAddress } {
    checkExtraHeaders(options.headers);
    const to = this.#destination();
    const request = buildDialogRequest(this.#dialogState, this.#host.origin(to.protocol, this.secure), method, {
      cseq,
      branch: newBranch(),
      protocol: to.protocol,
      headers: options.headers,
      body: options.body,
      contentType: options.contentType,
    });
    return { request, to };
  }

  protected sendRequest(
    method: string,
    cseq: number,
    options: DialogRequestOptions,
    user: Parameters<TransactionLayer['sendRequest']>[2],
  ): void {
    const { request, to } = this.buildRequest(method, cseq, options);
    this.#host.transactions.sendRequest(request, to, user);
  }

  /** A target refresh (§12.2.1.2, §12.2.2): the remote target becomes the message's Contact URI. */
  protected refreshTarget(message: SipRequest | SipResponse): void {
    const contact = message.headers.get('Contact');
    if (contact === undefined) return;
    try {
      this.#dialogState.remoteTarget = parseNameAddr(contact).uri;
    } catch (err) {
      this.#host.reportError(err, 'reading a Contact for a target refresh');
    }
  }

  protected respond(transaction: ServerTransaction, status: number, options: DialogResponseOptions = {}): void {
    const headers = [...this.#host.responseHeaders, ...(options.headers ?? [])];
    const response = createSipResponse(transaction.request.message, status, {
      ...(options.reason === undefined ? {} : { reason: options.reason }),
      headers,
      body: options.body ?? EMPTY,
    });
    try {
      transaction.respond(response);
    } catch (err) {
      this.#host.reportError(err, `responding ${status}`);
    }
  }

  /** The next hop for requests (§12.2.1.1, §18.1.1). */
  #destination(): TransportAddress {
    const first = this.#dialogState.routeSet[0];
    if (first === undefined && isStreamProtocol(this.flow.protocol)) return this.flow;
    return nextHopOf(first === undefined ? this.#dialogState.remoteTarget : parseNameAddr(first).uri);
  }
}
