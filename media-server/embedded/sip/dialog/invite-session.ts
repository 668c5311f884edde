import { parseCSeq, serializeSipMessage, type SipRequest, type SipResponse } from '../message/index.js';
import type { IncomingRequest } from '../transaction/incoming-request.js';
import type { InviteServerTransaction } from '../transaction/invite-server-transaction.js';
import { transactionTimeout, type SipTimerHandle } from '../transaction/sip-timers.js';
import { InvalidStateError, SipTimeoutError, SipTransportError, SipUnsupportedError } from '../transaction/transaction-errors.js';
import type { ServerTransaction } from '../transaction/transaction-layer.js';
import type { TransportAddress } from '../transport/sip-transport.js';
import { ALLOW_HEADER, KNOWN_UNSUPPORTED_METHODS } from './dialog-methods.js';
import { SipAckTimeoutError, SipDialogTerminatedError, SipFinalResponseError, SipRequestPendingError } from './dialog-errors.js';
import { SipDialog, type DialogHost, type DialogRequestOptions, type SipDialogOptions } from './sip-dialog.js';

/**
 * Lifecycle of an INVITE session. Dialogs are created from a 2xx only (no
 * early dialogs); a UAS session starts in waiting-ack, a UAC one in confirmed.
 *
 *   waiting-ack → confirmed    the ACK for our 2xx (§13.3.1.4)
 *   waiting-ack → terminated   no ACK within 64·T1 (we BYE), or a BYE came first
 *   confirmed   → terminated   BYE either way; 481, 408 or no response to a request (§12.2.1.2); transport error
 */
export type InviteSessionState = 'waiting-ack' | 'confirmed' | 'terminated';

const TRANSITIONS: Readonly<Record<InviteSessionState, readonly InviteSessionState[]>> = {
  'waiting-ack': ['confirmed', 'terminated'],
  confirmed: ['terminated'],
  terminated: [],
};

/**
 * Why a dialog ended. 'request-failed': a request in the dialog got 481 or
 * 408 or no response at all, and RFC 3261 §12.2.1.2 says to end the dialog.
 */
export type DialogEndReason = 'remote-bye' | 'local-bye' | 'ack-timeout' | 'transport-error' | 'request-failed';

export interface InviteSessionEvents {
  /** An INFO (DTMF relay…), already answered 200: a BYE the listeners send follows that 200. */
  info: [request: SipRequest];
  /**
   * A re-INVITE (hold, unhold, new media). A listener calls `answer(sdp)`
   * (200 with that SDP, then the ACK is awaited) or `reject(status)`. No
   * listener: 488. No answer within 16·T1: 500. `source` is where it came
   * from, its transport included (RFC 4568 §8.3: SDES keys only over TLS).
   */
  reinvite: [request: SipRequest, answer: (sdp: string) => void, reject: (status: number, reason?: string) => void, source: TransportAddress];
  /** A REFER (RFC 3515) with one Refer-To, already answered 202. */
  refer: [request: SipRequest];
  /** A NOTIFY (the progress of a REFER we sent, RFC 3515 §2.4.4), already answered 200. */
  notify: [request: SipRequest];
  /** Once, when the dialog ends. */
  ended: [reason: DialogEndReason];
}

/** What an INVITE session needs from the user agent core, beyond what its dialog needs. */
export interface InviteSessionHost extends DialogHost {
  /** The session ended or was disposed: take its dialog out of the table. */
  forget(session: InviteSession): void;
}

export interface InviteSessionOptions extends SipDialogOptions {
  readonly host: InviteSessionHost;
  readonly remoteSdp: string;
  readonly localSdp: string;
  /**
   * UAC: the Authorization / Proxy-Authorization lines of the INVITE that
   * made the dialog, which its ACK repeats (§13.2.2.4: "The ACK MUST contain
   * the same credentials as the INVITE"). Default: none.
   */
  readonly inviteCredentials?: Readonly<Record<string, string>> | undefined;
}

/** Our 2xx to an INVITE, waiting for its ACK (§13.3.1.4). */
interface AckWait {
  readonly cseq: number;
  readonly transaction: InviteServerTransaction;
  readonly promise: Promise<void>;
  interval: number;
  retransmit: SipTimerHandle | undefined;
  giveUp: SipTimerHandle | undefined;
  settle(error?: Error): void;
}

/** A re-INVITE from the peer, from arrival until its ACK (or its non-2xx). */
interface IncomingReinvite {
  readonly cseq: number;
  readonly transaction: InviteServerTransaction;
  deadline: SipTimerHandle | undefined;
}

const SDP = 'application/sdp';

/**
 * The INVITE session on a SIP dialog (RFC 3261 §13–15): keeps the 2xx/ACK
 * exchange of both roles, re-INVITEs both ways, REFER, INFO and BYE, and
 * answers the peer's requests within the dialog.
 */
export class InviteSession extends SipDialog<InviteSessionEvents> {
  readonly #host: InviteSessionHost;
  #state: InviteSessionState;
  #remoteSdp: string;
  #localSdp: string;
  #ackWait: AckWait | undefined;
  #incomingReinvite: IncomingReinvite | undefined;
  #outgoingReinvite = false;
  /** CSeq number of the last INVITE we sent, whose 2xx we ACK (§13.2.2.4). */
  #inviteCseq: number | undefined;
  readonly #inviteCredentials: { readonly cseq: number | undefined; readonly headers: Readonly<Record<string, string>> | undefined };
  #lastAck: { readonly cseq: number; readonly bytes: Buffer; readonly to: TransportAddress } | undefined;
  #byeRequested: Promise<void> | undefined;
  #byeDone: Promise<void> | undefined;
  /** Rejecters of requests in flight, failed on dispose(). */
  readonly #pending = new Set<(error: Error) => void>();

  constructor(options: InviteSessionOptions) {
    super(options);
    this.#host = options.host;
    this.#remoteSdp = options.remoteSdp;
    this.#localSdp = options.localSdp;
    this.#state = options.role === 'uas' ? 'waiting-ack' : 'confirmed';
    if (options.role === 'uac') this.#inviteCseq = options.state.localSeq;
    this.#inviteCredentials = { cseq: this.#inviteCseq, headers: options.inviteCredentials };
  }

  get state(): InviteSessionState {
    return this.#state;
  }

  /** The peer's current session description (the last offer or answer it sent). */
  get remoteSdp(): string {
    return this.#remoteSdp;
  }

  /** Ours, as last sent. */
  get localSdp(): string {
    return this.#localSdp;
  }

  // ——— requests we send ———

  /**
   * Sends a non-INVITE request within the dialog (INFO, OPTIONS, NOTIFY,
   * MESSAGE…) and resolves with its final response, whatever the status.
   * Rejects with `SipTimeoutError` when none came (Timer F),
   * `SipTransportError`, or `SipDialogTerminatedError`. INVITE, ACK, CANCEL
   * and BYE have their own methods. A 481 or 408, or no response, ends the
   * dialog (§12.2.1.2).
   */
  request(method: string, options: DialogRequestOptions = {}): Promise<SipResponse> {
    if (method === 'INVITE' || method === 'ACK' || method === 'CANCEL' || method === 'BYE') {
      return Promise.reject(new SipUnsupportedError(`send ${method} with reinvite() or bye()`));
    }
    if (this.#state === 'terminated') return Promise.reject(new SipDialogTerminatedError('the dialog has ended'));
    return this.#request(method, options);
  }

  /**
   * Offers new media (RFC 3261 §14.1) and resolves with the peer's answer
   * SDP once its 2xx is ACKed. Rejects with `SipRequestPendingError` while
   * another INVITE is in progress either way, `SipFinalResponseError` for a
   * non-2xx (491 included: the caller may retry), `SipTimeoutError`.
   */
  reinvite(sdp: string): Promise<string> {
    if (this.#state === 'terminated') return Promise.reject(new SipDialogTerminatedError('the dialog has ended'));
    // §14.1: "A UAC MUST NOT initiate a re-INVITE while another INVITE transaction is in progress in either direction."
    if (this.#outgoingReinvite || this.#incomingReinvite || this.#ackWait) return Promise.reject(new SipRequestPendingError());
    this.#outgoingReinvite = true;
    return new Promise<string>((resolve, reject) => {
      let answered = false;
      const fail = (error: Error): void => {
        this.#outgoingReinvite = false;
        this.#pending.delete(fail);
        reject(error);
      };
      this.#pending.add(fail);
      try {
        const cseq = this.nextCseq();
        this.#inviteCseq = cseq;
        this.sendRequest('INVITE', cseq, { body: Buffer.from(sdp, 'utf8'), contentType: SDP }, {
          onResponse: (response) => {
            if (response.status < 200) return;
            if (response.status >= 300) {
              fail(new SipFinalResponseError('re-INVITE', response));
              this.#afterFailedRequest(response.status);
              return;
            }
            if (answered) {
              this.receiveInviteSuccess(response); // a retransmission: the same ACK again
              return;
            }
            answered = true;
            // §12.2.1.2: a 2xx to a target refresh replaces the remote target with its Contact (the ACK goes there).
            this.refreshTarget(response);
            this.receiveInviteSuccess(response);
            this.#localSdp = sdp;
            this.#remoteSdp = response.body.toString('utf8');
            this.#outgoingReinvite = false;
            this.#pending.delete(fail);
            resolve(this.#remoteSdp);
          },
          onTimeout: () => {
            fail(new SipTimeoutError('INVITE'));
            this.#afterFailedRequest(408);
          },
          onTransportError: (error) => {
            fail(new SipTransportError('re-INVITE could not be sent', { cause: error }));
            this.#terminate('transport-error', false);
          },
        });
      } catch (err) {
        fail(err instanceof Error ? err : new Error(String(err)));
      }
    });
  }

  /**
   * Asks the peer to call `target` (RFC 3515): resolves on a 2xx (202
   * Accepted), rejects with `SipFinalResponseError` otherwise. The NOTIFYs
   * that follow are answered 200 and emitted as 'notify'.
   */
  async refer(target: string): Promise<void> {
    const uri = target.startsWith('<') ? target : `<${target}>`;
    const response = await this.request('REFER', { headers: { 'Refer-To': uri } });
    if (response.status >= 300) throw new SipFinalResponseError('REFER', response);
  }

  /**
   * Ends the dialog with a BYE (§15.1.1) and resolves once it is answered
   * or timed out; never rejects. 'ended' ('local-bye') is emitted when the
   * BYE is sent. Safe to call twice, and after the dialog ended (no-op).
   * A UAS dialog still waiting for its ACK sends the BYE after the ACK or
   * the ACK timeout (§15: "MUST NOT send a BYE on a confirmed dialog until
   * it has received an ACK for its 2xx response or until the server
   * transaction times out").
   */
  bye(): Promise<void> {
    this.#byeRequested ??= this.#doBye();
    return this.#byeRequested;
  }

  async #doBye(): Promise<void> {
    if (this.#state === 'waiting-ack' && this.#ackWait) await this.#ackWait.promise.catch(() => undefined);
    if (this.#state !== 'terminated') this.#terminate('local-bye', true);
    await this.#byeDone;
  }

  // ——— called by the user agent core ———

  /**
   * @internal Waits for the ACK of the 2xx just sent on `transaction`,
   * retransmitting it at T1, 2·T1… up to T2 (§13.3.1.4: "The 2xx response
   * is passed to the transport with an interval that starts at T1 seconds
   * and doubles for each retransmission until it reaches T2 seconds ...
   * until an ACK is received"). Resolves on the ACK. After 64·T1 without
   * one ("the session SHOULD be terminated ... with a BYE") it sends BYE,
   * ends the dialog with 'ack-timeout' and rejects with `SipAckTimeoutError`.
   */
  awaitAck(transaction: InviteServerTransaction, cseq: number): Promise<void> {
    const timers = this.#host.transactions.timers;
    const clock = this.#host.transactions.clock;
    let settle!: (error?: Error) => void;
    const promise = new Promise<void>((resolve, reject) => {
      settle = (error) => (error ? reject(error) : resolve());
    });
    const wait: AckWait = {
      cseq,
      transaction,
      promise,
      interval: timers.t1,
      retransmit: undefined,
      giveUp: undefined,
      settle: (error) => {
        if (wait.retransmit !== undefined) clock.clearTimer(wait.retransmit);
        if (wait.giveUp !== undefined) clock.clearTimer(wait.giveUp);
        wait.retransmit = wait.giveUp = undefined;
        if (this.#ackWait === wait) this.#ackWait = undefined;
        settle(error);
      },
    };
    const retransmit = (): void => {
      wait.retransmit = undefined;
      if (!transaction.retransmitAccepted()) return;
      wait.interval = Math.min(wait.interval * 2, timers.t2);
      wait.retransmit = clock.setTimer(retransmit, wait.interval);
    };
    wait.retransmit = clock.setTimer(retransmit, wait.interval);
    wait.giveUp = clock.setTimer(() => this.#onAckTimeout(wait), transactionTimeout(timers));
    this.#ackWait = wait;
    // Nobody may be listening (a re-INVITE's wait); the rejection is reported through 'ended'.
    promise.catch(() => undefined);
    return promise;
  }

  /** @internal An ACK whose Call-ID and tags name this dialog (not absorbed by a transaction). */
  receiveAck(ack: IncomingRequest): void {
    const wait = this.#ackWait;
    if (!wait || ack.cseq.seq !== wait.cseq) return; // a retransmitted or stray ACK
    // The answer, when our 2xx carried the offer (an INVITE without SDP, §13.2.1).
    if (ack.message.body.length > 0 && (ack.message.headers.get('Content-Type') ?? '').toLowerCase().startsWith(SDP)) {
      this.#remoteSdp = ack.message.body.toString('utf8');
    }
    if (this.#incomingReinvite?.cseq === ack.cseq.seq) this.#incomingReinvite = undefined;
    if (this.#state === 'waiting-ack') this.#transition('confirmed');
    wait.settle();
  }

  /**
   * @internal A 2xx to an INVITE we sent in this dialog, first or
   * retransmitted, through the transaction or after it ended. The ACK
   * (§13.2.2.4: "constructed in the same way as for any request sent within
   * a dialog ... The sequence number of the CSeq header field MUST be the
   * same as the INVITE being acknowledged, but the CSeq method MUST be ACK")
   * is built once and sent again for each retransmission.
   */
  receiveInviteSuccess(response: SipResponse): void {
    let seq: number;
    try {
      seq = parseCSeq(response.headers.get('CSeq') as string).seq;
    } catch {
      return;
    }
    if (this.#lastAck?.cseq === seq) {
      this.#host.transactions.sendStateless(this.#lastAck.bytes, this.#lastAck.to);
      return;
    }
    if (seq !== this.#inviteCseq) return;
    try {
      const credentials = seq === this.#inviteCredentials.cseq ? this.#inviteCredentials.headers : undefined;
      const { request, to } = this.buildRequest('ACK', seq, credentials ? { headers: credentials } : {});
      request.headers.delete('Contact');
      const bytes = serializeSipMessage(request);
      this.#lastAck = { cseq: seq, bytes, to };
      this.#host.transactions.sendStateless(bytes, to);
    } catch (err) {
      this.#host.reportError(err, 'building the ACK for a 2xx');
    }
  }

  /** The peer's request in order (§12.2.2): a BYE, a re-INVITE, or one of the requests the session answers alone. */
  protected override receiveInOrder(incoming: IncomingRequest, transaction: ServerTransaction): void {
    const request = incoming.message;
    if (this.#state === 'terminated') {
      this.respond(transaction, 481);
      return;
    }
    switch (request.method) {
      case 'BYE':
        this.respond(transaction, 200);
        this.#terminate('remote-bye', false);
        return;
      case 'INVITE':
        this.#onReinvite(incoming, transaction as InviteServerTransaction);
        return;
      // INFO, REFER and NOTIFY: the response does not depend on the listeners, so it goes
      // first. A listener may end the call at once (a hang-up on a key press, on a transfer's
      // final NOTIFY); its BYE must not reach the peer before the answer to the request that
      // caused it, which peers such as SIPp take as an unexpected BYE and abort on.
      case 'INFO':
        this.respond(transaction, 200);
        this.emitSafely('info', request);
        return;
      case 'REFER': {
        // RFC 3515 §2.4.1: "A REFER request MUST contain exactly one Refer-To header field value."
        if (request.headers.getAll('Refer-To').length !== 1) {
          this.respond(transaction, 400, { reason: 'Bad Request (exactly one Refer-To)' });
          return;
        }
        this.respond(transaction, 202);
        this.emitSafely('refer', request);
        return;
      }
      case 'NOTIFY':
        this.respond(transaction, 200);
        this.emitSafely('notify', request);
        return;
      case 'OPTIONS':
        this.respond(transaction, 200, { headers: [['Allow', ALLOW_HEADER], ['Accept', SDP]] });
        return;
      default:
        // §8.2.1: a method we know but do not do → 405 with Allow; an unknown one → 501.
        if (KNOWN_UNSUPPORTED_METHODS.has(request.method)) this.respond(transaction, 405, { headers: [['Allow', ALLOW_HEADER]] });
        else this.respond(transaction, 501);
    }
  }

  /**
   * @internal A CANCEL matched the peer's re-INVITE before our final
   * response (§9.2): it gets 487 and the session stays as it was.
   */
  cancelReinvite(transaction: InviteServerTransaction): void {
    const pending = this.#incomingReinvite;
    if (!pending || pending.transaction !== transaction) return;
    if (pending.deadline !== undefined) this.#host.transactions.clock.clearTimer(pending.deadline);
    this.#incomingReinvite = undefined;
    this.respond(transaction, 487);
  }

  /**
   * @internal The user agent is stopping: timers cancelled, waiting
   * promises rejected with `SipDialogTerminatedError`, no BYE, no 'ended'.
   */
  dispose(): void {
    if (this.#state === 'terminated') return;
    this.#state = 'terminated';
    this.#clearWaits(new SipDialogTerminatedError('the user agent stopped'));
    for (const fail of [...this.#pending]) fail(new SipDialogTerminatedError('the user agent stopped'));
    this.#host.forget(this);
  }

  // ——— internals ———

  #transition(to: InviteSessionState): void {
    if (!TRANSITIONS[this.#state].includes(to)) throw new InvalidStateError('InviteSession', this.#state, to);
    this.#state = to;
  }

  #request(method: string, options: DialogRequestOptions): Promise<SipResponse> {
    return new Promise<SipResponse>((resolve, reject) => {
      const fail = (error: Error): void => {
        this.#pending.delete(fail);
        reject(error);
      };
      this.#pending.add(fail);
      try {
        this.sendRequest(method, this.nextCseq(), options, {
          onResponse: (response) => {
            if (response.status < 200) return;
            this.#pending.delete(fail);
            resolve(response);
            this.#afterFailedRequest(response.status);
          },
          onTimeout: () => {
            fail(new SipTimeoutError(method));
            this.#afterFailedRequest(408);
          },
          onTransportError: (error) => {
            fail(new SipTransportError(`${method} could not be sent`, { cause: error }));
            this.#terminate('transport-error', false);
          },
        });
      } catch (err) {
        fail(err instanceof Error ? err : new Error(String(err)));
      }
    });
  }

  /**
   * §12.2.1.2: "If the response for a request within a dialog is a 481
   * (Call/Transaction Does Not Exist) or a 408 (Request Timeout), the UAC
   * SHOULD terminate the dialog. A UAC SHOULD also terminate a dialog if no
   * response at all is received". After a 481 the peer has no dialog to BYE.
   */
  #afterFailedRequest(status: number): void {
    if (status === 481) this.#terminate('request-failed', false);
    else if (status === 408) this.#terminate('request-failed', true);
  }

  #onReinvite(incoming: IncomingRequest, transaction: InviteServerTransaction): void {
    // §14.2: "A UAS that receives a second INVITE before it sends the final response to a first
    // INVITE with a lower CSeq sequence number on the same dialog MUST return a 500 (Server
    // Internal Error) response to the second INVITE and MUST include a Retry-After header field
    // with a randomly chosen value of between 0 and 10 seconds."
    if (this.#incomingReinvite || this.#ackWait) {
      this.respond(transaction, 500, { headers: [['Retry-After', String(Math.floor(Math.random() * 11))]] });
      return;
    }
    // §14.2: "A UAS that receives an INVITE on a dialog while an INVITE it had sent on that
    // dialog is in progress MUST return a 491 (Request Pending) response to the received INVITE."
    if (this.#outgoingReinvite) {
      this.respond(transaction, 491);
      return;
    }
    const request = incoming.message;
    const pending: IncomingReinvite = { cseq: incoming.cseq.seq, transaction, deadline: undefined };
    this.#incomingReinvite = pending;
    const clock = this.#host.transactions.clock;
    const done = (): boolean => this.#incomingReinvite !== pending || transaction.hasFinalResponse || this.#state === 'terminated';
    const clearDeadline = (): void => {
      if (pending.deadline !== undefined) clock.clearTimer(pending.deadline);
      pending.deadline = undefined;
    };
    const reject = (status: number, reason?: string): void => {
      if (done()) return;
      if (!Number.isInteger(status) || status < 300 || status > 699) throw new RangeError('a re-INVITE is rejected with 300–699');
      clearDeadline();
      this.#incomingReinvite = undefined;
      this.respond(transaction, status, reason === undefined ? {} : { reason });
    };
    const answer = (sdp: string): void => {
      if (done()) return;
      clearDeadline();
      // §12.2.2: a target refresh replaces the remote target with the request's Contact.
      this.refreshTarget(request);
      this.#remoteSdp = request.body.toString('utf8');
      this.#localSdp = sdp;
      this.respond(transaction, 200, {
        headers: [
          ['Contact', this.#host.origin(this.flow.protocol, this.secure).contact ?? ''],
          ['Allow', ALLOW_HEADER],
          ['Content-Type', SDP],
        ],
        body: Buffer.from(sdp, 'utf8'),
      });
      this.awaitAck(transaction, pending.cseq).then(
        () => undefined,
        () => undefined,
      );
    };
    const listeners = this.emitSafely('reinvite', request, answer, reject, incoming.source);
    if (done()) return;
    if (listeners === 0) {
      // §13.3.1.3 / §14.2: an offer nobody can answer is "488 (Not Acceptable Here)".
      reject(488);
      return;
    }
    // A listener answering later gets 16·T1 (8 s), well inside the peer's Timer B of 64·T1.
    pending.deadline = clock.setTimer(() => {
      pending.deadline = undefined;
      reject(500, 'Server Internal Error (no answer to the re-INVITE)');
    }, 16 * this.#host.transactions.timers.t1);
  }

  #onAckTimeout(wait: AckWait): void {
    wait.giveUp = undefined;
    wait.settle(new SipAckTimeoutError());
    if (this.#incomingReinvite?.cseq === wait.cseq) this.#incomingReinvite = undefined;
    // §13.3.1.4: "the dialog is confirmed, but the session SHOULD be terminated ... with a BYE".
    this.#terminate('ack-timeout', true);
  }

  #clearWaits(error: Error): void {
    this.#ackWait?.settle(error);
    const reinvite = this.#incomingReinvite;
    this.#incomingReinvite = undefined;
    if (reinvite) {
      if (reinvite.deadline !== undefined) this.#host.transactions.clock.clearTimer(reinvite.deadline);
      // §15.1.2: "the UAS MUST generate a 487 (Request Terminated) response to any pending requests".
      if (!reinvite.transaction.hasFinalResponse && !reinvite.transaction.terminated) this.respond(reinvite.transaction, 487);
    }
  }

  /** Ends the dialog once: BYE when asked, out of the table, 'ended' to the listeners. */
  #terminate(reason: DialogEndReason, sendBye: boolean): void {
    if (this.#state === 'terminated') return;
    this.#transition('terminated');
    this.#clearWaits(new SipDialogTerminatedError(`the dialog ended (${reason})`));
    this.#host.forget(this);
    if (sendBye) this.#byeDone = this.#sendBye();
    this.emitSafely('ended', reason);
  }

  /** Sends the BYE (§15.1.1); resolves on its final response or timeout, never rejects. */
  #sendBye(): Promise<void> {
    return new Promise<void>((resolve) => {
      try {
        this.sendRequest('BYE', this.nextCseq(), {}, {
          onResponse: (response) => {
            if (response.status >= 200) resolve();
          },
          onTimeout: () => resolve(),
          onTransportError: (error) => {
            this.#host.reportError(error, 'sending BYE');
            resolve();
          },
        });
      } catch (err) {
        this.#host.reportError(err, 'building BYE');
        resolve();
      }
    });
  }
}
