import type { Logger } from 'pino';
import { statusForResult, type PaymentResult, type PaymentStatus } from '../../domain/payment-types.js';
import { PaymentFlow } from '../flow/payment-flow.js';
import type {
  AgentCommand,
  AuthorisationOutcomeEvent,
  FlowEffect,
  FlowEvent,
  PaymentFlowOptions,
  ProgressEvent,
} from '../flow/flow-types.js';
import type { DtmfKey } from '../../domain/dtmf-key.js';
import type { OrderLookup } from '../orders/order-lookup-port.js';
import type { CardVault, VaultRef } from '../../vault/card-vault.js';
import { vaultCardEntry } from './vault-card-entry.js';
import type { Authoriser } from '../../psp/authoriser.js';
import type { PaymentSessionRecord, PaymentStore } from '../../store/payment-store.js';
import type { AuditLog } from '../../store/audit-log.js';
import type { Actor } from '../../domain/actor.js';
import type { CallMedia } from './call-media.js';
import { NO_CALL_METRICS, type CallMetrics } from './call-metrics.js';
import type { PaymentLinkService } from '../links/payment-link-service.js';
import { InvalidPhoneNumberError } from '../../sms/phone-number.js';
import { newOpaqueId } from '../../domain/opaque-id.js';

export interface PaymentCallDeps {
  readonly store: PaymentStore;
  /** Where the call's and the agent's actions on the payment are audited. */
  readonly audit: AuditLog;
  readonly vault: CardVault;
  readonly authoriser: Authoriser;
  readonly orders: OrderLookup;
  readonly logger: Logger;
  /** Where masked progress goes (agent-bridge's stream). */
  readonly onProgress?: (sessionId: string | undefined, event: ProgressEvent) => void;
  /** NODE_ID, stamped on the sessions this node's calls create. Default: none. */
  readonly nodeId?: string;
  /** Default: the wall clock. */
  readonly now?: () => Date;
  /** Card prompts reached, field errors, payments by status, time to pay. Default: none. */
  readonly metrics?: CallMetrics;
  /** Payment links: a session's link is closed at the PSP before a keyed card is authorised. Default: none. */
  readonly links?: PaymentLinkService;
  /** Direct pay: offer a link by text message to a caller on a mobile number (PAYMENT_LINK_OFFER). Default false. */
  readonly linkOffer?: boolean;
  /** Text the caller the payment's reference when approved or in doubt (SMS_RECEIPTS). Default false. */
  readonly smsReceipts?: boolean;
}

export interface PaymentCallOptions {
  /** The telephony call's id (SIP Call-ID or media server uuid). */
  readonly callId: string;
  readonly media: CallMedia;
  /** Flow settings; for agent-assisted calls `session` supplies the order. */
  readonly flow: Omit<PaymentFlowOptions, 'order'>;
  /** The agent-assisted session this call joins. */
  readonly session?: PaymentSessionRecord;
  readonly language?: string;
  /** When the call was answered: the start of the time to pay. Default: when this object was made. */
  readonly answeredAt?: Date;
  /** Told the id of the session a direct-pay call creates once its order is found. Default: none. */
  readonly onSessionCreated?: (sessionId: string) => void;
  /** The number the caller calls from (the From URI's user part), for a payment link or a receipt. */
  readonly callerNumber?: string;
}

/** Statuses the runtime leaves alone: the authoriser and reconciler own them. */
const AUTHORISER_OWNED: ReadonlySet<PaymentStatus> = new Set(['approved', 'declined', 'in_doubt', 'error']);

/**
 * Runs one payment flow on one call: feeds it events from the caller, the
 * agent, timers, the order lookup and the PSP, and carries out its effects
 * against the call's media, the vault, the store and the authoriser. Events
 * are handled one at a time, in order, so the flow never sees re-entrancy.
 */
export class PaymentCall {
  readonly callId: string;
  readonly #deps: PaymentCallDeps;
  readonly #media: CallMedia;
  readonly #flow: PaymentFlow;
  readonly #vaultRef: VaultRef;
  readonly #actor: Actor;
  readonly #language: string | undefined;
  readonly #metrics: CallMetrics;
  readonly #mode: PaymentFlowOptions['mode'];
  readonly #answeredAt: Date;
  readonly #onSessionCreated: ((sessionId: string) => void) | undefined;
  readonly #callerNumber: string | undefined;
  #cardPromptReached = false;
  readonly #queue: FlowEvent[] = [];
  #draining = false;
  #session: PaymentSessionRecord | undefined;
  /** Known as soon as the order is confirmed, before the store has written the session. */
  #sessionId: string | undefined;
  /**
   * The call's store and audit writes, one after another in the order the
   * flow asked for them (the flow itself runs synchronously and never waits
   * for the store): a session is written before its attempts, its status
   * before the authorisation reads it.
   */
  #writes: Promise<void> = Promise.resolve();
  #timer: NodeJS.Timeout | undefined;
  #resolveDone!: (result: PaymentResult) => void;
  /** Settles with the flow's result once the call is released. */
  readonly done: Promise<PaymentResult>;

  constructor(deps: PaymentCallDeps, options: PaymentCallOptions) {
    this.#deps = deps;
    this.callId = options.callId;
    this.#media = options.media;
    this.#session = options.session;
    this.#sessionId = options.session?.id;
    this.#language = options.language;
    this.#metrics = deps.metrics ?? NO_CALL_METRICS;
    this.#mode = options.flow.mode;
    this.#answeredAt = options.answeredAt ?? this.#now();
    this.#onSessionCreated = options.onSessionCreated;
    this.#callerNumber = options.callerNumber;
    this.#actor = { kind: 'call', id: options.callId };
    this.#vaultRef = deps.vault.open();
    const order = options.session
      ? {
          reference: options.session.reference,
          amountMinor: options.session.amountMinor,
          currency: options.session.currency,
          ...(options.session.description ? { description: options.session.description } : {}),
        }
      : undefined;
    const linkOffer = this.#linkOffer(options.flow.mode);
    this.#flow = new PaymentFlow(
      { ...options.flow, ...(order ? { order } : {}), ...(linkOffer ? { linkOffer } : {}) },
      vaultCardEntry(deps.vault, this.#vaultRef),
    );
    this.done = new Promise((resolve) => (this.#resolveDone = resolve));
  }

  get sessionId(): string | undefined {
    return this.#sessionId;
  }

  get flow(): PaymentFlow {
    return this.#flow;
  }

  start(): void {
    const session = this.#session;
    if (session && session.callId !== this.callId) {
      this.#persist('join', async () => {
        this.#session = await this.#deps.store.updateSession(session.id, { callId: this.callId });
      });
    }
    this.#audit('call-started', { mode: this.#session ? 'agent-assisted' : 'direct' });
    this.#dispatch({ type: 'start' });
  }

  /** A key the media server detected (RFC 4733, INFO or in-band: the flow does not care which). */
  digit(key: DtmfKey): void {
    this.#dispatch({ type: 'digit', key });
  }

  hangup(): void {
    this.#dispatch({ type: 'hangup' });
  }

  /**
   * An agent's command, applied at once so a refusal reaches the caller of
   * this method (CommandRejectedError → HTTP 409).
   */
  command(command: AgentCommand, actor: Actor): void {
    if (this.#draining) throw new Error('payment call is busy; retry');
    this.#audit('agent-command', { command: command.type, ...('field' in command ? { field: command.field } : {}) }, actor);
    this.#dispatch({ type: 'agent-command', command });
  }

  #dispatch(event: FlowEvent): void {
    this.#queue.push(event);
    if (this.#draining) return;
    this.#draining = true;
    try {
      for (let next = this.#queue.shift(); next; next = this.#queue.shift()) {
        const effects = this.#flow.handle(next, this.#now());
        for (const effect of effects) this.#applySafely(effect);
      }
    } catch (err) {
      this.#queue.length = 0;
      throw err;
    } finally {
      this.#draining = false;
    }
  }

  /**
   * One effect failing (the store refusing a write, say) must not leave the
   * caller in silence or take the process down: it is logged, and the
   * remaining effects, release included, still run.
   */
  #applySafely(effect: FlowEffect): void {
    try {
      this.#apply(effect);
    } catch (err) {
      this.#deps.logger.error({ err, callId: this.callId, sessionId: this.sessionId, effect: effect.type }, 'payment call effect failed');
    }
  }

  #apply(effect: FlowEffect): void {
    switch (effect.type) {
      case 'play':
        this.#media.play(effect.items, { bargeIn: effect.bargeIn }).then(
          () => this.#dispatch({ type: 'prompt-finished', playId: effect.playId }),
          (err: unknown) => {
            this.#deps.logger.warn({ err, callId: this.callId }, 'prompt playback failed');
            this.#dispatch({ type: 'prompt-finished', playId: effect.playId });
          },
        );
        return;
      case 'stop-playback':
        this.#media.stopPlayback();
        return;
      case 'start-timer':
        clearTimeout(this.#timer);
        this.#timer = setTimeout(() => this.#dispatch({ type: 'timer-expired', token: effect.token }), effect.ms);
        return;
      case 'cancel-timer':
        clearTimeout(this.#timer);
        this.#timer = undefined;
        return;
      case 'mask':
        this.#media.setMasking(effect.on);
        this.#audit(effect.on ? 'masking-on' : 'masking-off');
        return;
      case 'secure-window':
        this.#media.setSecureWindow(effect.on);
        this.#audit(effect.on ? 'secure-window-on' : 'secure-window-off');
        return;
      case 'recording':
        this.#applyRecording(effect.action);
        return;
      case 'lookup-order':
        this.#deps.orders.find(effect.reference).then(
          (result) => this.#dispatch({ type: 'order-lookup-result', result }),
          (err: unknown) =>
            this.#dispatch({ type: 'order-lookup-result', result: { kind: 'unavailable', reason: String(err) } }),
        );
        return;
      case 'order-confirmed': {
        // The id is ours, so events and audit rows can name the session before the store has written it.
        const id = newOpaqueId('pay');
        this.#sessionId = id;
        const { order } = effect;
        this.#persist('create-session', async () => {
          this.#session = await this.#deps.store.createSession({
            id,
            mode: 'direct',
            reference: order.reference,
            amountMinor: order.amountMinor,
            currency: order.currency,
            description: order.description ?? null,
            callId: this.callId,
            language: this.#language ?? null,
            nodeId: this.#deps.nodeId ?? null,
          });
        });
        this.#audit('order-found', { reference: order.reference, amountMinor: order.amountMinor });
        this.#onSessionCreated?.(id);
        return;
      }
      case 'capture-attempt':
        if (this.#sessionId) {
          const attempt = { sessionId: this.#sessionId, field: effect.field, attempt: effect.attempt, outcome: effect.outcome };
          this.#persist('capture-attempt', async () => {
            await this.#deps.store.recordCaptureAttempt(attempt);
          });
        }
        this.#audit(effect.outcome === 'accepted' ? 'field-accepted' : 'field-refused', {
          field: effect.field,
          attempt: effect.attempt,
          outcome: effect.outcome,
        });
        return;
      case 'authorise':
        this.#authorise();
        return;
      case 'send-link':
        this.#sendLink();
        return;
      case 'discard-card':
        this.#deps.vault.discard(this.#vaultRef);
        return;
      case 'progress':
        this.#onProgress(effect.event);
        return;
      case 'end':
        this.#onEnd(effect.result);
        return;
      case 'release': {
        clearTimeout(this.#timer);
        this.#media.release();
        // Done once the call's writes are in: whoever waits for it reads the final status.
        const result = this.#flow.result ?? 'internal-error';
        void this.#writes.then(() => this.#resolveDone(result));
        return;
      }
    }
  }

  #applyRecording(action: 'pause' | 'resume'): void {
    if (action === 'pause') {
      this.#media.pauseRecording().then(
        () => {
          this.#audit('recording-paused');
          this.#dispatch({ type: 'recording-paused' });
        },
        (err: unknown) => {
          this.#audit('recording-pause-failed', { reason: String(err) });
          this.#dispatch({ type: 'recording-pause-failed', reason: String(err) });
        },
      );
      return;
    }
    this.#media.resumeRecording().then(
      () => this.#audit('recording-resumed'),
      (err: unknown) => {
        this.#deps.logger.error({ err, callId: this.callId }, 'recording did not resume');
        this.#audit('recording-resume-failed', { reason: String(err) });
      },
    );
  }

  /** PAYMENT_LINK_OFFER: a link may be offered on a direct-pay call from a number that reads as a mobile. */
  #linkOffer(mode: PaymentFlowOptions['mode']): PaymentFlowOptions['linkOffer'] {
    const links = this.#deps.links;
    if (!this.#deps.linkOffer || !links || mode !== 'direct' || !this.#callerNumber) return undefined;
    try {
      const phone = links.phoneNumber(this.#callerNumber);
      return phone.mobile ? { phoneEnding: phone.ending(3) } : undefined;
    } catch (err) {
      if (err instanceof InvalidPhoneNumberError) return undefined;
      throw err;
    }
  }

  /** The caller confirmed their number's ending: the link goes to the number they call from (the service audits every refusal). */
  #sendLink(): void {
    const links = this.#deps.links;
    const sessionId = this.sessionId;
    const phone = this.#callerNumber;
    if (!links || !sessionId || !phone) {
      this.#dispatch({ type: 'link-send-result', sent: false });
      return;
    }
    // After the call's writes so far: the service reads the session the call created.
    void this.#writes.then(() => links.send(sessionId, { phone, actor: this.#actor, requireMobile: true })).then(
      () => this.#dispatch({ type: 'link-send-result', sent: true }),
      (err: unknown) => {
        // The error's name only: a provider's answer may quote the number.
        this.#deps.logger.warn({ error: err instanceof Error ? err.name : 'unknown', callId: this.callId, sessionId }, 'payment link not sent');
        this.#dispatch({ type: 'link-send-result', sent: false });
      },
    );
  }

  #authorise(): void {
    this.#persist('authorise', async () => {
      const session = this.#session;
      if (!session) {
        this.#dispatch({ type: 'authorisation-result', outcome: { kind: 'error', code: 'no-session' } });
        return;
      }
      const links = this.#deps.links;
      if (links && (await this.#deps.store.getSession(session.id))?.status === 'link-sent') {
        // One session, two ways to pay: the link is closed at the PSP before the keyed card is sent, so only one can succeed.
        links
          .withdrawForKeypad(session.id)
          .then(async (found) => {
            if (found !== 'paid') return this.#authoriseCard();
            const paid = await this.#deps.store.getSession(session.id);
            this.#dispatch({
              type: 'authorisation-result',
              outcome: paid?.status === 'approved' && paid.pspReference ? { kind: 'approved', pspReference: paid.pspReference, spokenReference: paid.confirmation ?? '' } : { kind: 'error', code: 'paid-by-link' },
            });
          })
          .catch((err: unknown) => {
            this.#deps.logger.error({ err, callId: this.callId, sessionId: session.id }, 'the payment link could not be closed: the keyed card is not sent');
            this.#dispatch({ type: 'authorisation-result', outcome: { kind: 'error', code: 'link-still-open' } });
          });
        return;
      }
      this.#authoriseCard();
    });
  }

  /** Marks the session authorising with the card's brand and last four, then redeems the vaulted card. */
  #authoriseCard(): void {
    const { brand, last4 } = this.#deps.vault.summary(this.#vaultRef);
    this.#persist('authorise', async () => {
      const session = this.#session;
      if (!session) {
        this.#dispatch({ type: 'authorisation-result', outcome: { kind: 'error', code: 'no-session' } });
        return;
      }
      try {
        this.#session = await this.#deps.store.updateSession(session.id, { status: 'authorising', cardBrand: brand, cardLast4: last4 });
      } catch (err) {
        // No record, no charge (PSP intents are written before the call): the caller hears the apology instead.
        this.#deps.logger.error({ err, callId: this.callId, sessionId: session.id }, 'store not writable: authorisation not attempted');
        this.#dispatch({ type: 'authorisation-result', outcome: { kind: 'error', code: 'store-unavailable' } });
        return;
      }
      this.#redeem(session);
    });
  }

  /** Hands the vaulted card to the authoriser (never waited for in the write queue: the PSP may take seconds). */
  #redeem(session: PaymentSessionRecord): void {
    this.#deps.vault
      .redeem(this.#vaultRef, this.#now(), (card) => this.#deps.authoriser.authorise(this.#session!, card, this.#actor))
      .then(
        (result): AuthorisationOutcomeEvent => {
          switch (result.kind) {
            case 'approved':
              return { kind: 'approved', pspReference: result.pspReference, spokenReference: result.confirmation };
            case 'declined':
              return { kind: 'declined', reason: result.reason };
            case 'error':
              return { kind: 'error', code: result.code };
            case 'in-doubt':
              return { kind: 'in-doubt' };
          }
        },
        (err: unknown): AuthorisationOutcomeEvent => {
          this.#deps.logger.error({ err, callId: this.callId, sessionId: session.id }, 'authorisation failed');
          return { kind: 'error', code: 'authorisation-failed' };
        },
      )
      .then((outcome) => this.#dispatch({ type: 'authorisation-result', outcome }));
  }

  #onProgress(event: ProgressEvent): void {
    this.#count(event);
    if (event.type === 'field-started') {
      this.#persist('capturing', async () => {
        const session = this.#session;
        if (session?.status === 'pending') this.#session = await this.#deps.store.updateSession(session.id, { status: 'capturing' });
      });
    }
    if (event.type === 'caller-hung-up') this.#audit('caller-hung-up');
    this.#deps.onProgress?.(this.sessionId, event);
  }

  #count(event: ProgressEvent): void {
    switch (event.type) {
      case 'field-started':
        if (event.field === 'card-number' && !this.#cardPromptReached) {
          this.#cardPromptReached = true;
          this.#metrics.cardPromptReached(this.#mode);
        }
        return;
      case 'field-error':
        this.#metrics.fieldError(event.field, event.error);
        return;
      case 'keyed-early':
        this.#metrics.keyDiscarded(this.#mode);
        return;
      case 'approved':
        this.#metrics.timeToPay(this.#mode, Math.max(0, this.#now().getTime() - this.#answeredAt.getTime()) / 1000);
        return;
      default:
        return;
    }
  }

  #onEnd(result: PaymentResult): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#persist('end', async () => {
      const session = this.#session && (await this.#deps.store.getSession(this.#session.id));
      if (!session) return;
      const owned = AUTHORISER_OWNED.has(session.status);
      this.#metrics.paymentEnded(this.#mode, owned ? session.status : statusForResult(result));
      // link-sent: the link service owns the status now (the PSP's webhook or the sweep settles it).
      if (!owned && result !== 'link-sent') this.#session = await this.#deps.store.updateSession(session.id, { status: statusForResult(result) });
    });
    this.#audit('payment-ended', { result });
    this.#deps.logger.info({ callId: this.callId, sessionId: this.sessionId, result }, 'payment flow ended');
    // SMS_RECEIPTS: the reference by text, which also keeps the in-doubt prompt's promise of a confirmation.
    if (this.#deps.smsReceipts && this.#deps.links && this.#callerNumber && this.sessionId && (result === 'approved' || result === 'in-doubt')) {
      const [links, sessionId, number] = [this.#deps.links, this.sessionId, this.#callerNumber];
      // After the final status is written: the receipt quotes the confirmation.
      void this.#writes.then(() => links.sendReceipt(sessionId, result === 'approved' ? 'receipt' : 'inDoubt', number));
    }
  }

  /** Audited after the call's writes before it (its session exists by then); a refused write is logged, never thrown into a media callback. */
  #audit(action: string, detail: Record<string, unknown> = {}, actor: Actor = this.#actor): void {
    const sessionId = this.sessionId ?? null;
    this.#persist(action, async () => {
      await this.#deps.audit.append({ sessionId, actor, action, detail });
    });
  }

  /**
   * Queues one write behind the call's earlier ones. A write that fails is
   * logged and the next still runs: a store refusing a write must not leave
   * the caller in silence or take the process down.
   */
  #persist(what: string, write: () => Promise<void>): void {
    this.#writes = this.#writes.then(write).catch((err: unknown) => {
      this.#deps.logger.error({ err, callId: this.callId, sessionId: this.sessionId, write: what }, 'payment call write failed');
    });
  }

  #now(): Date {
    return this.#deps.now?.() ?? new Date();
  }
}
