import express, { type Express } from 'express';
import type { Logger } from 'pino';
import type { PaymentLinkService } from '../../ivr/links/payment-link-service.js';
import { StripeWebhookError, type StripePaymentLinks } from '../../psp/stripe-payment-links.js';

/** Where the Stripe endpoint for Checkout events is configured (Dashboard → Webhooks). */
export const STRIPE_WEBHOOK_PATH = '/psp/stripe/webhooks';

/**
 * Stripe's Checkout webhooks: the raw body is verified against its
 * Stripe-Signature (a parsed and re-serialised body would not verify) before
 * anything is read; a forged or stale one is 400 and logged by its reason
 * only. Adyen's link payments arrive with its other webhooks (psp-webhook-routes.ts).
 */
export function mountPaymentLinkWebhooks(app: Express, deps: { stripe?: StripePaymentLinks; service: PaymentLinkService; logger: Logger; onRefused: (reason: string) => void }): void {
  const stripe = deps.stripe;
  if (!stripe) return;
  app.post(STRIPE_WEBHOOK_PATH, express.raw({ type: '*/*', limit: '1mb' }), async (req, res) => {
    try {
      const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      const outcome = stripe.outcomeOf(body, req.get('stripe-signature'));
      const known = outcome ? await deps.service.settle(outcome) : false;
      deps.logger.debug({ kind: outcome?.kind, known }, 'Stripe webhook taken');
      res.status(200).json({ received: true });
    } catch (err) {
      if (!(err instanceof StripeWebhookError)) throw err;
      deps.logger.warn({ reason: err.reason }, 'Stripe webhook refused');
      deps.onRefused(err.reason);
      res.status(400).json({ error: err.reason });
    }
  });
}
