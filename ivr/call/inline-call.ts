import type { Logger } from 'pino';
import { DialError } from '../../media-server/media-server-errors.js';
import type { Bridge, CallLeg, InboundCall, MediaServer } from '../../media-server/media-server-port.js';
import type { CallRecording } from './leg-call-media.js';
import type { DtmfKey } from '../../domain/dtmf-key.js';
import type { StartCodeReader } from '../flow/start-code-reader.js';

/**
 * Where a relayed call is:
 *
 *   dialling  → connected   the PBX answered; the caller is answered and both legs bridged
 *   dialling  → ended       the PBX refused (its status reaches the caller), or the caller gave up (CANCEL)
 *   connected → ended       a BYE from either side
 */
export type InlineCallState = 'dialling' | 'connected' | 'ended';

const TRANSITIONS: Readonly<Record<InlineCallState, readonly InlineCallState[]>> = {
  dialling: ['connected', 'ended'],
  connected: ['ended'],
  ended: [],
};

export interface InlineCallOptions {
  readonly mediaServer: MediaServer;
  /** The PBX's URI for this call (INLINE_ROUTE with the number dialled). */
  readonly target: string;
  /** How long the PBX (or a transfer target) may ring. */
  readonly dialTimeoutMs: number;
  readonly logger: Logger;
  readonly now?: () => Date;
  /**
   * INLINE_AGENT_HEADER: the header the PBX (or a transfer target) adds to
   * its answer to say which agent took the call, and how its value names an
   * agent (undefined: no such agent). Unset: answers bind nobody.
   */
  readonly agentHeader?: { readonly name: string; readonly agentOf: (value: string) => Promise<string | undefined> };
  /** Unset: the PBX leg's keys all reach the caller. */
  readonly startCode?: StartCodeOptions;
}

/** INLINE_START_CODE: the agent's start code on the PBX leg (see StartCodeReader). */
export interface StartCodeOptions {
  /** A new reader for each call. */
  readonly reader: () => StartCodeReader;
  /** A pause this long ends a start code being keyed. */
  readonly pauseMs: number;
  /** The agent keyed the start code and `code`. */
  readonly onCode: (call: InlineCall, code: string) => void;
}

/** How a call came to be bound to its agent. */
export type AgentBinding = 'pbx-header' | 'cti' | 'start-code';

/** An illegal move of an in-line call's state. */
export class InlineCallStateError extends Error {
  override readonly name = 'InlineCallStateError';
}

/**
 * One call from the carrier relayed to the PBX through us (a B2BUA): the
 * caller's leg and the PBX's leg, both anchored in our media server and
 * bridged with the keys relayed while no capture masks them. Provisional
 * and final responses of the PBX reach the caller, hold and unhold are
 * relayed both ways, a BYE or CANCEL from either side ends the other, and a
 * blind transfer (REFER) from the PBX is followed: the caller stays on our
 * leg and we dial the Refer-To target, which takes the PBX leg's place. The
 * PBX leg is to an in-line call what the agent's call-back is to an
 * agent-assisted one.
 */
export class InlineCall {
  readonly caller: InboundCall;
  readonly startedAt: Date;
  readonly #options: InlineCallOptions;
  readonly #ended: Promise<void>;
  #resolveEnded!: () => void;
  #state: InlineCallState = 'dialling';
  #pbx: CallLeg | undefined;
  #bridge: Bridge | undefined;
  /** Dials in progress (the PBX, a transfer target): cancelled when the caller goes. */
  readonly #dialling = new Set<AbortController>();
  readonly #pbxListeners = new Map<CallLeg, () => void>();
  /** The whole call's recording (INLINE_RECORDING), which a payment pauses for its secure window. */
  recording: CallRecording | undefined;
  /** The session of the payment running on the call, if one is. */
  #payment: string | undefined;
  /** Payments started on this call, by their idempotency key. */
  readonly #paymentsByKey = new Map<string, string>();
  #agentId: string | undefined;
  readonly #startCode: StartCodeReader | undefined;
  #startCodePause: ReturnType<typeof setTimeout> | undefined;
  /** Keys sent to the caller by us (held start-code keys released), one after another. */
  #keysToCaller: Promise<void> = Promise.resolve();

  constructor(caller: InboundCall, options: InlineCallOptions) {
    this.caller = caller;
    this.#options = options;
    this.startedAt = options.now?.() ?? new Date();
    this.#ended = new Promise((resolve) => (this.#resolveEnded = resolve));
    this.#startCode = options.startCode?.reader();
    caller.on('ended', () => this.#callerEnded());
    caller.on('hold', (held) => this.#relayHold(this.#pbx, held));
  }

  /** The call's id: its caller leg's. */
  get id(): string {
    return this.caller.id;
  }

  get state(): InlineCallState {
    return this.#state;
  }

  /** The PBX's leg (or the transfer target's that replaced it), once answered. */
  get pbx(): CallLeg | undefined {
    return this.#pbx;
  }

  /** Settles when both legs are gone. */
  get ended(): Promise<void> {
    return this.#ended;
  }

  /** The session of the payment running on the call now. */
  get payment(): string | undefined {
    return this.#payment;
  }

  /** The agent the call is bound to (who sees it in GET /calls), once known. */
  get agentId(): string | undefined {
    return this.#agentId;
  }

  /** Binds the call to `agentId`; a later binding (a transfer, a CTI's correction) replaces an earlier one. */
  bindAgent(agentId: string, by: AgentBinding): void {
    this.#agentId = agentId;
    this.#options.logger.info({ call: this.id, agentId, by }, 'in-line call: bound to an agent');
  }

  /** Marks a payment as running on the call; false when one already is. */
  claimPayment(sessionId: string): boolean {
    if (this.#payment !== undefined) return false;
    this.#payment = sessionId;
    return true;
  }

  releasePayment(sessionId: string): void {
    if (this.#payment === sessionId) this.#payment = undefined;
  }

  /** The session a payment request with this idempotency key made on this call. */
  paymentByKey(idempotencyKey: string): string | undefined {
    return this.#paymentsByKey.get(idempotencyKey);
  }

  rememberPaymentKey(idempotencyKey: string, sessionId: string): void {
    this.#paymentsByKey.set(idempotencyKey, sessionId);
  }

  /** Dials the PBX and, once it answers, answers the caller and bridges both. Resolves when set up or refused. */
  async start(): Promise<void> {
    let pbx: CallLeg;
    try {
      pbx = await this.#dial(this.#options.target, (status) => this.caller.progress?.(status === 183 ? 183 : 180));
    } catch (err) {
      if (!this.caller.ended) {
        const status = relayedStatus(err);
        this.#options.logger.info({ call: this.id, status }, 'in-line call: the PBX did not take the call');
        await this.caller.reject(status);
      }
      this.#transition('ended');
      return;
    }
    if (this.caller.ended) {
      // CANCEL crossed the PBX's answer.
      await pbx.hangup();
      this.#transition('ended');
      return;
    }
    try {
      await this.caller.answer();
    } catch (err) {
      this.#options.logger.warn({ err, call: this.id }, 'in-line call: the caller did not take our answer');
      await pbx.hangup();
      this.#transition('ended');
      return;
    }
    this.#connect(pbx);
    this.#transition('connected');
  }

  /** Ends both legs. Safe to call twice. */
  async hangup(): Promise<void> {
    await Promise.allSettled([this.caller.hangup(), this.#pbx?.hangup()]);
  }

  #dial(target: string, onProgress?: (status: number) => void): Promise<CallLeg> {
    const abort = new AbortController();
    this.#dialling.add(abort);
    const header = this.#options.agentHeader;
    const dialled = this.#options.mediaServer.dial(target, {
      from: this.caller.from,
      timeoutMs: this.#options.dialTimeoutMs,
      signal: abort.signal,
      ...(onProgress ? { onProgress } : {}),
      ...(header ? { onAnswer: (headers: ReadonlyMap<string, string>) => void this.#agentAnswered(header, headers.get(header.name.toLowerCase())) } : {}),
    });
    return dialled.finally(() => this.#dialling.delete(abort));
  }

  /** Makes `pbx` the other party: bridged with the caller, its hold, transfer and hang-up relayed. */
  #connect(pbx: CallLeg): void {
    this.#bridge?.unbridge();
    this.#pbx = pbx;
    this.#bridge = this.#options.mediaServer.bridge(this.caller, pbx, {
      relayDtmf: true,
      ...(this.#startCode ? { holdKey: (from: CallLeg, key: DtmfKey) => from === pbx && this.#pbxKey(this.#startCode!, key) } : {}),
    });
    const onHold = (held: boolean): void => this.#relayHold(this.caller, held);
    const onTransfer = (target: string, report: (status: number) => void): void => void this.#followTransfer(pbx, target, report);
    const onEnded = (): void => {
      this.#forget(pbx);
      // A leg a transfer replaced leaves on its own; only the current one takes the caller with it.
      if (this.#pbx === pbx) void this.caller.hangup();
    };
    pbx.on('hold', onHold);
    pbx.on('transferRequested', onTransfer);
    pbx.on('ended', onEnded);
    this.#pbxListeners.set(pbx, () => {
      pbx.off('hold', onHold);
      pbx.off('transferRequested', onTransfer);
      pbx.off('ended', onEnded);
    });
  }

  #forget(leg: CallLeg): void {
    this.#pbxListeners.get(leg)?.();
    this.#pbxListeners.delete(leg);
  }

  /**
   * RFC 5589 §6 (blind transfer): the REFER was accepted; we call the
   * target, report its outcome to the PBX (NOTIFY), and on an answer put it
   * in the PBX leg's place. The PBX then hangs its leg up; the caller never
   * leaves ours.
   */
  async #followTransfer(from: CallLeg, target: string, report: (status: number) => void): Promise<void> {
    this.#options.logger.info({ call: this.id, target }, 'in-line call: following a transfer from the PBX');
    let next: CallLeg;
    try {
      next = await this.#dial(target);
    } catch (err) {
      report(relayedStatus(err));
      return;
    }
    if (this.caller.ended || this.#pbx !== from) {
      report(487);
      await next.hangup();
      return;
    }
    this.#forget(from);
    this.#connect(next);
    report(200);
  }

  /** A key from the PBX leg: true when we take it from the bridge (held, swallowed, or sent on by us after held ones). */
  #pbxKey(reader: StartCodeReader, key: DtmfKey): boolean {
    const step = reader.push(key);
    clearTimeout(this.#startCodePause);
    this.#startCodePause = undefined;
    if (reader.reading) {
      this.#startCodePause = setTimeout(() => this.#sendToCaller(reader.timeout().relay), this.#options.startCode!.pauseMs);
    }
    if (step.code !== undefined) this.#options.startCode!.onCode(this, step.code);
    if (step.relay.length === 1 && step.relay[0] === key) return false;
    this.#sendToCaller(step.relay);
    return true;
  }

  #sendToCaller(keys: readonly DtmfKey[]): void {
    for (const key of keys) {
      this.#keysToCaller = this.#keysToCaller
        .then(() => (this.caller.ended ? undefined : this.caller.sendDtmf?.(key)))
        .catch((err: unknown) => this.#options.logger.warn({ err, call: this.id }, 'in-line call: a held key not sent on'));
    }
  }

  async #agentAnswered(header: NonNullable<InlineCallOptions['agentHeader']>, value: string | undefined): Promise<void> {
    if (value === undefined) return;
    let agentId: string | undefined;
    try {
      agentId = await header.agentOf(value.trim());
    } catch (err) {
      this.#options.logger.error({ err, call: this.id }, 'in-line call: the agent the answer names could not be looked up');
      return;
    }
    if (agentId === undefined) {
      this.#options.logger.warn({ call: this.id, header: header.name }, 'in-line call: the answer names no agent we know');
      return;
    }
    this.bindAgent(agentId, 'pbx-header');
  }

  #relayHold(to: CallLeg | undefined, held: boolean): void {
    if (!to || to.ended || !to.setHold) return;
    to.setHold(held).catch((err: unknown) => this.#options.logger.warn({ err, call: this.id, held }, 'in-line call: hold not relayed'));
  }

  #callerEnded(): void {
    clearTimeout(this.#startCodePause);
    for (const abort of this.#dialling) abort.abort();
    const pbx = this.#pbx;
    this.#bridge?.unbridge();
    void (pbx ? pbx.hangup() : Promise.resolve()).finally(() => {
      if (this.#state !== 'ended') this.#transition('ended');
    });
  }

  #transition(to: InlineCallState): void {
    if (this.#state === to && to === 'ended') return;
    if (!TRANSITIONS[this.#state].includes(to)) throw new InlineCallStateError(`in-line call: ${this.#state} → ${to}`);
    this.#state = to;
    if (to === 'ended') this.#resolveEnded();
  }
}

/**
 * The status the caller gets when the PBX (or a transfer target) did not
 * answer: the PBX's own refusal (a 486 or 404 reaches the caller), 480 when
 * it rang out, 502 when it could not be reached. Authentication challenges
 * are ours to answer, never the caller's.
 */
export function relayedStatus(err: unknown): number {
  if (!(err instanceof DialError)) return 500;
  if (err.reason === 'rejected' && err.status !== undefined && err.status >= 300) return err.status === 401 || err.status === 407 ? 403 : err.status;
  if (err.reason === 'no-answer') return 480;
  if (err.reason === 'cancelled') return 487;
  return err.status ?? 502;
}
