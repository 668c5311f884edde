import type { Logger } from 'pino';
import type { Actor } from '../../domain/actor.js';
import { newOpaqueId } from '../../domain/opaque-id.js';
import type { PaymentStatus } from '../../domain/payment-types.js';
import { PaymentLinkError, type PaymentLinkOutcome, type PaymentLinkProvider } from '../../psp/payment-link-port.js';
import type { AuditLog } from '../../store/audit-log.js';
import type { PaymentLinkRecord, PaymentLinkStore } from '../../store/payment-link-store.js';
import type { PaymentSessionRecord, PaymentStore } from '../../store/payment-store.js';
import { InvalidPhoneNumberError, parsePhoneNumber, type PhoneNumber } from '../../sms/phone-number.js';
import { SmsSendError, type SmsSender } from '../../sms/sms-port.js';
import type { ProgressEvent } from '../flow/flow-types.js';
import type { PromptLanguage } from '../prompts/prompt-texts.js';
import { LinkNotAllowedError } from './link-errors.js';
import { linkMessage, type LinkMessageKind } from './link-messages.js';
import { NO_LINK_METRICS, type LinkMetrics } from './link-metrics.js';

export interface PaymentLinkServiceOptions {
  readonly store: PaymentStore;
  readonly links: PaymentLinkStore;
  readonly audit: AuditLog;
  readonly provider: PaymentLinkProvider;
  readonly sms: SmsSender;
  /** How long a link may be paid. Stripe takes 30 minutes to 24 hours. */
  readonly ttlMs: number;
  /** The country of a national number (SMS_DEFAULT_COUNTRY), ISO 3166 alpha-2. */
  readonly defaultCountry: string;
  /** The messages' language when the session has none. */
  readonly language: PromptLanguage;
  /** How long one PSP or SMS request may take. Default 10 000 ms. */
  readonly requestTimeoutMs?: number;
  readonly logger: Logger;
  /** Where progress goes (agent-bridge's stream). */
  readonly onProgress?: (sessionId: string, event: ProgressEvent) => void;
  readonly metrics?: LinkMetrics;
  readonly now?: () => Date;
}

/** Statuses a link may be sent from: a payment not yet paid, nor being authorised, nor over. */
const OPEN: ReadonlySet<PaymentStatus> = new Set(['pending', 'capturing', 'link-sent']);

const SYSTEM: Actor = { kind: 'system', id: 'payment-links' };

/** What `withdrawForKeypad` found: no link, a link closed at the PSP, or a link already paid (the keypad must not charge). */
export type KeypadWithdrawal = 'no-link' | 'withdrawn' | 'paid';

/**
 * Payment links by text message (ARCHITECTURE.md "Payment links"): one
 * session, two ways to pay, only one can succeed.
 *
 * - send: the number normalised to E.164, the link made at the PSP, then the
 *   message; the session becomes `link-sent`. If the message does not go, the
 *   link is expired at the PSP at once: nothing can be paid on it.
 * - settle: a PSP's verified answer (webhook, sandbox page) settles the link
 *   and the session (approved, declined, expired).
 * - withdrawForKeypad: before a keyed card is authorised, the link is expired
 *   at the PSP; if it was paid already, the keypad does not charge.
 * - sweep: links past their time are expired (Adyen sends nothing then).
 *
 * Every step is audited with the last three digits of the number only.
 */
export class PaymentLinkService {
  readonly #o: PaymentLinkServiceOptions;
  readonly #metrics: LinkMetrics;
  readonly #timeoutMs: number;

  constructor(options: PaymentLinkServiceOptions) {
    this.#o = options;
    this.#metrics = options.metrics ?? NO_LINK_METRICS;
    this.#timeoutMs = options.requestTimeoutMs ?? 10_000;
  }

  get providerName(): string {
    return this.#o.provider.name;
  }

  /** Reads a number as the service would send to it. @throws InvalidPhoneNumberError */
  phoneNumber(raw: string): PhoneNumber {
    return parsePhoneNumber(raw, this.#o.defaultCountry);
  }

  /** The active link of a session, if any. */
  async activeLink(sessionId: string): Promise<PaymentLinkRecord | undefined> {
    return (await this.#o.links.listLinks({ sessionId, state: 'active' })).at(-1);
  }

  /**
   * Sends (or sends again: the active link is withdrawn first) a link to
   * `phone`, or to the number the last link went to.
   * @throws LinkNotAllowedError, InvalidPhoneNumberError, PaymentLinkError, SmsSendError (each audited)
   */
  async send(sessionId: string, request: { phone?: string; actor: Actor; requireMobile?: boolean }): Promise<PaymentLinkRecord> {
    const { store, links, audit } = this.#o;
    const session = await store.getSession(sessionId);
    if (!session || !OPEN.has(session.status) || session.amountMinor <= 0) throw new LinkNotAllowedError('session-not-open');
    const previous = await this.activeLink(sessionId);
    const raw = request.phone ?? previous?.phone;
    if (!raw) throw new LinkNotAllowedError('no-phone-number');
    let phone: PhoneNumber;
    try {
      phone = this.phoneNumber(raw);
    } catch (err) {
      throw await this.#refused(session, request.actor, 'invalid-phone', 'invalid-phone', err);
    }
    if (request.requireMobile && !phone.mobile) throw new LinkNotAllowedError('not-a-mobile');
    if (previous) await this.#close(previous, 'cancelled', request.actor, 'replaced');

    const linkId = newOpaqueId('lnk');
    const expiresAt = new Date(this.#now().getTime() + this.#o.ttlMs);
    let created;
    try {
      created = await this.#o.provider.create(
        {
          linkId,
          sessionId,
          amountMinor: session.amountMinor,
          currency: session.currency,
          reference: session.reference,
          ...(session.description ? { description: session.description } : {}),
          language: session.language ?? this.#o.language,
          expiresAt,
        },
        { signal: AbortSignal.timeout(this.#timeoutMs) },
      );
    } catch (err) {
      if (!(err instanceof PaymentLinkError)) throw err;
      throw await this.#refused(session, request.actor, 'psp', `psp:${err.code}`, err);
    }
    const link = await links.saveLink({
      id: linkId,
      sessionId,
      provider: this.#o.provider.name,
      providerLinkId: created.providerLinkId,
      url: created.url,
      phone: phone.e164,
      expiresAt: created.expiresAt.toISOString(),
    });
    let messageId: string;
    try {
      ({ messageId } = await this.#o.sms.send(
        { to: phone.e164, body: linkMessage('link', session.language, this.#o.language, created.url), sessionId, linkId },
        { signal: AbortSignal.timeout(this.#timeoutMs) },
      ));
    } catch (err) {
      if (!(err instanceof SmsSendError)) throw err;
      // Nobody received the link: close it at the PSP so it can never be paid.
      await this.#close(link, 'cancelled', SYSTEM, 'sms-failed').catch((closeErr: unknown) => {
        this.#o.logger.error({ err: closeErr, sessionId, linkId }, 'a link whose message failed could not be closed at the PSP');
      });
      throw await this.#refused(session, request.actor, 'sms', `sms:${err.code}`, err);
    }
    if (session.status !== 'link-sent') await store.updateSession(sessionId, { status: 'link-sent' });
    await audit.append({
      sessionId,
      actor: request.actor,
      action: 'payment-link-sent',
      detail: { linkId, provider: link.provider, sms: this.#o.sms.name, messageId, phoneEnding: phone.ending(3), expiresAt: link.expiresAt, resent: previous !== undefined },
    });
    this.#metrics.linkSent(link.provider);
    this.#progress(sessionId, { type: 'link-sent', expiresAt: link.expiresAt, phoneEnding: phone.ending(3) });
    return link;
  }

  /**
   * The agent withdraws the session's link: expired at the PSP, the session
   * back to `pending` is not possible, so it ends `cancelled` (a new one may be made).
   * @throws LinkNotAllowedError, PaymentLinkError
   */
  async cancel(sessionId: string, actor: Actor): Promise<PaymentLinkRecord> {
    const link = await this.activeLink(sessionId);
    if (!link) throw new LinkNotAllowedError('no-active-link');
    const closed = await this.#close(link, 'cancelled', actor, 'cancelled');
    const session = await this.#o.store.getSession(sessionId);
    if (closed.state === 'cancelled' && session?.status === 'link-sent') await this.#o.store.updateSession(sessionId, { status: 'cancelled' });
    return closed;
  }

  /**
   * Before a keyed card is authorised: the session's link is expired at the
   * PSP. `paid`: the link was paid first, the keypad must not charge.
   * @throws PaymentLinkError when the PSP cannot be asked (the keypad must not charge either)
   */
  async withdrawForKeypad(sessionId: string): Promise<KeypadWithdrawal> {
    const link = await this.activeLink(sessionId);
    if (!link) return (await this.#o.links.listLinks({ sessionId, state: 'paid' })).length > 0 ? 'paid' : 'no-link';
    const closed = await this.#close(link, 'expired', SYSTEM, 'paid-by-keypad');
    return closed.state === 'paid' ? 'paid' : 'withdrawn';
  }

  /** A PSP's verified word on one of its links. Returns false for a link we never made. */
  async settle(outcome: PaymentLinkOutcome): Promise<boolean> {
    const { links, store, audit } = this.#o;
    const link = await links.findLink(outcome.provider, outcome.providerLinkId);
    if (!link) return false;
    const actor: Actor = { kind: 'system', id: `psp-${outcome.provider}` };
    if (link.state !== 'active') {
      // Delivered again, or paid after we closed it (a race with the keypad): kept for review, never settled twice.
      if (outcome.kind === 'paid' && link.state !== 'paid') {
        await audit.append({ sessionId: link.sessionId, actor, action: 'payment-link-paid-after-close', detail: { linkId: link.id, state: link.state, pspReference: outcome.pspReference } });
        this.#o.logger.error({ sessionId: link.sessionId, linkId: link.id }, 'a closed payment link was paid: refund it at the PSP');
      }
      return true;
    }
    const session = await store.getSession(link.sessionId);
    switch (outcome.kind) {
      case 'paid': {
        await links.settleLink(link.id, { state: 'paid', pspReference: outcome.pspReference });
        if (session?.status === 'link-sent') await store.updateSession(link.sessionId, { status: 'approved', pspReference: outcome.pspReference });
        await audit.append({ sessionId: link.sessionId, actor, action: 'payment-link-paid', detail: { linkId: link.id, pspReference: outcome.pspReference } });
        this.#metrics.linkPaid(link.provider, Math.max(0, this.#now().getTime() - Date.parse(link.createdAt)) / 1000);
        this.#progress(link.sessionId, { type: 'approved', pspReference: outcome.pspReference });
        this.#progress(link.sessionId, { type: 'ended', result: 'approved' });
        return true;
      }
      case 'declined':
        await links.settleLink(link.id, { state: 'declined', pspReference: outcome.pspReference ?? null });
        if (session?.status === 'link-sent') await store.updateSession(link.sessionId, { status: 'declined', declineReason: outcome.reason });
        await audit.append({ sessionId: link.sessionId, actor, action: 'payment-link-declined', detail: { linkId: link.id, reason: outcome.reason } });
        this.#progress(link.sessionId, { type: 'declined', reason: outcome.reason });
        return true;
      case 'expired':
        await this.#expired(link, session, actor);
        return true;
    }
  }

  /** Expires the links past their time (at the PSP too: Adyen sends no word of it). Returns how many. */
  async sweep(): Promise<number> {
    const now = this.#now().getTime();
    let count = 0;
    for (const link of await this.#o.links.listLinks({ state: 'active' })) {
      if (Date.parse(link.expiresAt) > now) continue;
      try {
        const answer = await this.#o.provider.expire(link.providerLinkId, { signal: AbortSignal.timeout(this.#timeoutMs) });
        if (answer === 'paid') continue; // its webhook settles it
      } catch (err) {
        // Past its time the PSP refuses payment anyway; ours is closed regardless.
        this.#o.logger.warn({ err, linkId: link.id }, 'expiring a timed-out link at the PSP failed');
      }
      if ((await this.#o.links.getLink(link.id))?.state !== 'active') continue;
      await this.#expired(link, await this.#o.store.getSession(link.sessionId), SYSTEM);
      count++;
    }
    return count;
  }

  /** Sends a text to the caller about an ended payment (SMS_RECEIPTS): never throws, audits what happened. */
  async sendReceipt(sessionId: string, kind: Extract<LinkMessageKind, 'receipt' | 'inDoubt'>, rawPhone: string): Promise<void> {
    const session = await this.#o.store.getSession(sessionId).catch(() => undefined);
    const reference = session?.confirmation ?? session?.idempotencyKey?.slice(-8).toUpperCase();
    if (!session || !reference) return;
    try {
      const phone = this.phoneNumber(rawPhone);
      if (!phone.mobile) return;
      const { messageId } = await this.#o.sms.send(
        { to: phone.e164, body: linkMessage(kind, session.language, this.#o.language, reference), sessionId },
        { signal: AbortSignal.timeout(this.#timeoutMs) },
      );
      await this.#o.audit.append({ sessionId, actor: SYSTEM, action: 'sms-receipt-sent', detail: { kind, sms: this.#o.sms.name, messageId, phoneEnding: phone.ending(3) } });
    } catch (err) {
      const code = err instanceof SmsSendError ? err.code : err instanceof InvalidPhoneNumberError ? 'invalid-phone' : 'failed';
      await this.#o.audit.append({ sessionId, actor: SYSTEM, action: 'sms-receipt-failed', detail: { kind, code } }).catch((auditErr: unknown) => {
        this.#o.logger.error({ err: auditErr, sessionId }, 'audit entry not written');
      });
    }
  }

  /** Closes `link` at the PSP and here as `state`; if the PSP says it was paid, it stays for the webhook to settle. */
  async #close(link: PaymentLinkRecord, state: 'cancelled' | 'expired', actor: Actor, why: string): Promise<PaymentLinkRecord> {
    const answer = await this.#o.provider.expire(link.providerLinkId, { signal: AbortSignal.timeout(this.#timeoutMs) });
    if (answer === 'paid') {
      await this.#o.audit.append({ sessionId: link.sessionId, actor, action: 'payment-link-close-refused', detail: { linkId: link.id, why, paid: true } });
      return { ...link, state: 'paid' };
    }
    const closed = await this.#o.links.settleLink(link.id, { state });
    await this.#o.audit.append({ sessionId: link.sessionId, actor, action: state === 'expired' ? 'payment-link-expired' : 'payment-link-cancelled', detail: { linkId: link.id, why } });
    if (state === 'expired') {
      this.#metrics.linkExpired(link.provider);
      this.#progress(link.sessionId, { type: 'link-expired', reason: 'paid-by-keypad' });
    } else {
      this.#progress(link.sessionId, { type: 'link-cancelled' });
    }
    return closed;
  }

  async #expired(link: PaymentLinkRecord, session: PaymentSessionRecord | undefined, actor: Actor): Promise<void> {
    await this.#o.links.settleLink(link.id, { state: 'expired' });
    if (session?.status === 'link-sent') await this.#o.store.updateSession(link.sessionId, { status: 'expired' });
    await this.#o.audit.append({ sessionId: link.sessionId, actor, action: 'payment-link-expired', detail: { linkId: link.id, why: 'timed-out' } });
    this.#metrics.linkExpired(link.provider);
    this.#progress(link.sessionId, { type: 'link-expired', reason: 'timed-out' });
  }

  /** Audits and reports a link that did not go out; resolves with `err`, for the caller to throw. */
  async #refused(session: PaymentSessionRecord, actor: Actor, kind: 'invalid-phone' | 'psp' | 'sms', code: string, err: unknown): Promise<unknown> {
    await this.#o.audit.append({ sessionId: session.id, actor, action: 'payment-link-failed', detail: { code } });
    this.#metrics.linkFailed(kind);
    this.#progress(session.id, { type: 'link-failed', reason: code });
    return err;
  }

  #progress(sessionId: string, event: ProgressEvent): void {
    try {
      this.#o.onProgress?.(sessionId, event);
    } catch (err) {
      this.#o.logger.warn({ err, sessionId }, 'progress listener failed');
    }
  }

  #now(): Date {
    return this.#o.now?.() ?? new Date();
  }
}
