import { newOpaqueId } from '../domain/opaque-id.js';
import type { SentMessage, SmsSender, TextMessage } from './sms-port.js';

/**
 * SMS_PROVIDER=sandbox: nothing leaves the host. Like every message sent,
 * each is kept in the store's outbox (outbox-sms.ts), readable through
 * GET /api/v1/sms/outbox with this provider, for demos and tests.
 */
export class SandboxSms implements SmsSender {
  readonly name = 'sandbox';

  async send(_message: TextMessage): Promise<SentMessage> {
    return { messageId: newOpaqueId('sms') };
  }
}
