import { randomBytes } from 'node:crypto';
import type { DeclineReason } from '../domain/payment-types.js';
import type { PaymentLinkStore } from '../store/payment-link-store.js';
import {
  PaymentLinkError,
  type CreatedPaymentLink,
  type PaymentLinkOutcome,
  type PaymentLinkProvider,
  type PaymentLinkRequest,
} from './payment-link-port.js';
import { SANDBOX_TEST_CARDS } from './sandbox-psp.js';

/** One way to answer the sandbox page: a test card by its last four, and what paying with it does. */
export interface SandboxPageChoice {
  readonly last4: string;
  readonly outcome: { readonly kind: 'approve' } | { readonly kind: 'decline'; readonly reason: DeclineReason };
}

/**
 * The sandbox page's test cards: the sandbox PSP's approving Visa, and each
 * of its declining cards. Shown by their last four only.
 */
export const SANDBOX_PAGE_CHOICES: readonly SandboxPageChoice[] = [
  { last4: '4242', outcome: { kind: 'approve' } },
  ...[...SANDBOX_TEST_CARDS].flatMap(([pan, behaviour]): SandboxPageChoice[] =>
    behaviour.kind === 'decline' ? [{ last4: pan.slice(-4), outcome: { kind: 'decline', reason: behaviour.reason } }] : [],
  ),
];

export interface SandboxPaymentLinksOptions {
  /** Where agent-bridge serves the page: the link is `<publicBaseUrl>/sandbox/pay/<token>` (read when a link is made). */
  readonly publicBaseUrl: () => string;
  /** Where the links are kept: a link already paid cannot be expired. */
  readonly links: Pick<PaymentLinkStore, 'findLink'>;
}

/**
 * Payment links for PSP=sandbox: a test page served by agent-bridge
 * (`/sandbox/pay/<token>`) that says it is one and takes the sandbox test
 * cards by a button each, never a card number. Nothing here exists with a
 * real PSP (app/payment-link-adapter.ts makes it for PSP=sandbox only).
 */
export class SandboxPaymentLinks implements PaymentLinkProvider {
  readonly name = 'sandbox';
  readonly #base: () => string;
  readonly #links: Pick<PaymentLinkStore, 'findLink'>;

  constructor(options: SandboxPaymentLinksOptions) {
    this.#base = () => options.publicBaseUrl().replace(/\/+$/, '');
    this.#links = options.links;
  }

  async create(request: PaymentLinkRequest): Promise<CreatedPaymentLink> {
    if (!Number.isInteger(request.amountMinor) || request.amountMinor <= 0) throw new PaymentLinkError('invalid-amount', false);
    const token = `sbxlnk_${randomBytes(16).toString('hex')}`;
    return { providerLinkId: token, url: `${this.#base()}/sandbox/pay/${token}`, expiresAt: request.expiresAt };
  }

  async expire(providerLinkId: string): Promise<'expired' | 'paid'> {
    return (await this.#links.findLink(this.name, providerLinkId))?.state === 'paid' ? 'paid' : 'expired';
  }

  /** What paying the page of `token` with the test card ending `last4` does; undefined for a card the page does not offer. */
  pay(token: string, last4: string): PaymentLinkOutcome | undefined {
    const choice = SANDBOX_PAGE_CHOICES.find((c) => c.last4 === last4);
    if (!choice) return undefined;
    const pspReference = `sbx_${randomBytes(12).toString('hex')}`;
    return choice.outcome.kind === 'approve'
      ? { kind: 'paid', provider: this.name, providerLinkId: token, pspReference }
      : { kind: 'declined', provider: this.name, providerLinkId: token, reason: choice.outcome.reason, pspReference };
  }
}
