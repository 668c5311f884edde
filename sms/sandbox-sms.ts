import type { PaymentLinkStore } from '../store/payment-link-store.js';
import type { SentMessage, SmsSender, TextMessage } from './sms-port.js';

/**
 * SMS_PROVIDER=sandbox: nothing leaves the host; each message is kept in the
 * store's outbox, readable through GET /api/v1/sms/outbox, for demos and tests.
 */
export class SandboxSms implements SmsSender {
  readonly name = 'sandbox';
  readonly #outbox: Pick<PaymentLinkStore, 'appendSms'>;

  constructor(outbox: Pick<PaymentLinkStore, 'appendSms'>) {
    this.#outbox = outbox;
  }

  async send(message: TextMessage): Promise<SentMessage> {
    const kept = await this.#outbox.appendSms({ sessionId: message.sessionId ?? null, recipient: message.to, body: message.body });
    return { messageId: kept.id };
  }
}
