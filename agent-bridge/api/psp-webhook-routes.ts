import express, { type Express } from 'express';
import type { Logger } from 'pino';
import { AdyenWebhookError, type AdyenWebhookHandler } from '../../psp/adyen-webhooks.js';

/** Where Adyen's standard webhooks are configured to go (Customer Area → Webhooks). */
export const ADYEN_WEBHOOK_PATH = '/psp/adyen/webhooks';

/**
 * PSP webhooks: no bearer credential (the PSP has none of ours), each item's
 * HMAC signature is checked instead. Answers Adyen's "[accepted]" once the
 * items are kept; a bad signature is 401 and a bad body 400, and neither the
 * body nor any part of it is logged.
 */
export function mountPspWebhooks(app: Express, deps: { adyen?: AdyenWebhookHandler; logger: Logger; onRefused?: (reason: string) => void }): void {
  const adyen = deps.adyen;
  if (!adyen) return;
  app.post(ADYEN_WEBHOOK_PATH, express.json({ limit: '1mb' }), async (req, res) => {
    try {
      const kept = await adyen.handle(req.body);
      deps.logger.debug({ items: kept }, 'Adyen notifications kept');
      res.status(202).type('text/plain').send('[accepted]');
    } catch (err) {
      if (!(err instanceof AdyenWebhookError)) throw err;
      deps.logger.warn({ reason: err.reason }, 'Adyen webhook refused');
      deps.onRefused?.(err.reason);
      res.status(err.reason === 'bad-signature' ? 401 : 400).json({ error: err.reason });
    }
  });
}
