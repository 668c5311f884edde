import { SipFinalResponseError } from '../dialog/dialog-errors.js';
import { checkExtraHeaders, formatOwnVia } from '../dialog/dialog-request.js';
import { uacDialogState } from '../dialog/dialog-state.js';
import { GuardedEmitter } from '../dialog/guarded-emitter.js';
import { InviteSession } from '../dialog/invite-session.js';
import {
  formatNameAddr,
  parseNameAddr,
  SipHeaders,
  type SipRequest,
  type SipResponse,
} from '../message/index.js';
import type { InviteClientTransaction } from '../transaction/invite-client-transaction.js';
import { nextHopOf } from '../transaction/next-hop.js';
import { newBranch, newCallId, newTag } from '../transaction/sip-identifiers.js';
import { transactionTimeout, type SipTimerHandle } from '../transaction/sip-timers.js';
import { InvalidStateError, SipTimeoutError, SipTransportError } from '../transaction/transaction-errors.js';
import type { TransportAddress } from '../transport/sip-transport.js';
import { chooseDigestChallenge, digestAuthorization, type DigestCredentials } from './digest-authorization.js';
import type { UserAgentCore } from './user-agent-core.js';
import { SipCancelledError, SipUserAgentStoppedError } from './user-agent-errors.js';

export interface InviteOptions {
  /** Our identity (From): a SIP URI or name-addr; our tag is added. Default `<sip:ivr@contactHost:contactPort>`. */
  readonly from?: string;
  /** Extra header lines (not Via, From, To, Call-ID, CSeq, Route, Content-*). */
  readonly headers?: Readonly<Record<string, string>>;
  /** The SDP offer. */
  readonly sdp: string;
  /** Without a final response by then, the INVITE is cancelled and `dialog` rejects with `SipTimeoutError`. Default 180 000 ms. */
  readonly timeoutMs?: number;
  /**
   * Answers a 401 or 407 once (RFC 3261 §22.2, §22.3): the INVITE is sent
   * again with a new CSeq and branch and the Digest response. A second
   * challenge (wrong credentials) settles like any 4xx. Default: none, a
   * challenge settles the INVITE.
   */
  readonly credentials?: DigestCredentials | undefined;
}

export interface OutgoingInviteEvents {
  /** A 1xx arrived (100 included). */
  provisional: [status: number, response: SipResponse];
}

/** An INVITE we sent outside any dialog. */
export interface OutgoingInvite {
  /** The INVITE as last sent (with credentials, after a challenge). */
  readonly request: SipRequest;
  /**
   * Resolves with the dialog once the 2xx is ACKed. Rejects with
   * `SipFinalResponseError` (3xx–6xx), `SipTimeoutError` (Timer B, or
   * `timeoutMs` without an answer), `SipCancelledError` (after `cancel()`),
   * `SipTransportError`, or the error that kept the INVITE from being built.
   */
  readonly dialog: Promise<InviteSession>;
  /** The 2xx that made the dialog, once it came. */
  readonly answer: SipResponse | undefined;
  /** Cancels the INVITE (§9.1): at once after a provisional, else as soon as one arrives. */
  cancel(): void;
  on(event: 'provisional', listener: (status: number, response: SipResponse) => void): this;
  once(event: 'provisional', listener: (status: number, response: SipResponse) => void): this;
  off(event: 'provisional', listener: (status: number, response: SipResponse) => void): this;
}

/**
 * Where an outbound INVITE is:
 *
 *   calling    → proceeding   a 1xx
 *   calling    → calling      a 401/407 answered: the INVITE sent again with credentials
 *   calling    → settled      final response, timeout, transport error
 *   proceeding → calling      a 401/407 after a 1xx, answered
 *   proceeding → settled
 */
type OutboundInviteState = 'calling' | 'proceeding' | 'settled';

const TRANSITIONS: Readonly<Record<OutboundInviteState, readonly OutboundInviteState[]>> = {
  calling: ['proceeding', 'calling', 'settled'],
  proceeding: ['calling', 'settled'],
  settled: [],
};

/** §22.2 / §22.3: the challenge header of each status, and the header that answers it. */
const CHALLENGES: Readonly<Record<number, readonly [challenge: string, answer: string]>> = {
  401: ['WWW-Authenticate', 'Authorization'],
  407: ['Proxy-Authenticate', 'Proxy-Authorization'],
};

const DEFAULT_TIMEOUT_MS = 180_000;
const EMPTY = Buffer.alloc(0);

/** The UAC side of an INVITE outside a dialog (RFC 3261 §13.2) over its INVITE client transaction. */
export class OutboundInvite extends GuardedEmitter<OutgoingInviteEvents> implements OutgoingInvite {
  readonly dialog: Promise<InviteSession>;
  #answer: SipResponse | undefined;
  readonly #core: UserAgentCore;
  readonly #onSettled: (invite: OutboundInvite) => void;
  #state: OutboundInviteState = 'calling';
  #request: SipRequest;
  #cseq = 1;
  readonly #credentials: DigestCredentials | undefined;
  #challengeAnswered = false;
  #destination: TransportAddress | undefined;
  #transaction: InviteClientTransaction | undefined;
  #established: InviteSession | undefined;
  /** Why we cancel; set once. */
  #cancelCause: 'explicit' | 'timeout' | undefined;
  #cancelSent = false;
  #ringTimer: SipTimerHandle | undefined;
  #cancelTimer: SipTimerHandle | undefined;
  #resolve!: (dialog: InviteSession) => void;
  #reject!: (error: Error) => void;

  constructor(core: UserAgentCore, target: string, options: InviteOptions, onSettled: (invite: OutboundInvite) => void) {
    super();
    this.#core = core;
    this.#onSettled = onSettled;
    this.#credentials = options.credentials;
    this.dialog = new Promise<InviteSession>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    // The caller may never await it (a cancelled dial); an unobserved rejection must not crash the process.
    this.dialog.catch(() => undefined);
    let request: SipRequest;
    try {
      this.#destination = nextHopOf(target);
      request = this.#build(target, options, this.#destination);
    } catch (err) {
      this.#request = { kind: 'request', method: 'INVITE', uri: target, headers: new SipHeaders(), body: EMPTY };
      this.#settle(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    this.#request = request;
    this.#ringTimer = core.transactions.clock.setTimer(() => {
      this.#ringTimer = undefined;
      this.#cancel('timeout');
    }, options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    this.#send(request);
  }

  get answer(): SipResponse | undefined {
    return this.#answer;
  }

  get request(): SipRequest {
    return this.#request;
  }

  #send(request: SipRequest): void {
    this.#transaction = this.#core.transactions.sendRequest(request, this.#destination as TransportAddress, {
      onResponse: (response) => this.#onResponse(response),
      onTimeout: () => this.#settle(this.#cancelError() ?? new SipTimeoutError('INVITE')),
      onTransportError: (error) => this.#settle(new SipTransportError('INVITE could not be sent', { cause: error })),
    }) as InviteClientTransaction;
  }

  cancel(): void {
    this.#cancel('explicit');
  }

  /** True once `dialog` has resolved or rejected. */
  get settled(): boolean {
    return this.#state === 'settled';
  }

  /** @internal The user agent is stopping. */
  dispose(): void {
    this.#settle(new SipUserAgentStoppedError());
  }

  protected override onListenerError(error: unknown, event: string): void {
    this.#core.reportError(error, `outgoing INVITE '${event}' listener`);
  }

  #transition(to: OutboundInviteState): void {
    if (!TRANSITIONS[this.#state].includes(to)) throw new InvalidStateError('OutgoingInvite', this.#state, to);
    this.#state = to;
  }

  /**
   * The INVITE (§8.1.1, §13.2.1): Request-URI and To = target, From = us
   * with a new tag, a new Call-ID, CSeq 1, Via with a new branch,
   * Max-Forwards 70, Contact, Allow, the offer.
   */
  #build(target: string, options: InviteOptions, destination: TransportAddress): SipRequest {
    checkExtraHeaders(options.headers);
    // §8.1.1.8: "If the Request-URI or top Route header field value contains a SIPS URI, the Contact header field MUST contain a SIPS URI as well."
    const origin = this.#core.origin(destination.protocol, /^sips:/i.test(target));
    const from = parseNameAddr(options.from ?? `sip:ivr@${origin.viaHost.includes(':') ? `[${origin.viaHost}]` : origin.viaHost}:${origin.viaPort}`);
    from.params.set('tag', newTag());
    const headers = new SipHeaders();
    headers.append('Via', formatOwnVia(origin, destination.protocol, newBranch()));
    headers.append('Max-Forwards', '70');
    headers.append('From', formatNameAddr(from));
    headers.append('To', `<${target}>`);
    headers.append('Call-ID', newCallId(origin.viaHost));
    headers.append('CSeq', '1 INVITE');
    if (origin.contact !== undefined) headers.append('Contact', origin.contact);
    if (origin.userAgent !== undefined) headers.append('User-Agent', origin.userAgent);
    headers.append('Allow', this.#core.allowHeader);
    if (options.headers) for (const [name, value] of Object.entries(options.headers)) headers.append(name, value);
    headers.append('Content-Type', 'application/sdp');
    return { kind: 'request', method: 'INVITE', uri: target, headers, body: Buffer.from(options.sdp, 'utf8') };
  }

  #onResponse(response: SipResponse): void {
    const status = response.status;
    if (status < 200) {
      if (this.#state === 'calling') this.#transition('proceeding');
      if (this.#state === 'settled') return;
      this.emitSafely('provisional', status, response);
      // §9.1: a CANCEL asked for before any provisional goes out now.
      if (this.#cancelCause && !this.#cancelSent) this.#sendCancel();
      return;
    }
    if (status >= 300) {
      // The transaction has ACKed it (§17.1.1.3).
      if (this.#answerChallenge(response)) return;
      this.#settle(this.#cancelError() ?? new SipFinalResponseError('INVITE', response));
      return;
    }
    const existing = this.#established;
    if (existing) {
      // A retransmitted 2xx (RFC 6026 §7.2): the same ACK again. A 2xx from another fork is ignored.
      if (response.headers.get('To') === existing.remoteParty) existing.receiveInviteSuccess(response);
      return;
    }
    if (this.#state === 'settled') return;
    let dialog: InviteSession;
    try {
      dialog = new InviteSession({
        role: 'uac',
        host: this.#core,
        state: uacDialogState(this.request, response, this.#cseq, this.#destination?.protocol === 'tls'),
        remoteSdp: response.body.toString('utf8'),
        localSdp: this.request.body.toString('utf8'),
        flow: this.#destination as TransportAddress,
        inviteCredentials: this.#credentialLines(),
      });
    } catch (err) {
      this.#settle(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    this.#established = dialog;
    this.#answer = response;
    this.#core.register(dialog);
    // §13.2.2.4: "The UAC core MUST generate an ACK request for each 2xx received".
    dialog.receiveInviteSuccess(response);
    const cancelled = this.#cancelError();
    if (cancelled) {
      // The 2xx crossed our CANCEL: the call exists, so end it (§15: BYE after the ACK).
      void dialog.bye();
      this.#settle(cancelled);
      return;
    }
    this.#settle(undefined, dialog);
  }

  /**
   * A 401 or 407 we have credentials for, and have not answered yet: the
   * INVITE again (§22.2: "with the same Call-ID, From tag and To header
   * field", the CSeq "incremented by one", a new branch since it is a new
   * transaction), with the Digest answer to the strongest challenge. True
   * when it went out.
   */
  #answerChallenge(response: SipResponse): boolean {
    const headers = CHALLENGES[response.status];
    const credentials = this.#credentials;
    if (!headers || !credentials || this.#challengeAnswered || this.#cancelCause || this.#state === 'settled') return false;
    const challenge = chooseDigestChallenge(response.headers.getAll(headers[0]));
    if (!challenge) return false;
    this.#challengeAnswered = true;
    const previous = this.#request;
    this.#cseq++;
    const request: SipRequest = { ...previous, headers: previous.headers.clone() };
    const origin = this.#core.origin((this.#destination as TransportAddress).protocol, /^sips:/i.test(previous.uri));
    request.headers.replaceFirst('Via', formatOwnVia(origin, (this.#destination as TransportAddress).protocol, newBranch()));
    request.headers.replaceFirst('CSeq', `${this.#cseq} INVITE`);
    request.headers.append(headers[1], digestAuthorization(challenge, credentials, { method: 'INVITE', uri: previous.uri, body: previous.body, nonceCount: 1 }));
    this.#request = request;
    this.#transition('calling');
    this.#send(request);
    return true;
  }

  /** The INVITE's Authorization / Proxy-Authorization lines, for its ACK; undefined without. */
  #credentialLines(): Record<string, string> | undefined {
    const lines: Record<string, string> = {};
    for (const name of ['Authorization', 'Proxy-Authorization']) {
      const value = this.#request.headers.get(name);
      if (value !== undefined) lines[name] = value;
    }
    return Object.keys(lines).length > 0 ? lines : undefined;
  }

  #cancel(cause: 'explicit' | 'timeout'): void {
    if (this.#state === 'settled' || this.#cancelCause) return;
    this.#cancelCause = cause;
    // §9.1: "If no provisional response has been received, the CANCEL request MUST NOT be sent;
    // rather, the client MUST wait for the arrival of a provisional response before sending".
    if (this.#state === 'proceeding') this.#sendCancel();
  }

  /**
   * CANCEL (§9.1): Request-URI, Call-ID, To, From and CSeq number of the
   * INVITE, method CANCEL; "a single Via header field value matching the top
   * Via value in the request being cancelled"; the same Route lines; to the
   * same destination.
   */
  #sendCancel(): void {
    const invite = this.request;
    const transaction = this.#transaction;
    if (!transaction || !this.#destination) return;
    this.#cancelSent = true;
    const headers = new SipHeaders();
    headers.append('Via', invite.headers.get('Via') as string);
    for (const route of invite.headers.getLines('Route')) headers.append('Route', route);
    headers.append('Max-Forwards', '70');
    headers.append('From', invite.headers.get('From') as string);
    headers.append('To', invite.headers.get('To') as string);
    headers.append('Call-ID', invite.headers.get('Call-ID') as string);
    headers.append('CSeq', `${this.#cseq} CANCEL`);
    const cancel: SipRequest = { kind: 'request', method: 'CANCEL', uri: invite.uri, headers, body: EMPTY };
    const ignore = (): void => undefined;
    try {
      this.#core.transactions.sendRequest(cancel, this.#destination, { onResponse: ignore, onTimeout: ignore, onTransportError: ignore });
    } catch (err) {
      this.#core.reportError(err, 'sending CANCEL');
    }
    // §9.1: "If there is no final response for the original request in 64*T1 seconds ... the
    // client SHOULD then consider the original transaction cancelled and SHOULD destroy the client transaction".
    this.#cancelTimer = this.#core.transactions.clock.setTimer(() => {
      this.#cancelTimer = undefined;
      transaction.abandon();
      this.#settle(this.#cancelError() ?? new SipCancelledError());
    }, transactionTimeout(this.#core.transactions.timers));
  }

  #cancelError(): Error | undefined {
    if (this.#cancelCause === 'explicit') return new SipCancelledError();
    if (this.#cancelCause === 'timeout') return new SipTimeoutError('INVITE', 'not answered in time');
    return undefined;
  }

  #settle(error: Error | undefined, dialog?: InviteSession): void {
    if (this.#state === 'settled') return;
    this.#transition('settled');
    const clock = this.#core.transactions.clock;
    if (this.#ringTimer !== undefined) clock.clearTimer(this.#ringTimer);
    if (this.#cancelTimer !== undefined) clock.clearTimer(this.#cancelTimer);
    this.#ringTimer = this.#cancelTimer = undefined;
    this.#onSettled(this);
    if (dialog) this.#resolve(dialog);
    else this.#reject(error ?? new Error('INVITE failed'));
  }
}
