import type { Logger } from 'pino';
import { ALLOW_HEADER, KNOWN_UNSUPPORTED_METHODS } from '../dialog/dialog-methods.js';
import type { RequestOrigin } from '../dialog/dialog-request.js';
import { dialogId } from '../dialog/dialog-state.js';
import { GuardedEmitter } from '../dialog/guarded-emitter.js';
import type { InviteSession } from '../dialog/invite-session.js';
import {
  createParseErrorResponse,
  createSipResponse,
  parseCSeq,
  parseNameAddr,
  parseSipMessage,
  parseVia,
  SipParseError,
  type SipRequest,
  type SipResponse,
} from '../message/index.js';
import {
  cancelledInviteKey,
  readIncomingRequest,
  responseAddressOf,
  type IncomingRequest,
} from '../transaction/incoming-request.js';
import type { InviteServerTransaction } from '../transaction/invite-server-transaction.js';
import { newTag } from '../transaction/sip-identifiers.js';
import type { SipClock, TimerValues } from '../transaction/sip-timers.js';
import { TransactionLayer, type ServerTransaction } from '../transaction/transaction-layer.js';
import type { SipTransportEvents, TransportAddress, TransportProtocol } from '../transport/sip-transport.js';
import type { InboundDigestAuth } from './inbound-digest-auth.js';
import { InboundInvite, type IncomingInvite } from './incoming-invite.js';
import { OutboundInvite, type InviteOptions, type OutgoingInvite } from './outgoing-invite.js';
import type { UserAgentCore } from './user-agent-core.js';

export type { InviteSession } from '../dialog/invite-session.js';
export type { IncomingInvite } from './incoming-invite.js';
export type { OutgoingInvite, InviteOptions } from './outgoing-invite.js';

/** The part of `SipTransport` the user agent uses (tests pass an in-memory one). */
export interface SipUserAgentTransport {
  send(message: Buffer, to: TransportAddress): Promise<void>;
  on<K extends keyof SipTransportEvents>(event: K, listener: (...args: SipTransportEvents[K]) => void): unknown;
  off<K extends keyof SipTransportEvents>(event: K, listener: (...args: SipTransportEvents[K]) => void): unknown;
}

/** What a source filter must answer (`SourceFilter` from SIP_ALLOW). */
export interface SourcePolicy {
  allows(address: string): boolean;
}

export interface SipUserAgentOptions {
  /** Started by the caller before `start()`; the user agent only listens and sends. */
  readonly transport: SipUserAgentTransport;
  /** Sources outside it get 403 (no User-Agent/Server line) or, if unanswerable, nothing. */
  readonly allow: SourcePolicy;
  /**
   * SIP_AUTH_USERS: an INVITE from outside `allow` is challenged (401)
   * instead of refused, and served once its Digest credentials verify; so
   * are the requests of its transactions and dialogs. Default: none (403).
   */
  readonly inboundAuth?: InboundDigestAuth | undefined;
  /** Host and port for Via sent-by, Contact and Call-IDs: the address the transport listens on. */
  readonly contactHost: string;
  /** A function when the port is only known once the transport listens (port 0: one picked for us). */
  readonly contactPort: number | (() => number);
  /** The TLS listener's port, for Via and Contact over TLS. Default: `contactPort`. */
  readonly contactTlsPort?: number | (() => number) | undefined;
  /** User-Agent value for our requests and Server value for our responses. Default: none sent. */
  readonly userAgent?: string;
  /** T1, T2, T4. Default 500 ms, 4 s, 5 s (RFC 3261 Appendix A). */
  readonly timers?: Partial<TimerValues>;
  /** Where SIP timers run. Default: Node's timers (tests inject a fake clock). */
  readonly clock?: SipClock;
  /** Default: no logging. Never given message bodies (an INFO body is a key press). */
  readonly logger?: Logger;
  /**
   * Server transactions alive at once. Each outlives its final response by
   * 64·T1 (32 s over UDP), so a flood would otherwise hold memory in
   * proportion to its rate; beyond the cap a new request outside any dialog
   * gets a stateless 503 with Retry-After, while requests in a dialog we
   * have (a call's keys, its BYE) are still served. Default 20 000.
   */
  readonly maxServerTransactions?: number;
}

/** Message counts since construction. */
export interface SipUserAgentCounters {
  /** Every message the transport delivered. */
  received: number;
  /** Messages the parser refused. */
  malformed: number;
  /** Refused requests answered 400 (or 505). */
  answered400: number;
  /** Refused messages that could not be answered, plus traffic the transport refused (oversized, framing). */
  dropped: number;
  /** Messages from sources outside SIP_ALLOW (requests answered 403). */
  forbidden: number;
  /** INVITEs from outside SIP_ALLOW answered 401 (SIP_AUTH_USERS). */
  challenged: number;
  /** INVITEs from outside SIP_ALLOW whose Digest credentials verified. */
  authenticated: number;
  /** Digest credentials refused (each counts towards the lock-out). */
  authFailures: number;
  /** INVITEs refused (403) because their user or source is locked out. */
  lockedOut: number;
  /** Responses that matched no transaction or dialog, discarded (§18.1.2, §17.1.3). */
  stray: number;
  /** New requests outside a dialog answered 503 statelessly: `maxServerTransactions` were alive. */
  overloaded: number;
  /**
   * Requests that reused the Via branch of a live server transaction with a
   * new CSeq number (a SIPp loop), served as new requests, not taken for
   * retransmissions.
   */
  branchReused: number;
}

export interface SipUserAgentEvents {
  invite: [invite: IncomingInvite];
  /** A message that was refused without an answer: malformed and unanswerable, oversized, unframeable. */
  dropped: [reason: string, source: TransportAddress];
}

const SDP = 'application/sdp';

/** An inbound INVITE whose transaction lives: the invite until its final response, and its To tag. */
interface PendingInvite {
  invite: InboundInvite | undefined;
  localTag: string;
}

function tagOf(value: string | undefined): string {
  if (value === undefined) return '';
  try {
    return parseNameAddr(value).params.get('tag') ?? '';
  } catch {
    return '';
  }
}

/**
 * The user agent core (RFC 3261 §8, §12–15, §17–18): parses what the
 * transport delivers, keeps the transaction layer and the dialogs, answers
 * what the call layer does not need to see, and hands it new INVITEs.
 * Nothing a peer sends — malformed bytes, unknown dialogs, a listener that
 * throws — can stop it serving the other calls.
 */
export class SipUserAgent extends GuardedEmitter<SipUserAgentEvents> {
  readonly #transport: SipUserAgentTransport;
  readonly #allow: SourcePolicy;
  readonly #inboundAuth: InboundDigestAuth | undefined;
  readonly #logger: Logger | undefined;
  readonly #transactions: TransactionLayer;
  #origins: Readonly<Record<TransportProtocol | 'sips', RequestOrigin>> | undefined;
  readonly #makeOrigins: () => Readonly<Record<TransportProtocol | 'sips', RequestOrigin>>;
  readonly #responseHeaders: ReadonlyArray<readonly [string, string]>;
  readonly #core: UserAgentCore;
  readonly #maxServerTransactions: number;
  readonly #dialogs = new Map<string, InviteSession>();
  /** Inbound INVITE transactions by key (CANCEL finds them): the invite until its final response, then its To tag. */
  readonly #inboundInvites = new Map<string, PendingInvite>();
  /** Live inbound INVITE transactions by Call-ID, From tag and CSeq: the merged-request check (§8.2.2.2). */
  readonly #mergeKeys = new Map<string, string>();
  readonly #outboundInvites = new Set<OutboundInvite>();
  readonly #counters: SipUserAgentCounters = {
    received: 0,
    malformed: 0,
    answered400: 0,
    dropped: 0,
    forbidden: 0,
    challenged: 0,
    authenticated: 0,
    authFailures: 0,
    lockedOut: 0,
    stray: 0,
    overloaded: 0,
    branchReused: 0,
  };
  #accepting = true;
  #started = false;

  readonly #onMessage = (message: Buffer, source: TransportAddress): void => this.#receive(message, source);
  readonly #onDropped = (reason: string, source: TransportAddress): void => this.#drop(reason, source);
  readonly #onTransportError = (err: Error): void => this.#reportError(err, 'transport');

  constructor(options: SipUserAgentOptions) {
    super();
    this.#transport = options.transport;
    this.#allow = options.allow;
    this.#inboundAuth = options.inboundAuth;
    this.#logger = options.logger;
    this.#maxServerTransactions = options.maxServerTransactions ?? 20_000;
    this.#transactions = new TransactionLayer({
      send: (message, to) => this.#transport.send(message, to),
      ...(options.timers ? { timers: options.timers } : {}),
      ...(options.clock ? { clock: options.clock } : {}),
      onStatelessError: (err) => this.#reportError(err, 'stateless send'),
      onBranchReused: (request) => {
        this.#counters.branchReused++;
        this.#logger?.debug({ method: request.message.method, cseq: request.cseq.seq, source: request.source }, 'sip: Via branch reused with a new CSeq, served as a new request');
      },
    });
    const host = options.contactHost.includes(':') ? `[${options.contactHost}]` : options.contactHost;
    // Built on first use, once the transport has its port (Via and Contact must name the real one).
    const portOf = (port: number | (() => number)): number => (typeof port === 'function' ? port() : port);
    this.#makeOrigins = () => {
      const port = portOf(options.contactPort);
      const tlsPort = portOf(options.contactTlsPort ?? options.contactPort);
      const origin = (viaPort: number, contact: string): RequestOrigin => ({
        viaHost: options.contactHost,
        viaPort,
        contact: `<${contact}>`,
        userAgent: options.userAgent,
      });
      return {
        udp: origin(port, `sip:${host}:${port}`),
        tcp: origin(port, `sip:${host}:${port};transport=tcp`),
        // RFC 5630 §3.1.3 deprecates transport=tls, yet a sip: Contact reachable only over TLS
        // needs it (a peer would otherwise try UDP); SIPS dialogs get a sips: Contact.
        tls: origin(tlsPort, `sip:${host}:${tlsPort};transport=tls`),
        sips: origin(tlsPort, `sips:${host}:${tlsPort}`),
      };
    };
    this.#responseHeaders = options.userAgent === undefined ? [] : [['Server', options.userAgent]];
    const dialogs = this.#dialogs;
    const core: UserAgentCore = {
      transactions: this.#transactions,
      origin: (protocol, secure = false) => (this.#origins ??= this.#makeOrigins())[secure && protocol === 'tls' ? 'sips' : protocol],
      responseHeaders: this.#responseHeaders,
      allowHeader: ALLOW_HEADER,
      forget: (dialog) => {
        if (dialogs.get(dialog.id) === dialog) dialogs.delete(dialog.id);
      },
      register: (dialog) => {
        dialogs.set(dialog.id, dialog);
      },
      reportError: (err, context) => this.#reportError(err, context),
    };
    this.#core = core;
  }

  /** Counts since construction (a live view). */
  get counters(): Readonly<SipUserAgentCounters> {
    return this.#counters;
  }

  /** Dialogs alive now. */
  get dialogCount(): number {
    return this.#dialogs.size;
  }

  /** The transaction layer, for gauges and tests. */
  get transactions(): TransactionLayer {
    return this.#transactions;
  }

  /** Starts listening to the transport (which the caller has started). */
  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    this.#transport.on('message', this.#onMessage);
    this.#transport.on('dropped', this.#onDropped);
    this.#transport.on('error', this.#onTransportError);
  }

  /**
   * Stops listening and ends every transaction and timer. Sends no BYE:
   * hang up the calls first. Pending `accept()` and `invite()` promises
   * reject; dialogs are disposed without 'ended'.
   */
  async stop(): Promise<void> {
    if (!this.#started) return;
    this.#started = false;
    this.#transport.off('message', this.#onMessage);
    this.#transport.off('dropped', this.#onDropped);
    this.#transport.off('error', this.#onTransportError);
    for (const invite of [...this.#outboundInvites]) invite.dispose();
    for (const dialog of [...this.#dialogs.values()]) dialog.dispose();
    this.#inboundInvites.clear();
    this.#mergeKeys.clear();
    this.#transactions.dispose();
  }

  /** False: new INVITEs get 503 (§21.5.4) while calls in progress go on. */
  setAcceptingCalls(accepting: boolean): void {
    this.#accepting = accepting;
  }

  /** Sends an INVITE outside any dialog (§13.2). Never throws: a bad target rejects `dialog`. */
  invite(target: string, options: InviteOptions): OutgoingInvite {
    const invite = new OutboundInvite(this.#core, target, options, (settled) => this.#outboundInvites.delete(settled));
    // One that settled at once (a target that does not parse) has nothing to clean up on stop().
    if (!invite.settled) this.#outboundInvites.add(invite);
    return invite;
  }

  protected override onListenerError(error: unknown, event: string): void {
    this.#reportError(error, `user agent '${event}' listener`);
  }

  // ——— receiving ———

  #receive(bytes: Buffer, source: TransportAddress): void {
    this.#counters.received++;
    try {
      const allowed = this.#allow.allows(source.address);
      let message;
      try {
        message = parseSipMessage(bytes, { transport: source.protocol });
      } catch (err) {
        if (!(err instanceof SipParseError)) throw err;
        this.#onParseError(err, source, allowed);
        return;
      }
      if (!allowed) {
        if (this.#inboundAuth && message.kind === 'request') this.#fromOutsider(message, source, this.#inboundAuth);
        else this.#forbidden(message, source);
        return;
      }
      if (message.kind === 'response') this.#onResponse(message, source);
      else this.#onRequest(readIncomingRequest(message, source));
    } catch (err) {
      this.#reportError(err, 'processing a SIP message');
    }
  }

  /**
   * A message the parser refused: a request whose Via, From, To, Call-ID
   * and CSeq were read gets 400 (505 for another SIP version, §21.5.7) sent
   * where its Via says (§18.2.2); anything else is dropped and counted.
   */
  #onParseError(error: SipParseError, source: TransportAddress, allowed: boolean): void {
    this.#counters.malformed++;
    if (!allowed) {
      this.#counters.forbidden++;
      return;
    }
    const response = createParseErrorResponse(error, { toTag: newTag() });
    if (!response) {
      this.#drop(error.reason, source);
      return;
    }
    let to = source;
    try {
      to = responseAddressOf(parseVia(error.headers?.get('Via') as string), source);
    } catch {
      // The Via is what was malformed: answer the packet's source.
    }
    this.#counters.answered400++;
    this.#transactions.sendStateless(response, to);
  }

  /** A source outside SIP_ALLOW: 403 to a request (never to an ACK), nothing else; no Server line. */
  #forbidden(message: SipRequest | SipResponse, source: TransportAddress): void {
    this.#counters.forbidden++;
    if (message.kind !== 'request' || message.method === 'ACK') return;
    const to = responseAddressOf(parseVia(message.headers.get('Via') as string), source);
    this.#transactions.sendStateless(createSipResponse(message, 403, { toTag: newTag() }), to);
  }

  /**
   * A request from outside SIP_ALLOW with SIP_AUTH_USERS set: served if it
   * belongs to a transaction or dialog we have (its INVITE was let in: a
   * retransmission, the ACK of our 401, a CANCEL, the call's BYE or keys); a
   * new INVITE is served once its credentials verify, else challenged (401,
   * §22.2), or refused (403) once its user or source is locked out; anything
   * else is forbidden as without SIP_AUTH_USERS.
   */
  #fromOutsider(request: SipRequest, source: TransportAddress, auth: InboundDigestAuth): void {
    const incoming = readIncomingRequest(request, source);
    if (this.#transactions.receiveRequest(incoming)) return;
    const headers = request.headers;
    const toTag = tagOf(headers.get('To'));
    const inDialog = toTag !== '' && this.#dialogs.has(dialogId(headers.get('Call-ID') as string, toTag, tagOf(headers.get('From'))));
    const cancelling = request.method === 'CANCEL' && this.#transactions.findCancelledInvite(incoming) !== undefined;
    if (inDialog || cancelling) {
      this.#onRequest(incoming);
      return;
    }
    if (request.method !== 'INVITE' || toTag !== '') {
      this.#forbidden(request, source);
      return;
    }
    const verdict = auth.check({ method: request.method, uri: request.uri, authorization: headers.get('Authorization') }, source.address);
    const where = `${source.protocol}:${source.address}:${source.port}`;
    switch (verdict.kind) {
      case 'authenticated':
        this.#counters.authenticated++;
        this.#logger?.info({ username: verdict.username, source: where }, 'sip: INVITE from outside SIP_ALLOW authenticated (Digest)');
        this.#onRequest(incoming);
        return;
      case 'challenge':
        this.#counters.challenged++;
        if (verdict.failure !== undefined) {
          this.#counters.authFailures++;
          this.#logger?.warn({ username: verdict.username, source: where, reason: verdict.failure }, 'sip: Digest credentials refused');
        }
        this.#answer(incoming, 401, auth.challenges(source.address, verdict.stale).map((value) => ['WWW-Authenticate', value] as const));
        return;
      case 'locked-out':
        this.#counters.lockedOut++;
        if (verdict.failure !== undefined) this.#counters.authFailures++;
        this.#logger?.warn(
          { username: verdict.username, source: where, reason: verdict.failure, retryAfterS: Math.ceil(verdict.retryAfterMs / 1000) },
          'sip: INVITE refused, too many failed Digest logins (locked out)',
        );
        this.#forbidden(request, source);
    }
  }

  #drop(reason: string, source: TransportAddress): void {
    this.#counters.dropped++;
    this.emitSafely('dropped', reason, source);
  }

  #onResponse(response: SipResponse, source: TransportAddress): void {
    // §18.1.2 / §17.1.3: a response goes to the client transaction whose branch and method it carries.
    if (this.#transactions.receiveResponse(response)) return;
    // A 2xx to an INVITE retransmitted after its transaction ended still gets its ACK (§13.2.2.4).
    if (response.status >= 200 && response.status < 300 && parseCSeq(response.headers.get('CSeq') as string).method === 'INVITE') {
      const id = dialogId(
        response.headers.get('Call-ID') as string,
        tagOf(response.headers.get('From')),
        tagOf(response.headers.get('To')),
      );
      const dialog = this.#dialogs.get(id);
      if (dialog) {
        dialog.receiveInviteSuccess(response);
        return;
      }
    }
    this.#counters.stray++;
    this.#logger?.debug({ status: response.status, source }, 'sip: stray response discarded');
  }

  #onRequest(incoming: IncomingRequest): void {
    const request = incoming.message;
    // §17.2.3: a retransmission, or the ACK of a 300–699, belongs to its transaction.
    if (this.#transactions.receiveRequest(incoming)) return;
    const method = request.method;
    if (method === 'ACK') {
      this.#onAck(incoming);
      return;
    }
    // Max-Forwards 0: "483 (Too Many Hops)" (§16.3 step 3, §20.22); answered statelessly.
    if (request.headers.get('Max-Forwards') === '0') {
      this.#transactions.sendStateless(this.#response(request, 483, { toTag: newTag() }), incoming.responseAddress);
      return;
    }
    // §8.2.2.1: "If the Request-URI uses a scheme not supported by the UAS, it SHOULD reject the request with a 416".
    if (!/^sips?:/i.test(request.uri)) {
      this.#answer(incoming, 416);
      return;
    }
    if (method === 'CANCEL') {
      this.#onCancel(incoming);
      return;
    }
    // §8.2.2.3: option tags in Require that we do not support → 420 listing them in Unsupported.
    const required = request.headers.getAll('Require');
    if (required.length > 0) {
      this.#answer(incoming, 420, [['Unsupported', required.join(', ')]]);
      return;
    }
    const toTag = tagOf(request.headers.get('To'));
    if (toTag !== '') {
      this.#onInDialogRequest(incoming, toTag);
      return;
    }
    switch (method) {
      case 'INVITE':
        this.#onInvite(incoming);
        return;
      case 'OPTIONS':
        // §11.2: the answer to OPTIONS "SHOULD" list Allow, Accept, Accept-Encoding, Accept-Language and Supported.
        this.#answer(incoming, this.#accepting ? 200 : 503, [
          ['Allow', ALLOW_HEADER],
          ['Accept', SDP],
          ['Accept-Encoding', 'identity'],
          ['Accept-Language', 'en'],
        ]);
        return;
      case 'BYE':
      case 'INFO':
      case 'REFER':
      case 'NOTIFY':
        // §15.1.2 (BYE), §12.2.2: a request that needs a dialog and names none we have → 481.
        this.#answer(incoming, 481);
        return;
      default:
        // §8.2.1: 405 with Allow for a method we know but do not do; 501 for one we do not know (§21.5.2).
        if (KNOWN_UNSUPPORTED_METHODS.has(method)) this.#answer(incoming, 405, [['Allow', ALLOW_HEADER]]);
        else this.#answer(incoming, 501);
    }
  }

  /** An ACK no transaction took: the ACK for a 2xx, which belongs to its dialog (§13.3.1.4, RFC 6026 §7.1). */
  #onAck(incoming: IncomingRequest): void {
    const headers = incoming.message.headers;
    const dialog = this.#dialogs.get(dialogId(headers.get('Call-ID') as string, tagOf(headers.get('To')), tagOf(headers.get('From'))));
    // §17.2.3 / §12.2.2: an ACK that matches nothing is discarded, never answered.
    dialog?.receiveAck(incoming);
  }

  /**
   * §9.2: the CANCEL is answered on its own transaction — 481 when no INVITE
   * transaction matches, else 200 — and an INVITE still without a final
   * response then gets 487 and its TU is told.
   */
  #onCancel(incoming: IncomingRequest): void {
    const invite = this.#transactions.findCancelledInvite(incoming);
    if (!invite) {
      this.#answer(incoming, 481);
      return;
    }
    // §9.2: "The To tag of the response to the CANCEL ... SHOULD be the same as the To tag in the response to the original request."
    const inbound = this.#inboundInvites.get(cancelledInviteKey(incoming));
    this.#answer(incoming, 200, [], inbound?.localTag || newTag());
    invite.cancel();
  }

  #onInDialogRequest(incoming: IncomingRequest, toTag: string): void {
    const headers = incoming.message.headers;
    const dialog = this.#dialogs.get(dialogId(headers.get('Call-ID') as string, toTag, tagOf(headers.get('From'))));
    if (!dialog) {
      // §12.2.2: "If the UAS wishes to reject the request because it does not wish to recreate
      // the dialog, it MUST respond to the request with a 481 (Call/Transaction Does Not Exist)".
      this.#answer(incoming, 481);
      return;
    }
    const transaction: ServerTransaction = this.#transactions.createServer(
      incoming,
      incoming.message.method === 'INVITE'
        ? { onCancel: () => dialog.cancelReinvite(transaction as InviteServerTransaction) }
        : {},
    );
    dialog.receiveRequest(incoming, transaction);
  }

  #onInvite(incoming: IncomingRequest): void {
    const request = incoming.message;
    const headers = request.headers;
    // §8.2.2.2: same From tag, Call-ID and CSeq as a transaction in progress, but another
    // transaction: a request that forked and came back → 482 (Loop Detected).
    const mergeKey = `${headers.get('Call-ID')}|${tagOf(headers.get('From'))}|${incoming.cseq.seq}`;
    const merged = this.#mergeKeys.get(mergeKey);
    if (merged !== undefined && merged !== incoming.transactionKey) {
      this.#answer(incoming, 482);
      return;
    }
    if (!this.#accepting) {
      this.#answer(incoming, 503);
      return;
    }
    // §8.1.1.8: "The Contact header field MUST be present and contain exactly one SIP or SIPS URI in any request that can result in the establishment of a dialog."
    try {
      parseNameAddr(headers.get('Contact') ?? '');
    } catch {
      this.#answer(incoming, 400, [], undefined, 'Bad Request (Contact)');
      return;
    }
    // §8.2.3: a body we cannot read → 415 with Accept.
    if (request.body.length > 0 && !(headers.get('Content-Type') ?? '').toLowerCase().startsWith(SDP)) {
      this.#answer(incoming, 415, [['Accept', SDP]]);
      return;
    }
    if (this.#overloaded(incoming)) return;
    // Until its final response the transaction reaches the invite through `entry`; after it, only the
    // To tag stays (a late CANCEL's 200 carries it), so a refused INVITE is not held for Timer H.
    const entry: PendingInvite = { invite: undefined, localTag: '' };
    const invite = new InboundInvite(this.#core, incoming, () => (entry.invite = undefined));
    entry.invite = invite;
    entry.localTag = invite.localTag;
    const key = incoming.transactionKey;
    this.#inboundInvites.set(key, entry);
    this.#mergeKeys.set(mergeKey, key);
    const transaction = this.#transactions.createServer(incoming, {
      onCancel: () => entry.invite?.cancelled(),
      onTerminated: () => {
        if (this.#inboundInvites.get(key) === entry) this.#inboundInvites.delete(key);
        if (this.#mergeKeys.get(mergeKey) === key) this.#mergeKeys.delete(mergeKey);
      },
      onTransportError: (err) => this.#reportError(err, 'answering an INVITE'),
    }) as InviteServerTransaction;
    invite.bind(transaction);
    if (this.emitSafely('invite', invite) === 0) invite.reject(480);
  }

  /** Answers a request on a new server transaction (so retransmissions get the same answer). */
  #answer(
    incoming: IncomingRequest,
    status: number,
    headers: ReadonlyArray<readonly [string, string]> = [],
    toTag: string | undefined = newTag(),
    reason?: string,
  ): void {
    if (this.#overloaded(incoming)) return;
    const transaction = this.#transactions.createServer(incoming);
    transaction.respond(this.#response(incoming.message, status, { toTag, headers, ...(reason === undefined ? {} : { reason }) }));
  }

  /**
   * At the transaction cap: answers 503 (§21.5.4) without a transaction, so
   * it costs nothing to keep, and says so. Retry-After asks the client to
   * wait (§20.33).
   */
  #overloaded(incoming: IncomingRequest): boolean {
    if (this.#transactions.serverCount < this.#maxServerTransactions) return false;
    this.#counters.overloaded++;
    const response = this.#response(incoming.message, 503, { toTag: newTag(), headers: [['Retry-After', '5']] });
    this.#transactions.sendStateless(response, incoming.responseAddress);
    return true;
  }

  #response(
    request: SipRequest,
    status: number,
    options: { toTag?: string | undefined; headers?: ReadonlyArray<readonly [string, string]>; reason?: string },
  ): SipResponse {
    return createSipResponse(request, status, {
      ...(options.toTag === undefined ? {} : { toTag: options.toTag }),
      ...(options.reason === undefined ? {} : { reason: options.reason }),
      headers: [...this.#responseHeaders, ...(options.headers ?? [])],
    });
  }

  #reportError(error: unknown, context: string): void {
    this.#logger?.warn({ err: error, context }, 'sip: error');
  }
}
