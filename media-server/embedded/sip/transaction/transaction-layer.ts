import {
  parseCSeq,
  parseVia,
  serializeSipMessage,
  SipSyntaxError,
  type SipMessage,
  type SipRequest,
  type SipResponse,
} from '../message/index.js';
import type { TransportAddress } from '../transport/sip-transport.js';
import type { ClientTransactionUser } from './client-transaction-user.js';
import { branchMatchKey, cancelledInviteKey, type IncomingRequest } from './incoming-request.js';
import { InviteClientTransaction } from './invite-client-transaction.js';
import { InviteServerTransaction, type ServerTransactionUser } from './invite-server-transaction.js';
import { NonInviteClientTransaction } from './non-invite-client-transaction.js';
import { NonInviteServerTransaction } from './non-invite-server-transaction.js';
import { systemClock, timerValues, type SipClock, type TimerValues } from './sip-timers.js';
import type { TransactionContext } from './sip-transaction.js';
import { SipUnsupportedError } from './transaction-errors.js';

export type ServerTransaction = InviteServerTransaction | NonInviteServerTransaction;
export type ClientTransaction = InviteClientTransaction | NonInviteClientTransaction;

export interface TransactionLayerOptions {
  /** Hands serialised bytes to the transport (`SipTransport.send`). */
  readonly send: (message: Buffer, to: TransportAddress) => Promise<void>;
  /** T1, T2, T4. Default `DEFAULT_TIMER_VALUES` (500 ms, 4 s, 5 s). */
  readonly timers?: Partial<TimerValues>;
  /** Where every SIP timer runs. Default `systemClock`; tests pass a fake. */
  readonly clock?: SipClock;
  /** A stateless send (ACK for a 2xx, a response outside any transaction) failed. Default: ignored. */
  readonly onStatelessError?: (error: unknown, to: TransportAddress) => void;
  /**
   * A new request came with the Via branch (and sent-by and method) of a
   * live server transaction but another CSeq number: served as a new
   * request (see `serverTransactionKey`). Default: ignored.
   */
  readonly onBranchReused?: (request: IncomingRequest) => void;
}

/**
 * The transaction layer (RFC 3261 §17): owns every transaction, matches
 * requests to server transactions (§17.2.3, and the CSeq number: a request
 * that reuses a live transaction's branch with a new CSeq is a new request,
 * see `serverTransactionKey`) and responses to client transactions
 * (§17.1.3), and is the one place the transport sender, the clock and the
 * timer values come from.
 */
export class TransactionLayer {
  readonly timers: TimerValues;
  readonly clock: SipClock;
  readonly #context: TransactionContext;
  readonly #send: (message: Buffer, to: TransportAddress) => Promise<void>;
  readonly #onStatelessError: (error: unknown, to: TransportAddress) => void;
  readonly #onBranchReused: ((request: IncomingRequest) => void) | undefined;
  readonly #servers = new Map<string, ServerTransaction>();
  /** Live server transactions per §17.2.3 match (`branchMatchKey`), only to notice a reused branch. */
  readonly #branches = new Map<string, number>();
  readonly #clients = new Map<string, ClientTransaction>();

  constructor(options: TransactionLayerOptions) {
    this.timers = timerValues(options.timers);
    this.clock = options.clock ?? systemClock;
    this.#send = options.send;
    this.#onStatelessError = options.onStatelessError ?? (() => undefined);
    this.#onBranchReused = options.onBranchReused;
    this.#context = { send: options.send, clock: this.clock, timers: this.timers };
  }

  /** Live server transactions. */
  get serverCount(): number {
    return this.#servers.size;
  }

  /** Live client transactions. */
  get clientCount(): number {
    return this.#clients.size;
  }

  /** The server transaction this request belongs to (§17.2.3), if any. */
  findServer(request: IncomingRequest): ServerTransaction | undefined {
    return this.#servers.get(request.transactionKey);
  }

  /**
   * Gives a request to the server transaction it matches: a retransmission,
   * or an ACK for a 300–699. True when the transaction absorbed it; false
   * when there is none, or for the ACK of a 2xx (RFC 6026 §7.1: to the TU).
   */
  receiveRequest(request: IncomingRequest): boolean {
    const transaction = this.#servers.get(request.transactionKey);
    if (!transaction) return false;
    if (transaction.kind === 'ist') return transaction.receiveRequest(request);
    return request.message.method === 'ACK' ? false : transaction.receiveRequest(request);
  }

  /** The INVITE server transaction a CANCEL targets (§9.2), if it is still there. */
  findCancelledInvite(cancel: IncomingRequest): InviteServerTransaction | undefined {
    const transaction = this.#servers.get(cancelledInviteKey(cancel));
    return transaction?.kind === 'ist' ? transaction : undefined;
  }

  /** Opens the server transaction for a new request: INVITE server for INVITE, non-INVITE otherwise. */
  createServer(request: IncomingRequest, user: ServerTransactionUser = {}): ServerTransaction {
    const method = request.message.method;
    if (method === 'ACK') throw new SipUnsupportedError('an ACK never creates a server transaction (§17.2.3)');
    const key = request.transactionKey;
    const branch = branchMatchKey(method, request.via);
    let registered = false;
    const forget = (): void => {
      if (!registered) return;
      registered = false;
      if (this.#servers.get(key) === transaction) this.#servers.delete(key);
      if (branch !== undefined) this.#unuseBranch(branch);
    };
    const transaction: ServerTransaction =
      method === 'INVITE'
        ? new InviteServerTransaction(this.#context, request, user, forget)
        : new NonInviteServerTransaction(this.#context, request, user, forget);
    if (!transaction.terminated) {
      this.#servers.set(key, transaction);
      registered = true;
      if (branch !== undefined) this.#useBranch(branch, request);
    }
    return transaction;
  }

  /**
   * Sends a request through a new client transaction: INVITE client for an
   * INVITE, non-INVITE otherwise. The request's top Via carries the branch
   * that, with the CSeq method, matches its responses (§17.1.3).
   */
  sendRequest(request: SipRequest, destination: TransportAddress, user: ClientTransactionUser): ClientTransaction {
    if (request.method === 'ACK') throw new SipUnsupportedError('an ACK is sent without a transaction (§17.1.1.3, §13.2.2.4)');
    const branch = parseVia(request.headers.get('Via') ?? '').params.get('branch');
    if (!branch) throw new SipUnsupportedError('a request needs a Via branch to open a client transaction (§8.1.1.7)');
    const key = `${branch}|${request.method}`;
    const forget = (): void => {
      if (this.#clients.get(key) === transaction) this.#clients.delete(key);
    };
    const transaction: ClientTransaction =
      request.method === 'INVITE'
        ? new InviteClientTransaction(this.#context, key, request, destination, user, forget)
        : new NonInviteClientTransaction(this.#context, key, request, destination, user, forget);
    if (!transaction.terminated) this.#clients.set(key, transaction);
    return transaction;
  }

  /**
   * Gives a response to the client transaction it matches (§17.1.3: the
   * top Via branch and the CSeq method of the request that created it).
   * False when none does: a stray, or a 2xx retransmitted after the INVITE
   * transaction ended (the UA core hands that to the dialog).
   */
  receiveResponse(response: SipResponse): boolean {
    let key: string;
    try {
      const branch = parseVia(response.headers.get('Via') as string).params.get('branch');
      if (!branch) return false;
      key = `${branch}|${parseCSeq(response.headers.get('CSeq') as string).method}`;
    } catch (err) {
      if (err instanceof SipSyntaxError) return false;
      throw err;
    }
    const transaction = this.#clients.get(key);
    if (!transaction) return false;
    transaction.receiveResponse(response);
    return true;
  }

  /** Sends without a transaction: the ACK for a 2xx (§13.2.2.4), a response no transaction keeps (403, 400, 483). */
  sendStateless(message: SipMessage | Buffer, to: TransportAddress): void {
    const bytes = Buffer.isBuffer(message) ? message : serializeSipMessage(message);
    this.#send(bytes, to).catch((err: unknown) => this.#onStatelessError(err, to));
  }

  /** Ends every transaction and cancels every timer, telling no one (the user agent is stopping). */
  dispose(): void {
    for (const transaction of [...this.#servers.values(), ...this.#clients.values()]) transaction.dispose();
    this.#servers.clear();
    this.#branches.clear();
    this.#clients.clear();
  }

  #useBranch(branch: string, request: IncomingRequest): void {
    const live = this.#branches.get(branch) ?? 0;
    this.#branches.set(branch, live + 1);
    if (live > 0) this.#onBranchReused?.(request);
  }

  #unuseBranch(branch: string): void {
    const live = (this.#branches.get(branch) ?? 1) - 1;
    if (live > 0) this.#branches.set(branch, live);
    else this.#branches.delete(branch);
  }
}
