import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { CallLeg, DtmfEvent, InboundCall, MediaServer } from '../../media-server/media-server-port.js';
import type { EntryMode } from '../../domain/payment-types.js';
import type { AgentUnavailableReason, PaymentFlowOptions, ProgressEvent } from '../flow/flow-types.js';
import type { PromptLanguage } from '../prompts/prompt-texts.js';
import type { PromptCatalogue } from '../prompts/prompt-catalogue.js';
import type { PaymentSessionRecord } from '../../store/payment-store.js';
import { NO_CALL_METRICS, type CallMetrics } from './call-metrics.js';
import type { InlineCalls } from './inline-calls.js';
import { LegCallMedia, NO_RECORDING, type CallRecording } from './leg-call-media.js';
import type { LiveSessions } from './live-sessions.js';
import { PaymentCall, type PaymentCallDeps } from './payment-call.js';
import { allRecordings } from './recorder-webhook.js';
import { joinableSession, sessionClaimOf } from './session-entry.js';
import { callerNumber } from '../links/caller-number.js';

export interface AgentAssistedOptions {
  /** Where an agent's commands from the REST API find the call. */
  readonly liveSessions: LiveSessions;
  /** The agent's own SIP URI when the session names none (identity store). */
  readonly agentUriOf: (agentId: string) => Promise<string | undefined>;
  /** AGENT_AUDIO_DURING_CAPTURE=muted: the agent hears nothing of the caller while a field is keyed. */
  readonly muteAgentDuringCapture: boolean;
  readonly dialTimeoutMs: number;
  readonly codeTtlMs: number;
  /** RELEASE_CALLER_AFTER_PAYMENT: hang the caller up after the result even with the agent on the line. */
  readonly releaseCallerAfterPayment: boolean;
  /** AGENT_HEARS_PROMPTS: the agent hears the IVR's prompts as well as the caller. */
  readonly agentHearsPrompts: boolean;
}

export interface PaymentIvrOptions {
  readonly mediaServer: MediaServer;
  /** User part of the direct pay number (PAY_NUMBER). */
  readonly payNumber: string;
  readonly deps: PaymentCallDeps;
  /** The recordings of each language; `language` is the default. */
  readonly prompts: ReadonlyMap<PromptLanguage, PromptCatalogue>;
  readonly language: PromptLanguage;
  /** Flow settings shared by every call. */
  readonly flow: Omit<PaymentFlowOptions, 'mode' | 'order' | 'autoCapture'>;
  readonly agentAssisted: AgentAssistedOptions;
  /** In-line mode (INLINE_ROUTE): calls from the carrier to other numbers are relayed to the PBX. Default: off. */
  readonly inline?: InlineCalls | undefined;
  /** INLINE_RECORDING: record each in-line call whole (the caller's leg, both ways), paused in each payment's secure window. */
  readonly inlineRecording?: boolean;
  /** Where call recordings go; undefined = RECORDING=off. */
  readonly recordingDir: string | undefined;
  /** The contact centre's own recorder (RECORDER_WEBHOOK_URL), paused and resumed with ours. */
  readonly externalRecorder?: (callId: string, sessionId: () => string | undefined) => CallRecording;
  readonly logger: Logger;
}

/**
 * Answers the calls the media server receives and runs a payment on each:
 * the direct pay number, and transfers into an agent's payment session
 * (pay-<code> or X-Payment-Session), where the IVR calls the agent back and
 * bridges both so they keep talking while the card is keyed. In in-line
 * mode, a carrier's call to any other number is relayed to the PBX.
 */
export class PaymentIvr {
  readonly #options: PaymentIvrOptions;
  readonly #metrics: CallMetrics;
  readonly #calls = new Set<PaymentCall>();
  readonly #onCall = (call: InboundCall): void => {
    this.#handle(call).catch((err: unknown) => {
      this.#options.logger.error({ err, leg: call.id }, 'call handling failed');
      void call.hangup();
    });
  };

  constructor(options: PaymentIvrOptions) {
    this.#options = options;
    this.#metrics = options.deps.metrics ?? NO_CALL_METRICS;
  }

  get activeCalls(): number {
    return this.#calls.size;
  }

  start(): void {
    this.#options.mediaServer.on('call', this.#onCall);
  }

  stop(): void {
    this.#options.mediaServer.off('call', this.#onCall);
  }

  /** Resolves when every payment call in progress has finished, or after `timeoutMs`. */
  async drain(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
    await Promise.race([Promise.allSettled([...this.#calls].map((c) => c.done)), timeout]);
    clearTimeout(timer);
  }

  async #handle(call: InboundCall): Promise<void> {
    const claim = sessionClaimOf(call);
    if (claim) return this.#agentAssisted(call, claim);
    if (call.calledUser === this.#options.payNumber) return this.#direct(call);
    if (this.#options.inline?.accepts(call)) {
      return this.#options.inline.relay(call, (inline) => {
        if (!this.#options.inlineRecording) return;
        inline.recording = this.#startRecording(call, () => inline.payment);
        call.on('ended', () => void call.stopRecording().catch(() => undefined));
      });
    }
    this.#options.logger.info({ leg: call.id, called: call.calledUser }, 'call to an unknown number refused');
    await call.reject(404, 'Not Found');
  }

  /**
   * In-line mode: the agent keyed the start code and `code` on the PBX leg
   * of `callId`: the session they prepared with that code (agent-assisted,
   * waiting for its caller, within the code's time to live) is paid on the
   * call, which is bound to the session's agent. Audited either way
   * (`start-code`); a code that names no such session starts nothing.
   */
  async payPreparedOnCall(callId: string, code: string): Promise<'started' | 'no-session' | 'no-call' | 'busy'> {
    const { deps, agentAssisted } = this.#options;
    const found = await joinableSession(deps.store, { code }, this.#now(), agentAssisted.codeTtlMs);
    // One call per session, as for a transfer: the join is one conditional write.
    const session = found && (await deps.store.joinSession(found.id, callId, deps.nodeId ?? null));
    const inline = this.#options.inline?.get(callId);
    let result: 'started' | 'no-session' | 'no-call' | 'busy' = 'no-session';
    if (session) {
      if (session.agentId !== null) inline?.bindAgent(session.agentId, 'start-code');
      result = this.payOnCall(callId, session);
      if (result !== 'started') await deps.store.leaveSession(session.id, callId);
    }
    await deps.audit.append({ sessionId: session?.id ?? null, actor: { kind: 'call', id: callId }, action: 'start-code', detail: { result } });
    return result;
  }

  /**
   * In-line mode: runs `session`'s payment on the live in-line call
   * `callId`, on the caller's leg, as on an agent-assisted call whose agent
   * is the PBX leg (already bridged): prompts to the caller only, keys
   * masked towards the PBX from the start to the end of the payment, the
   * secure window as ever. The caller is never hung up: the conversation
   * goes on after the result. 'no-call' when the call is not connected,
   * 'busy' when a payment runs on it already.
   */
  payOnCall(callId: string, session: PaymentSessionRecord): 'started' | 'no-call' | 'busy' {
    const inline = this.#options.inline?.get(callId);
    if (!inline || inline.state !== 'connected' || inline.caller.ended) return 'no-call';
    if (!inline.claimPayment(session.id)) return 'busy';
    const { deps, agentAssisted } = this.#options;
    const call = inline.caller;
    const prompts = this.#catalogue(session.language);
    const payment = new PaymentCall(deps, {
      callId: call.id,
      session,
      media: new LegCallMedia({
        leg: call,
        prompts,
        // The whole call's recording, or the external recorder alone for this payment.
        recording: inline.recording ?? this.#startRecording(call, () => session.id, false),
        muteInSecureWindow: agentAssisted.muteAgentDuringCapture,
        release: () => undefined,
      }),
      flow: { ...this.#options.flow, mode: 'agent-assisted', autoCapture: session.autoCapture },
      language: prompts.language,
      answeredAt: this.#now(),
    });
    agentAssisted.liveSessions.register(session.id, payment);
    const onDtmf = (event: DtmfEvent): void => {
      this.#metrics.dtmf(event.method);
      payment.digit(event.key);
    };
    const onEnded = (): void => payment.hangup();
    call.on('dtmf', onDtmf);
    call.on('ended', onEnded);
    this.#calls.add(payment);
    this.#metrics.callStarted('agent-assisted');
    payment.start();
    void payment.done.then((result) => {
      call.off('dtmf', onDtmf);
      call.off('ended', onEnded);
      inline.releasePayment(session.id);
      this.#calls.delete(payment);
      this.#metrics.callEnded('agent-assisted', result);
    });
    return 'started';
  }

  async #direct(call: InboundCall): Promise<void> {
    await call.answer();
    const answeredAt = this.#now();
    const prompts = this.#catalogue(undefined);
    let payment: PaymentCall | undefined;
    const recording = this.#startRecording(call, () => payment?.sessionId);
    const number = callerNumber(call.from);
    payment = new PaymentCall(this.#options.deps, {
      ...(number ? { callerNumber: number } : {}),
      callId: call.id,
      media: new LegCallMedia({ leg: call, prompts, recording, release: () => void call.hangup() }),
      flow: { ...this.#options.flow, mode: 'direct' },
      language: prompts.language,
      answeredAt,
      // From the order on, the console may release the caller.
      onSessionCreated: (sessionId) => this.#options.agentAssisted.liveSessions.registerCaller(sessionId, () => call.hangup(), ended(call), number),
    });
    await this.#run(call, payment, 'direct');
  }

  async #agentAssisted(call: InboundCall, claim: NonNullable<ReturnType<typeof sessionClaimOf>>): Promise<void> {
    const { deps, agentAssisted, logger } = this.#options;
    const found = await joinableSession(deps.store, claim, new Date(), agentAssisted.codeTtlMs);
    // One call per session, whichever node it lands on: the join is one conditional write.
    const session = found && (await deps.store.joinSession(found.id, call.id, deps.nodeId ?? null));
    if (!session) {
      // Spoken, then hung up: the same for an unknown, expired or taken code.
      logger.info({ leg: call.id }, 'transfer to an unknown or expired payment session');
      await call.answer();
      this.#metrics.callStarted('agent-assisted');
      try {
        await call.play(this.#catalogue(undefined).resolve([{ prompt: 'unknown-session' }]));
        await call.hangup();
      } finally {
        this.#metrics.callEnded('agent-assisted', 'unknown-session');
      }
      return;
    }
    await this.#join(call, session);
  }

  async #join(call: InboundCall, session: PaymentSessionRecord): Promise<void> {
    const { deps, agentAssisted } = this.#options;
    await call.answer();
    const answeredAt = this.#now();
    // Call events go to the agent's console and, being actions on the payment, to the audit trail.
    const progress = (event: ProgressEvent): void => {
      const { type, ...detail } = event;
      deps.audit.append({ sessionId: session.id, actor: { kind: 'call', id: call.id }, action: type, detail }).catch((err: unknown) => {
        deps.logger.error({ err, callId: call.id, sessionId: session.id, action: type }, 'audit entry not written');
      });
      deps.onProgress?.(session.id, event);
    };
    progress({ type: 'caller-connected' });

    const agent = await this.#callAgentBack(session, progress);
    if (call.ended) {
      // The caller gave up while the agent's phone rang: nothing was keyed, the session stays open for a new transfer.
      void agent?.hangup();
      progress({ type: 'caller-hung-up' });
      await deps.store.leaveSession(session.id, call.id);
      return;
    }
    const prompts = this.#catalogue(session.language);
    const recording = this.#startRecording(call, () => session.id);
    // With the agent on the line the call stays bridged after the result, until a party hangs up.
    const releaseCaller = (): boolean => !agent || agent.ended || agentAssisted.releaseCallerAfterPayment;
    const number = callerNumber(call.from);
    const payment = new PaymentCall(deps, {
      ...(number ? { callerNumber: number } : {}),
      callId: call.id,
      session,
      media: new LegCallMedia({
        leg: call,
        prompts,
        recording,
        muteInSecureWindow: agentAssisted.muteAgentDuringCapture,
        ...(agent && agentAssisted.agentHearsPrompts ? { promptsAlsoTo: () => agent } : {}),
        release: () => {
          if (releaseCaller()) void call.hangup();
        },
      }),
      flow: { ...this.#options.flow, mode: 'agent-assisted', autoCapture: session.autoCapture },
      language: prompts.language,
      answeredAt,
    });
    agentAssisted.liveSessions.register(session.id, payment);
    agentAssisted.liveSessions.registerCaller(session.id, () => call.hangup(), ended(call), number);
    if (agent) {
      const bridge = this.#options.mediaServer.bridge(call, agent);
      agent.on('ended', () => {
        bridge.unbridge();
        if (call.ended) return;
        progress({ type: 'agent-hung-up' });
        // Mid-payment the caller finishes alone; after it, nobody is left to talk to.
        if (payment.flow.result !== undefined) void call.hangup();
      });
      call.on('ended', () => void agent.hangup());
    }
    await this.#run(call, payment, 'agent-assisted');
  }

  async #callAgentBack(session: PaymentSessionRecord, progress: (e: ProgressEvent) => void): Promise<CallLeg | undefined> {
    const { agentAssisted, logger } = this.#options;
    const uri = session.agentUri ?? (session.agentId ? await agentAssisted.agentUriOf(session.agentId) : undefined);
    if (!uri) {
      progress({ type: 'agent-unavailable', reason: 'no-agent-uri' });
      return undefined;
    }
    try {
      const leg = await this.#options.mediaServer.dial(uri, {
        headers: { 'X-Payment-Session': session.id },
        timeoutMs: agentAssisted.dialTimeoutMs,
      });
      progress({ type: 'agent-connected' });
      return leg;
    } catch (err) {
      const reason = dialFailure(err);
      logger.warn({ sessionId: session.id, reason }, 'agent call-back failed; the caller pays alone');
      progress({ type: 'agent-unavailable', reason });
      return undefined;
    }
  }

  /** Feeds the caller's keys and hang-up to the payment until it is done. */
  async #run(call: InboundCall, payment: PaymentCall, mode: EntryMode): Promise<void> {
    const metrics = this.#metrics;
    this.#calls.add(payment);
    metrics.callStarted(mode);
    call.on('dtmf', (event) => {
      metrics.dtmf(event.method);
      payment.digit(event.key);
    });
    call.on('ended', () => {
      payment.hangup();
      void call.stopRecording().catch(() => undefined);
    });
    payment.start();
    const result = await payment.done;
    this.#calls.delete(payment);
    metrics.callEnded(mode, result);
  }

  #now(): Date {
    return this.#options.deps.now?.() ?? new Date();
  }

  #catalogue(language: string | null | undefined): PromptCatalogue {
    const { prompts } = this.#options;
    return prompts.get(language as PromptLanguage) ?? (prompts.get(this.#options.language) as PromptCatalogue);
  }

  /**
   * Starts the call's recording without holding the call back: the greeting
   * plays and keys are collected while the file is created (under load that
   * took over a second, and a caller keying the reference at once lost the
   * first keys). A pause waits for the start, so card capture never begins
   * before the recording is under control; a start that failed fails the
   * pause, and the flow holds capture (waiting-for-recorder).
   */
  #startRecording(call: InboundCall, sessionId: () => string | undefined, own = true): CallRecording {
    const recordings: CallRecording[] = [];
    const dir = this.#options.recordingDir;
    if (dir && own) {
      const day = new Date().toISOString().slice(0, 10);
      mkdirSync(join(dir, day), { recursive: true, mode: 0o700 });
      const started = call.startRecording({ path: join(dir, day, `${call.id}.wav`) });
      started.catch((err: unknown) => {
        if (!call.ended) this.#options.logger.error({ err, leg: call.id }, 'recording did not start; card capture is held');
      });
      recordings.push({ pause: () => started.then(() => call.pauseRecording()), resume: () => started.then(() => call.resumeRecording()) });
    }
    const external = this.#options.externalRecorder?.(call.id, sessionId);
    if (external) recordings.push(external);
    if (recordings.length === 0) return NO_RECORDING;
    return recordings.length === 1 ? (recordings[0] as CallRecording) : allRecordings(recordings);
  }
}

function dialFailure(err: unknown): AgentUnavailableReason {
  const reason = (err as { reason?: unknown }).reason;
  return reason === 'rejected' || reason === 'no-answer' ? reason : 'failed';
}

/** Settles when the leg has ended (at once if it already has). */
function ended(leg: InboundCall): Promise<void> {
  return leg.ended ? Promise.resolve() : new Promise((resolve) => leg.on('ended', () => resolve()));
}
