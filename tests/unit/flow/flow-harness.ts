import { CardVault, type VaultRef } from '../../../vault/card-vault.js';
import { vaultCardEntry } from '../../../ivr/call/vault-card-entry.js';
import { PaymentFlow } from '../../../ivr/flow/payment-flow.js';
import type {
  FlowEffect,
  FlowEvent,
  FlowState,
  PaymentFlowOptions,
  ProgressEvent,
} from '../../../ivr/flow/flow-types.js';
import type { DtmfKey } from '../../../domain/dtmf-key.js';
import type { CardBrand } from '../../../domain/card-brand.js';

export const NOW = new Date('2026-11-22T10:00:00Z');
export const DEMO_ORDER = { reference: '1001', amountMinor: 4250, currency: 'EUR' } as const;

/** Every (from → to) state change any harness saw, to check the table is exercised. */
export const observedTransitions = new Set<string>();

/**
 * Drives a PaymentFlow over a real CardVault the way the runtime does, and
 * keeps what it asked for: the last prompt, the running timer, mask and
 * recording state.
 */
export class FlowHarness {
  readonly vault: CardVault;
  /** The vault entry the flow fills. */
  readonly ref: VaultRef;
  readonly flow: PaymentFlow;
  readonly effects: FlowEffect[] = [];
  lastPlay: Extract<FlowEffect, { type: 'play' }> | undefined;
  timer: { token: number; timer: string } | undefined;
  masked = false;
  secureWindow = false;
  recordingPaused = false;

  constructor(options: PaymentFlowOptions, accepted: CardBrand[] = ['visa', 'mastercard', 'amex']) {
    this.vault = new CardVault({ acceptedBrands: new Set(accepted) });
    this.ref = this.vault.open();
    this.flow = new PaymentFlow(options, vaultCardEntry(this.vault, this.ref));
  }

  get state(): FlowState {
    return this.flow.state;
  }

  send(event: FlowEvent): FlowEffect[] {
    const before = this.flow.state;
    const out = this.flow.handle(event, NOW);
    const after = this.flow.state;
    observedTransitions.add(`${before}->${after}`);
    for (const effect of out) {
      this.effects.push(effect);
      if (effect.type === 'play') this.lastPlay = effect;
      if (effect.type === 'start-timer') this.timer = { token: effect.token, timer: effect.timer };
      if (effect.type === 'cancel-timer') this.timer = undefined;
      if (effect.type === 'mask') this.masked = effect.on;
      if (effect.type === 'secure-window') this.secureWindow = effect.on;
      if (effect.type === 'recording') this.recordingPaused = effect.action === 'pause';
    }
    return out;
  }

  start(): FlowEffect[] {
    return this.send({ type: 'start' });
  }

  keys(keys: string): FlowEffect[] {
    const out: FlowEffect[] = [];
    for (const key of keys) out.push(...this.send({ type: 'digit', key: key as DtmfKey }));
    return out;
  }

  finishPrompt(): FlowEffect[] {
    if (!this.lastPlay) throw new Error('nothing is playing');
    return this.send({ type: 'prompt-finished', playId: this.lastPlay.playId });
  }

  expireTimer(): FlowEffect[] {
    if (!this.timer) throw new Error('no timer is running');
    const { token } = this.timer;
    this.timer = undefined;
    return this.send({ type: 'timer-expired', token });
  }

  ackRecorder(): FlowEffect[] {
    return this.send({ type: 'recording-paused' });
  }

  findOrder(): FlowEffect[] {
    return this.send({ type: 'order-lookup-result', result: { kind: 'found', order: DEMO_ORDER } });
  }

  /** Direct pay up to the card-number prompt. */
  toCardNumber(): this {
    this.start();
    this.keys('1001#');
    this.findOrder();
    this.ackRecorder();
    return this;
  }

  progress(): ProgressEvent[] {
    return this.effects.flatMap((e) => (e.type === 'progress' ? [e.event] : []));
  }

  lastProgress(): ProgressEvent | undefined {
    return this.progress().at(-1);
  }

  promptIds(play = this.lastPlay): string[] {
    return (play?.items ?? []).map((i) => ('prompt' in i ? i.prompt : `say:${i.say}`));
  }

  count(type: FlowEffect['type']): number {
    return this.effects.filter((e) => e.type === type).length;
  }
}
