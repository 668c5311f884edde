import type { Logger } from 'pino';
import type { Actor } from '../../domain/actor.js';
import { isLegalTransition, SMS_DELIVERY_TRANSITIONS } from '../../domain/payment-lifecycle.js';
import type { SmsDeliveryReport } from '../../sms/sms-port.js';
import type { AuditLog } from '../../store/audit-log.js';
import type { PaymentLinkStore } from '../../store/payment-link-store.js';
import type { ProgressEvent } from '../flow/flow-types.js';
import { NO_LINK_METRICS, type LinkMetrics } from './link-metrics.js';

export interface SmsDeliveryReportsOptions {
  readonly links: Pick<PaymentLinkStore, 'findSms' | 'recordSmsDelivery'>;
  readonly audit: AuditLog;
  readonly logger: Logger;
  /** Where progress goes (agent-bridge's stream). */
  readonly onProgress?: (sessionId: string, event: ProgressEvent) => void;
  readonly metrics?: LinkMetrics;
}

/** What became of a report: kept, known already (or a late one going back), or about no message of ours. */
export type DeliveryReportResult = 'recorded' | 'unchanged' | 'unknown-message';

/**
 * The SMS providers' verified delivery reports, on the outbox rows of the
 * messages they took: each change kept and audited (the number by its last
 * three digits only) and counted; a final one (delivered, undelivered,
 * failed) shown to the agent as an `sms-delivery` progress event. Refused
 * callbacks are audited and counted too.
 */
export class SmsDeliveryReports {
  readonly #o: SmsDeliveryReportsOptions;
  readonly #metrics: LinkMetrics;

  constructor(options: SmsDeliveryReportsOptions) {
    this.#o = options;
    this.#metrics = options.metrics ?? NO_LINK_METRICS;
  }

  async record(report: SmsDeliveryReport): Promise<DeliveryReportResult> {
    const message = await this.#o.links.findSms(report.provider, report.messageId);
    if (!message) return 'unknown-message';
    const state = report.state;
    // Providers deliver at least once and not in order: a report that would go back is dropped.
    if (!state || state === message.delivery || !isLegalTransition(SMS_DELIVERY_TRANSITIONS, message.delivery, state)) return 'unchanged';
    const failed = state === 'undelivered' || state === 'failed';
    const errorCode = failed ? (report.errorCode ?? null) : null;
    await this.#o.links.recordSmsDelivery(message.id, { delivery: state, errorCode });
    const phoneEnding = message.recipient.slice(-3);
    await this.#o.audit.append({
      sessionId: message.sessionId,
      actor: actorOf(report.provider),
      action: 'sms-delivery',
      detail: { messageId: message.id, linkId: message.linkId, state, ...(errorCode ? { errorCode } : {}), phoneEnding },
    });
    this.#metrics.smsDelivery(report.provider, state);
    if (message.sessionId && state !== 'sent') {
      this.#progress(message.sessionId, { type: 'sms-delivery', state, ...(errorCode ? { errorCode } : {}), phoneEnding, link: message.linkId !== null });
    }
    return 'recorded';
  }

  /** A callback refused before it was read (SmsCallbackError's reason). */
  async refused(provider: string, reason: string): Promise<void> {
    await this.#o.audit.append({ sessionId: null, actor: actorOf(provider), action: 'sms-callback-refused', detail: { reason } });
    this.#metrics.smsCallbackRefused(provider, reason);
  }

  #progress(sessionId: string, event: ProgressEvent): void {
    try {
      this.#o.onProgress?.(sessionId, event);
    } catch (err) {
      this.#o.logger.warn({ err, sessionId }, 'progress listener failed');
    }
  }
}

function actorOf(provider: string): Actor {
  return { kind: 'system', id: `sms-${provider}` };
}
