import { inspect } from 'node:util';
import { CARD_FIELDS, type CaptureErrorType, type CardField, type PaymentResult } from '../../domain/payment-types.js';
import type { Order, OrderLookupResult } from '../orders/order-lookup-port.js';
import type { CardEntry } from './card-entry.js';
import { CommandRejectedError, InvalidStateError } from './flow-errors.js';
import type {
  AgentCommand,
  AuthorisationOutcomeEvent,
  FlowEffect,
  FlowEvent,
  FlowState,
  PaymentFlowOptions,
  ProgressEvent,
  PromptId,
  PromptItem,
  SecureWindowState,
  TimerName,
} from './flow-types.js';
import type { DtmfKey } from '../../domain/dtmf-key.js';

/** Legal moves; a move not listed here throws InvalidStateError. */
export const TRANSITIONS: Readonly<Record<FlowState, readonly FlowState[]>> = {
  idle: ['collecting-reference', 'securing', 'awaiting-agent', 'ended'],
  'collecting-reference': ['collecting-reference', 'looking-up-order', 'ended'],
  'looking-up-order': ['collecting-reference', 'confirming-amount', 'offering-link', 'securing', 'ended'],
  'confirming-amount': ['collecting-reference', 'confirming-link-number', 'securing', 'ended'],
  securing: ['collecting-card', 'ended'],
  'collecting-card': ['collecting-card', 'confirming-card', 'offering-link', 'awaiting-agent', 'authorising', 'ended'],
  'confirming-card': ['collecting-card', 'offering-link', 'authorising', 'ended'],
  'offering-link': ['confirming-link-number', 'securing', 'ended'],
  'confirming-link-number': ['sending-link', 'securing', 'ended'],
  'sending-link': ['securing', 'ended'],
  'awaiting-agent': ['securing', 'collecting-card', 'confirming-card', 'authorising', 'ended'],
  authorising: ['ended'],
  ended: [],
};

const FIELD_ERROR_PROMPT: Readonly<Record<CaptureErrorType, PromptId>> = {
  'invalid-card-number': 'error-invalid-card-number',
  'invalid-card-type': 'error-invalid-card-type',
  'invalid-date': 'error-invalid-date',
  'invalid-security-code': 'error-invalid-security-code',
  'input-timeout': 'error-input-timeout',
  'input-matching-failed': 'error-input-matching-failed',
};

const prompt = (id: PromptId): PromptItem => ({ prompt: id });

/**
 * One payment, driven by events (ARCHITECTURE.md "Layers", "Capture
 * rules"). It does no I/O and keeps no timers: it asks for them as effects and
 * hears of them as events. Card digits go straight into the vault entry it is
 * given; the flow itself holds only counts and verdicts, so its state, its
 * effects and its progress events can be logged and streamed freely.
 *
 * Guarantees (ARCHITECTURE.md "Capture rules"): keys are masked from `start` until the
 * flow hands the call back (`release`), whatever the state; the secure window
 * opens before the first card prompt and stays open between fields, through
 * re-capture and confirmation, until authorisation starts or the flow ends;
 * every path into `ended` closes it (recording resumed) before the `end`
 * effect. A key that arrives while no field is captured is discarded.
 */
export class PaymentFlow {
  #state: FlowState = 'idle';
  #effects: FlowEffect[] = [];
  #now = new Date(0);
  #result: PaymentResult | undefined;

  readonly #card: CardEntry;
  readonly #mode: PaymentFlowOptions['mode'];
  readonly #maxAttempts: number;
  readonly #firstDigitMs: number;
  readonly #interDigitMs: number;
  readonly #confirmCard: boolean;
  readonly #confirmAmount: boolean;
  readonly #autoCapture: boolean;
  readonly #maxReferenceLength: number;
  readonly #recorderTimeoutMs: number;
  readonly #linkOffer: PaymentFlowOptions['linkOffer'];

  #order: Order | undefined;
  #reference = '';
  #referenceAttempts = 0;
  #confirmAttempts = 0;
  #field: CardField | undefined;
  #fieldLength = 0;
  readonly #fieldFailures: Record<CardField, number> = { 'card-number': 0, expiry: 0, 'security-code': 0 };
  readonly #captured = new Set<CardField>();
  /** The previous field completed on its length: a `#` keyed now belongs to it. */
  #absorbHash = false;
  #pendingCapture: { field: CardField; lead: PromptItem[] } | undefined;
  /** The field keyed while the window opened ended (`#`, or its full length): later keys wait for their own prompt. */
  #typedAheadEnded = false;
  /** The recorder refused the pause: keys are dropped again (keyed early) until it confirms one. */
  #pauseRefused = false;
  /** Digits keyed ahead are the field's only if the caller keys on during its prompt; a stray key and silence are not a card number. */
  #typedAheadOnProbation = false;
  /** The prompt items skipped when a field keyed ahead ended before its prompt (the amount, say): said before the next prompt. */
  #owedLead: PromptItem[] = [];
  #introPlayed = false;
  /** Where the link offer was made: after the amount (declining goes on to the card) or after too many card attempts (declining ends). */
  #linkStage: 'amount' | 'failures' | undefined;

  #playSeq = 0;
  /** The barge-in prompt playing now, if any. */
  #playing: number | undefined;
  #finalPlay: number | undefined;
  #released = false;
  #timerSeq = 0;
  #timer: { name: TimerName; token: number } | undefined;

  #keysMasked = false;
  /** Opening: pause asked of the recorder (resume is owed on every exit); open: confirmed, capture may start. */
  #window: SecureWindowState = 'closed';
  /** Keys discarded because no field was being captured. */
  #keyedEarly = 0;
  #callerGone = false;

  constructor(options: PaymentFlowOptions, card: CardEntry) {
    if (options.mode === 'agent-assisted' && !options.order) {
      throw new TypeError('an agent-assisted flow needs the order from its session');
    }
    this.#card = card;
    this.#mode = options.mode;
    this.#order = options.order;
    this.#maxAttempts = options.maxAttempts ?? 3;
    this.#firstDigitMs = options.firstDigitTimeoutMs ?? 10_000;
    this.#interDigitMs = options.interDigitTimeoutMs ?? 5_000;
    this.#linkOffer = options.mode === 'direct' ? options.linkOffer : undefined;
    this.#confirmCard = options.confirmCard ?? false;
    this.#confirmAmount = options.confirmAmount ?? false;
    this.#autoCapture = options.autoCapture ?? true;
    this.#maxReferenceLength = options.maxReferenceLength ?? 20;
    this.#recorderTimeoutMs = options.recorderTimeoutMs ?? 30_000;
  }

  get state(): FlowState {
    return this.#state;
  }

  get result(): PaymentResult | undefined {
    return this.#result;
  }

  get order(): Order | undefined {
    return this.#order;
  }

  /** The field being keyed now, if any. */
  get field(): CardField | undefined {
    return this.#state === 'collecting-card' ? this.#field : undefined;
  }

  get capturedFields(): ReadonlySet<CardField> {
    return this.#captured;
  }

  get secureWindow(): SecureWindowState {
    return this.#window;
  }

  /**
   * Feeds one event; returns the effects to carry out, in order. `now` dates
   * the expiry check and nothing else.
   */
  handle(event: FlowEvent, now: Date = new Date()): FlowEffect[] {
    this.#effects = [];
    this.#now = now;
    switch (event.type) {
      case 'start':
        this.#onStart();
        break;
      case 'digit':
        this.#onDigit(event.key);
        break;
      case 'prompt-finished':
        this.#onPromptFinished(event.playId);
        break;
      case 'timer-expired':
        if (this.#timer?.token === event.token) {
          const name = this.#timer.name;
          this.#timer = undefined;
          this.#onTimer(name);
        }
        break;
      case 'order-lookup-result':
        if (this.#state === 'looking-up-order') this.#onOrderLookup(event.result);
        break;
      case 'recording-paused':
        if (this.#window !== 'opening') break;
        this.#window = 'open';
        this.#progress({ type: 'secure-on' });
        if (this.#state === 'securing' && this.#pendingCapture) {
          const { field, lead } = this.#pendingCapture;
          this.#pendingCapture = undefined;
          if (this.#fieldLength > 0) this.#startTypedAheadField(field, lead);
          else this.#startField(field, lead);
        }
        break;
      case 'recording-pause-failed':
        if (this.#state === 'securing') {
          // No capture while the recording is not known to be paused: what was keyed ahead goes, and the agent is told.
          if (this.#pendingCapture) this.#dropTypedAhead(this.#pendingCapture.field);
          this.#pauseRefused = true;
          this.#progress({ type: 'waiting-for-recorder', reason: event.reason });
        }
        break;
      case 'agent-command':
        this.#onAgentCommand(event.command);
        break;
      case 'authorisation-result':
        if (this.#state === 'authorising') this.#onAuthorisation(event.outcome);
        break;
      case 'link-send-result':
        if (this.#state === 'sending-link') this.#onLinkSendResult(event.sent);
        break;
      case 'hangup':
        this.#onHangup();
        break;
    }
    return this.#effects;
  }

  toJSON(): Record<string, unknown> {
    return {
      state: this.#state,
      mode: this.#mode,
      field: this.#field,
      fieldLength: this.#fieldLength,
      captured: [...this.#captured],
      secureWindow: this.#window,
      result: this.#result,
    };
  }

  [inspect.custom](): string {
    return `PaymentFlow ${JSON.stringify(this.toJSON())}`;
  }

  // ---- events ------------------------------------------------------------

  #onStart(): void {
    if (this.#state !== 'idle') return;
    this.#maskKeys(true);
    if (this.#mode === 'direct') {
      this.#go('collecting-reference');
      this.#playPrompt([prompt('welcome'), prompt('enter-reference')]);
      return;
    }
    if (this.#autoCapture) {
      this.#introPlayed = true;
      this.#secureThenCapture('card-number', [prompt('agent-capture-intro')]);
    } else {
      this.#go('awaiting-agent');
      this.#progress({ type: 'waiting-for-agent' });
    }
  }

  #onDigit(key: DtmfKey): void {
    switch (this.#state) {
      case 'collecting-reference':
        return this.#onReferenceDigit(key);
      case 'collecting-card':
        return this.#onCardDigit(key);
      case 'confirming-amount':
        return this.#onConfirmAmountDigit(key);
      case 'confirming-card':
        return this.#onConfirmCardDigit(key);
      case 'offering-link':
        return this.#onLinkOfferDigit(key);
      case 'confirming-link-number':
        return this.#onLinkNumberDigit(key);
      case 'securing':
        return this.#onTypedAheadDigit(key);
      case 'awaiting-agent':
        return this.#discardEarlyKey();
      default:
        // Keys with nothing to collect (order lookup, authorisation, final
        // prompts) are dropped; masking still covers them.
        return;
    }
  }

  /**
   * Keyed before the prompt, with nothing to collect: masked like every key,
   * then dropped (never stored, never forwarded); the agent is told so they
   * can say "wait".
   */
  #discardEarlyKey(): void {
    this.#progress({ type: 'keyed-early', count: ++this.#keyedEarly });
  }

  #onPromptFinished(playId: number): void {
    if (playId === this.#finalPlay) {
      this.#finalPlay = undefined;
      this.#release();
      return;
    }
    if (playId !== this.#playing) return;
    this.#playing = undefined;
    if (this.#typedAheadOnProbation && this.#state === 'collecting-card') {
      // The caller stopped keying and heard the prompt through: what they keyed before it was not this field.
      this.#typedAheadOnProbation = false;
      const field = this.#field as CardField;
      this.#card.clearField(field);
      this.#fieldLength = 0;
      this.#progress({ type: 'field-restarted', field });
    }
    const waitingForFirstKey =
      (this.#state === 'collecting-reference' && this.#reference.length === 0) ||
      (this.#state === 'collecting-card' && this.#fieldLength === 0) ||
      this.#state === 'confirming-amount' ||
      this.#state === 'confirming-card' ||
      this.#state === 'offering-link' ||
      this.#state === 'confirming-link-number';
    if (waitingForFirstKey) this.#startTimer('first-digit', this.#firstDigitMs);
  }

  #onTimer(name: TimerName): void {
    switch (this.#state) {
      case 'collecting-reference':
        if (name === 'inter-digit' && this.#reference.length > 0) this.#submitReference();
        else this.#referenceFailed('reference-timeout');
        return;
      case 'collecting-card':
        if (name === 'inter-digit' && this.#fieldLength > 0) this.#finishField();
        else this.#fieldFailed('input-timeout');
        return;
      case 'confirming-amount':
        if (++this.#referenceAttempts >= this.#maxAttempts) {
          this.#end('too-many-failed-attempts', [prompt('too-many-attempts')]);
        } else {
          this.#playPrompt([prompt('error-input-timeout'), prompt('amount-is'), this.#amountItem(), prompt('confirm-amount'), ...this.#offerItems('amount')]);
        }
        return;
      case 'offering-link':
        // Silence is not a yes: after the amount the card is asked for, after too many attempts the call ends.
        this.#linkDeclined([]);
        return;
      case 'confirming-link-number':
        this.#linkDeclined([prompt('error-input-timeout')]);
        return;
      case 'confirming-card':
        this.#confirmationFailed('input-timeout');
        return;
      case 'securing':
        if (name === 'recorder') this.#end('internal-error', [prompt('payment-error')]);
        return;
      default:
        return;
    }
  }

  #onOrderLookup(result: OrderLookupResult): void {
    switch (result.kind) {
      case 'found':
        this.#order = result.order;
        this.#emit({ type: 'order-confirmed', order: result.order });
        if (this.#confirmAmount) {
          this.#go('confirming-amount');
          this.#playPrompt([prompt('amount-is'), this.#amountItem(), prompt('confirm-amount'), ...this.#offerItems('amount')]);
        } else if (this.#linkOffer) {
          // No type-ahead into the card here: a 9 keyed now answers the offer, not the card number.
          this.#linkStage = 'amount';
          this.#go('offering-link');
          this.#playPrompt([prompt('amount-is'), this.#amountItem(), prompt('link-offer'), prompt('link-offer-keypad')]);
        } else {
          // The amount and the card prompt play as one, so a caller may key
          // the card number while the amount is read (type-ahead).
          this.#secureThenCapture('card-number', [prompt('amount-is'), this.#amountItem()]);
        }
        return;
      case 'not-found':
        this.#referenceFailed('unknown-reference');
        return;
      case 'already-paid':
        this.#end('already-paid', [prompt('order-already-paid')]);
        return;
      case 'unavailable':
        this.#end('internal-error', [prompt('order-service-unavailable')]);
        return;
    }
  }

  #onAgentCommand(command: AgentCommand): void {
    const reject = (reason: string): never => {
      throw new CommandRejectedError(command.type, this.#state, reason);
    };
    if (this.#state === 'authorising' || this.#state === 'ended') reject('the card capture is over');
    if (command.type === 'cancel') {
      this.#end('cancelled', [prompt('payment-cancelled')]);
      return;
    }
    if (this.#mode !== 'agent-assisted') reject('only agent-assisted payments take field commands');
    if (this.#state === 'idle') reject('the caller has not joined yet');
    switch (command.type) {
      case 'capture':
      case 'recapture': {
        // Asked again while the window opens: what the caller keyed for it meanwhile stays.
        if (this.#state === 'securing' && this.#pendingCapture?.field === command.field) return;
        if (command.type === 'capture' && this.#captured.has(command.field)) {
          reject(`${command.field} is already captured; use recapture`);
        }
        this.#abandonCurrentField();
        this.#captured.delete(command.field);
        const lead = this.#introPlayed ? [] : [prompt('agent-capture-intro')];
        this.#introPlayed = true;
        this.#secureThenCapture(command.field, lead);
        return;
      }
      case 'complete':
        if (this.#captured.size < CARD_FIELDS.length) reject('not every card field is captured');
        this.#afterAllFields();
        return;
    }
  }

  #onAuthorisation(outcome: AuthorisationOutcomeEvent): void {
    switch (outcome.kind) {
      case 'approved':
        this.#progress({ type: 'approved', pspReference: outcome.pspReference });
        this.#end('approved', [
          prompt('payment-approved'),
          prompt('your-payment-reference-is'),
          { say: 'characters', value: outcome.spokenReference },
        ]);
        return;
      case 'declined':
        this.#progress({ type: 'declined', reason: outcome.reason });
        this.#end('declined', [
          prompt(outcome.reason === 'insufficient-funds' ? 'payment-declined-insufficient-funds' : 'payment-declined'),
        ]);
        return;
      case 'error':
        this.#end('psp-error', [prompt('payment-error')]);
        return;
      case 'in-doubt':
        this.#end('in-doubt', [prompt('payment-in-doubt')]);
        return;
    }
  }

  #onHangup(): void {
    if (this.#callerGone) return;
    this.#callerGone = true;
    if (this.#state === 'ended') {
      this.#release();
      return;
    }
    this.#progress({ type: 'caller-hung-up' });
    // Once the PSP has the card (or the link is on its way), its answer decides the payment, caller or not.
    if (this.#state === 'authorising' || this.#state === 'sending-link') return;
    this.#end('caller-hung-up', []);
  }

  // ---- reference (direct pay) --------------------------------------------

  #onReferenceDigit(key: DtmfKey): void {
    if (key === '#') {
      if (this.#reference.length > 0) this.#submitReference();
      return;
    }
    if (key === '*') {
      this.#reference = '';
      this.#cancelTimer();
      this.#playPrompt([prompt('enter-reference')]);
      return;
    }
    if (!isDigit(key)) return;
    this.#bargeIn();
    if (this.#reference.length < this.#maxReferenceLength) this.#reference += key;
    this.#startTimer('inter-digit', this.#interDigitMs);
  }

  #submitReference(): void {
    this.#cancelTimer();
    this.#bargeIn();
    this.#go('looking-up-order');
    this.#emit({ type: 'lookup-order', reference: this.#reference });
  }

  #referenceFailed(why: 'unknown-reference' | 'reference-timeout'): void {
    this.#cancelTimer();
    this.#referenceAttempts++;
    this.#reference = '';
    if (this.#referenceAttempts >= this.#maxAttempts) {
      this.#end('too-many-failed-attempts', [prompt('too-many-attempts')]);
      return;
    }
    this.#go('collecting-reference');
    this.#playPrompt([prompt(why), prompt('enter-reference')]);
  }

  #onConfirmAmountDigit(key: DtmfKey): void {
    if (key === '1') {
      this.#cancelTimer();
      this.#bargeIn();
      this.#secureThenCapture('card-number', []);
    } else if (key === '2') {
      this.#cancelTimer();
      this.#reference = '';
      this.#order = undefined;
      this.#go('collecting-reference');
      this.#playPrompt([prompt('enter-reference')]);
    } else if (key === '9' && this.#linkOffer) {
      this.#linkStage = 'amount';
      this.#chooseLink();
    }
  }

  // ---- payment link by text message (direct pay) -------------------------

  /** The offer's words, when a link may be offered at `stage` (once each: after the amount, after too many attempts). */
  #offerItems(stage: 'amount' | 'failures'): PromptItem[] {
    return this.#linkOffer && this.#linkStage !== stage ? [prompt('link-offer')] : [];
  }

  /**
   * Too many card attempts: the card is wiped and the window closed (no card
   * field is open while the offer plays), then a link is offered, if it may be.
   */
  #tooManyCardAttempts(lead: PromptItem[]): void {
    const offer = this.#offerItems('failures');
    if (offer.length === 0) {
      this.#end('too-many-failed-attempts', [...lead, prompt('too-many-attempts')]);
      return;
    }
    this.#cancelTimer();
    this.#bargeIn();
    this.#field = undefined;
    this.#fieldLength = 0;
    this.#captured.clear();
    this.#closeWindow();
    this.#emit({ type: 'discard-card' });
    this.#linkStage = 'failures';
    this.#go('offering-link');
    this.#playPrompt([...lead, prompt('too-many-attempts'), ...offer]);
  }

  #onLinkOfferDigit(key: DtmfKey): void {
    if (key === '9') {
      this.#chooseLink();
    } else if (key === '1' && this.#linkStage === 'amount') {
      this.#cancelTimer();
      this.#bargeIn();
      this.#secureThenCapture('card-number', []);
    } else {
      // Not an answer to the offer (a card number keyed early, say): masked, dropped.
      this.#progress({ type: 'keyed-early', count: ++this.#keyedEarly });
    }
  }

  #chooseLink(): void {
    this.#cancelTimer();
    this.#bargeIn();
    this.#go('confirming-link-number');
    const ending = this.#linkOffer?.phoneEnding ?? '';
    this.#playPrompt([prompt('link-confirm-number'), { say: 'characters', value: ending }, prompt('link-confirm-keys')]);
  }

  #onLinkNumberDigit(key: DtmfKey): void {
    if (key === '1') {
      this.#cancelTimer();
      this.#bargeIn();
      this.#go('sending-link');
      this.#emit({ type: 'send-link' });
    } else if (key === '2') {
      this.#linkDeclined([]);
    }
  }

  #onLinkSendResult(sent: boolean): void {
    if (sent) {
      this.#end('link-sent', [prompt('link-on-its-way')]);
      return;
    }
    if (this.#callerGone) {
      this.#end('caller-hung-up', []);
      return;
    }
    this.#linkDeclined([prompt('link-not-sent')]);
  }

  /** No link (declined, silence, or it could not be sent): back to the keypad after the amount, the end after too many attempts. */
  #linkDeclined(lead: PromptItem[]): void {
    this.#cancelTimer();
    this.#bargeIn();
    if (this.#linkStage === 'failures') {
      this.#end('too-many-failed-attempts', lead);
      return;
    }
    this.#secureThenCapture('card-number', lead);
  }

  // ---- card fields -------------------------------------------------------

  /** The secure window opens (recording paused and confirmed) before the first card prompt (ARCHITECTURE.md "Capture rules"). */
  #secureThenCapture(field: CardField, lead: PromptItem[]): void {
    this.#maskKeys(true);
    if (this.#window === 'open') {
      this.#startField(field, lead);
      return;
    }
    if (this.#state !== 'securing') this.#go('securing');
    // What the caller keys from now on is this field's, typed ahead of its prompt.
    this.#dropTypedAhead(field);
    this.#pauseRefused = false;
    this.#pendingCapture = { field, lead };
    if (this.#window === 'closed') {
      this.#window = 'opening';
      this.#emit({ type: 'secure-window', on: true });
      this.#emit({ type: 'recording', action: 'pause' });
      this.#startTimer('recorder', this.#recorderTimeoutMs);
    }
  }

  /**
   * A key while the secure window opens (the recorder has not confirmed the
   * pause yet): the field about to be prompted for is known, masking is
   * already on and no key reaches a recording in any state, so a caller who
   * keys at once (as the agent asked, or before the amount is read) keeps
   * the digits, into the vault like any other; only the prompt waits for
   * the recorder. `*` restarts, `#` or the field's full length ends it; keys
   * after that wait for their own prompt (dropped, as keyed early).
   */
  #onTypedAheadDigit(key: DtmfKey): void {
    const field = this.#pendingCapture?.field;
    if (!field || this.#pauseRefused) return this.#discardEarlyKey();
    if (key === '*') return this.#dropTypedAhead(field);
    if (key === '#') {
      if (this.#absorbHash) this.#absorbHash = false;
      else if (this.#fieldLength > 0) this.#typedAheadEnded = true;
      return;
    }
    if (this.#typedAheadEnded) return this.#discardEarlyKey();
    if (!isDigit(key)) return;
    const progress = this.#card.appendDigit(field, key);
    this.#fieldLength = progress.length;
    if (progress.complete) {
      this.#typedAheadEnded = true;
      this.#absorbHash = true;
    }
  }

  /** Empties what was keyed ahead for `field` (`*`, a new capture, a refused pause, the agent switching field). */
  #dropTypedAhead(field: CardField): void {
    this.#card.clearField(field);
    this.#fieldLength = 0;
    this.#typedAheadEnded = false;
    this.#absorbHash = false;
  }

  /**
   * The window is open and the caller has keyed part or all of the field
   * already. An ended field is taken as keyed, and what its prompt would
   * have said first (the amount) is said before the next prompt. Otherwise
   * the prompt plays as ever, barged in on by the caller's next key; if
   * none comes before it ends, the digits were stray (a double press at the
   * amount, say) and the field starts empty.
   */
  #startTypedAheadField(field: CardField, lead: PromptItem[]): void {
    this.#cancelTimer();
    this.#go('collecting-card');
    this.#field = field;
    this.#progress({ type: 'field-started', field, attempt: this.#fieldFailures[field] + 1 });
    this.#progress({ type: 'digit-entered', field, count: this.#fieldLength });
    if (this.#typedAheadEnded) {
      // Owed to the next field's prompt only (#startField takes it), not to a later one.
      this.#owedLead = lead;
      this.#finishField();
      this.#owedLead = [];
      return;
    }
    this.#typedAheadOnProbation = true;
    this.#playPrompt([...lead, prompt(this.#fieldPrompt(field))]);
  }

  #startField(field: CardField, lead: PromptItem[]): void {
    this.#typedAheadOnProbation = false;
    this.#cancelTimer();
    this.#go('collecting-card');
    this.#field = field;
    this.#fieldLength = 0;
    this.#card.clearField(field);
    this.#progress({ type: 'field-started', field, attempt: this.#fieldFailures[field] + 1 });
    const owed = this.#owedLead;
    this.#owedLead = [];
    this.#playPrompt([...owed, ...lead, prompt(this.#fieldPrompt(field))]);
  }

  #fieldPrompt(field: CardField): PromptId {
    if (field === 'card-number') return 'enter-card-number';
    if (field === 'expiry') return 'enter-expiry';
    return this.#card.summary().brand === 'amex' ? 'enter-security-code-amex' : 'enter-security-code';
  }

  #onCardDigit(key: DtmfKey): void {
    const field = this.#field as CardField;
    this.#typedAheadOnProbation = false;
    if (key === '#') {
      if (this.#absorbHash) this.#absorbHash = false;
      else if (this.#fieldLength > 0) this.#finishField();
      return;
    }
    this.#absorbHash = false;
    if (key === '*') {
      this.#card.clearField(field);
      this.#fieldLength = 0;
      this.#cancelTimer();
      this.#progress({ type: 'field-restarted', field });
      this.#playPrompt([prompt('field-restarted'), prompt(this.#fieldPrompt(field))]);
      return;
    }
    if (!isDigit(key)) return;
    this.#bargeIn();
    const progress = this.#card.appendDigit(field, key);
    if (progress.length !== this.#fieldLength) {
      this.#fieldLength = progress.length;
      this.#progress({ type: 'digit-entered', field, count: progress.length });
    }
    if (progress.complete) {
      this.#absorbHash = true;
      this.#finishField();
    } else {
      this.#startTimer('inter-digit', this.#interDigitMs);
    }
  }

  #finishField(): void {
    const field = this.#field as CardField;
    this.#cancelTimer();
    const verdict = this.#card.verify(field, this.#now);
    if (!verdict.ok) {
      this.#fieldFailed(verdict.error);
      return;
    }
    this.#emit({ type: 'capture-attempt', field, attempt: this.#fieldFailures[field] + 1, outcome: 'accepted' });
    this.#captured.add(field);
    if (field === 'card-number') {
      const { brand, last4 } = this.#card.summary();
      this.#progress({
        type: 'field-complete',
        field,
        valid: true,
        ...(brand ? { brand } : {}),
        ...(last4 ? { last4 } : {}),
      });
    } else {
      this.#progress({ type: 'field-complete', field, valid: true });
    }
    this.#nextField();
  }

  #fieldFailed(error: CaptureErrorType): void {
    const field = this.#field as CardField;
    this.#cancelTimer();
    this.#absorbHash = false;
    this.#card.clearField(field);
    const attempt = ++this.#fieldFailures[field];
    const attemptsLeft = Math.max(0, this.#maxAttempts - attempt);
    this.#emit({ type: 'capture-attempt', field, attempt, outcome: error });
    this.#progress({ type: 'field-error', field, error, attempt, attemptsLeft });
    if (attemptsLeft === 0) {
      this.#tooManyCardAttempts([prompt(FIELD_ERROR_PROMPT[error])]);
      return;
    }
    this.#startField(field, [prompt(FIELD_ERROR_PROMPT[error])]);
  }

  /** Agent switched fields mid-entry: the half-keyed field is dropped, not failed. */
  #abandonCurrentField(): void {
    if (this.#state === 'collecting-card' && this.#field) {
      this.#card.clearField(this.#field);
      this.#fieldLength = 0;
      this.#cancelTimer();
      this.#bargeIn();
    }
    // Keyed ahead for a field the agent no longer asks for.
    if (this.#state === 'securing' && this.#pendingCapture) this.#dropTypedAhead(this.#pendingCapture.field);
    this.#pendingCapture = undefined;
  }

  #nextField(): void {
    if (this.#mode === 'agent-assisted' && !this.#autoCapture) {
      // The window stays open: a caller who keys the next field before the
      // agent asks for it is masked and not recorded.
      this.#go('awaiting-agent');
      this.#progress({ type: 'waiting-for-agent' });
      return;
    }
    const next = CARD_FIELDS.find((f) => !this.#captured.has(f));
    if (next) this.#startField(next, []);
    else this.#afterAllFields();
  }

  #afterAllFields(): void {
    // Confirmation stays inside the window: "2" re-captures the card.
    if (!this.#confirmCard) {
      this.#authorise();
      return;
    }
    this.#go('confirming-card');
    const { last4 } = this.#card.summary();
    this.#playPrompt([prompt('confirm-card-ending'), { say: 'characters', value: last4 ?? '' }, prompt('confirm-card-keys')]);
  }

  #onConfirmCardDigit(key: DtmfKey): void {
    if (key === '1') {
      this.#cancelTimer();
      this.#bargeIn();
      this.#authorise();
    } else if (key === '2') {
      this.#confirmationFailed('input-matching-failed');
    }
  }

  #confirmationFailed(error: 'input-matching-failed' | 'input-timeout'): void {
    this.#cancelTimer();
    this.#bargeIn();
    const attempt = ++this.#confirmAttempts;
    const attemptsLeft = Math.max(0, this.#maxAttempts - attempt);
    this.#progress({ type: 'field-error', field: 'card-number', error, attempt, attemptsLeft });
    if (attemptsLeft === 0) {
      this.#tooManyCardAttempts([]);
      return;
    }
    if (error === 'input-timeout') {
      this.#playPrompt([prompt('error-input-timeout'), prompt('confirm-card-keys')]);
      return;
    }
    for (const field of CARD_FIELDS) this.#card.clearField(field);
    this.#captured.clear();
    this.#secureThenCapture('card-number', [prompt('error-input-matching-failed')]);
  }

  #authorise(): void {
    // The card is complete: recording resumes (ARCHITECTURE.md "Capture rules").
    this.#closeWindow();
    this.#go('authorising');
    this.#progress({ type: 'authorising' });
    this.#playPrompt([prompt('please-wait')], false);
    this.#emit({ type: 'authorise' });
  }

  // ---- ending ------------------------------------------------------------

  #end(result: PaymentResult, finalPrompts: PromptItem[]): void {
    this.#cancelTimer();
    if (this.#playing !== undefined) {
      this.#playing = undefined;
      this.#emit({ type: 'stop-playback' });
    }
    this.#closeWindow();
    this.#emit({ type: 'discard-card' });
    this.#go('ended');
    this.#result = result;
    this.#progress({ type: 'ended', result });
    this.#emit({ type: 'end', result });
    const items = this.#mode === 'direct' ? [...finalPrompts, prompt('goodbye')] : finalPrompts;
    if (this.#callerGone || items.length === 0) {
      this.#release();
      return;
    }
    this.#finalPlay = ++this.#playSeq;
    this.#emit({ type: 'play', playId: this.#finalPlay, items, bargeIn: false });
  }

  #release(): void {
    if (this.#released) return;
    this.#released = true;
    this.#maskKeys(false);
    this.#emit({ type: 'release' });
  }

  #maskKeys(on: boolean): void {
    if (this.#keysMasked === on) return;
    this.#keysMasked = on;
    this.#emit({ type: 'mask', on });
  }

  #closeWindow(): void {
    if (this.#window === 'closed') return;
    const wasOpen = this.#window === 'open';
    this.#window = 'closed';
    this.#pendingCapture = undefined;
    this.#emit({ type: 'secure-window', on: false });
    this.#emit({ type: 'recording', action: 'resume' });
    if (wasOpen) this.#progress({ type: 'secure-off' });
  }

  // ---- plumbing ----------------------------------------------------------

  #go(next: FlowState): void {
    if (!TRANSITIONS[this.#state].includes(next)) throw new InvalidStateError(this.#state, next);
    this.#state = next;
  }

  #playPrompt(items: PromptItem[], bargeIn = true): void {
    const playId = ++this.#playSeq;
    this.#playing = bargeIn ? playId : undefined;
    this.#emit({ type: 'play', playId, items, bargeIn });
  }

  /** A key during a barge-in prompt stops it; the key itself is kept (type-ahead). */
  #bargeIn(): void {
    if (this.#playing === undefined) return;
    this.#playing = undefined;
    this.#emit({ type: 'stop-playback' });
  }

  #startTimer(name: TimerName, ms: number): void {
    this.#timer = { name, token: ++this.#timerSeq };
    this.#emit({ type: 'start-timer', timer: name, ms, token: this.#timer.token });
  }

  #cancelTimer(): void {
    if (!this.#timer) return;
    this.#timer = undefined;
    this.#emit({ type: 'cancel-timer' });
  }

  #amountItem(): PromptItem {
    const order = this.#order as Order;
    return { say: 'amount', amountMinor: order.amountMinor, currency: order.currency };
  }

  #progress(event: ProgressEvent): void {
    this.#emit({ type: 'progress', event });
  }

  #emit(effect: FlowEffect): void {
    this.#effects.push(effect);
  }
}

function isDigit(key: DtmfKey): boolean {
  return key >= '0' && key <= '9' && key.length === 1;
}
