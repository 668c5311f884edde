import type { PaymentLinkStore } from '../store/payment-link-store.js';
import type { SentMessage, SmsSendOptions, SmsSender, TextMessage } from './sms-port.js';

/**
 * Any SMS adapter, with each message it sent kept in the store's outbox
 * under the provider's id of it: where its delivery reports find it. A
 * message the provider refused is not kept (the link service audits it).
 */
export class OutboxSms implements SmsSender {
  readonly #provider: SmsSender;
  readonly #outbox: Pick<PaymentLinkStore, 'appendSms'>;

  constructor(provider: SmsSender, outbox: Pick<PaymentLinkStore, 'appendSms'>) {
    this.#provider = provider;
    this.#outbox = outbox;
  }

  get name(): string {
    return this.#provider.name;
  }

  async send(message: TextMessage, options?: SmsSendOptions): Promise<SentMessage> {
    const sent = await this.#provider.send(message, options);
    await this.#outbox.appendSms({
      sessionId: message.sessionId ?? null,
      linkId: message.linkId ?? null,
      provider: this.#provider.name,
      providerMessageId: sent.messageId,
      recipient: message.to,
      body: message.body,
    });
    return sent;
  }
}
