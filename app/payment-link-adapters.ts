import { AdyenPaymentLinks } from '../psp/adyen-payment-links.js';
import type { PaymentLinkProvider } from '../psp/payment-link-port.js';
import { SandboxPaymentLinks } from '../psp/sandbox-payment-links.js';
import { StripePaymentLinks } from '../psp/stripe-payment-links.js';
import type { PaymentLinkStore } from '../store/payment-link-store.js';
import { OutboxSms } from '../sms/outbox-sms.js';
import { SandboxSms } from '../sms/sandbox-sms.js';
import type { SmsSender } from '../sms/sms-port.js';
import { TwilioSms } from '../sms/twilio-sms.js';
import { TwilioStatusCallback } from '../sms/twilio-status-callback.js';
import { VonageDeliveryReceipts } from '../sms/vonage-delivery-receipt.js';
import { VonageSms } from '../sms/vonage-sms.js';
import type { Config } from './config.js';

/** The PSP's payment links, and the adapter itself for its webhook or page. */
export type PaymentLinkAdapters =
  | { readonly provider: PaymentLinkProvider; readonly kind: 'stripe'; readonly stripe: StripePaymentLinks }
  | { readonly provider: PaymentLinkProvider; readonly kind: 'adyen'; readonly adyen: AdyenPaymentLinks }
  | { readonly provider: PaymentLinkProvider; readonly kind: 'sandbox'; readonly sandbox: SandboxPaymentLinks };

/**
 * The payment link adapter of the configured PSP; undefined when it cannot
 * make links (PSP=stripe without STRIPE_WEBHOOK_SECRET: nothing could tell us a link was paid).
 * The sandbox page exists only with PSP=sandbox.
 */
export function createPaymentLinks(config: Config, deps: { links: PaymentLinkStore; publicBaseUrl: () => string }): PaymentLinkAdapters | undefined {
  switch (config.PSP) {
    case 'sandbox': {
      const sandbox = new SandboxPaymentLinks({ publicBaseUrl: deps.publicBaseUrl, links: deps.links });
      return { provider: sandbox, kind: 'sandbox', sandbox };
    }
    case 'stripe': {
      if (!config.STRIPE_WEBHOOK_SECRET) return undefined;
      const stripe = new StripePaymentLinks({ secretKey: config.STRIPE_SECRET_KEY!, apiBase: config.STRIPE_API_BASE, webhookSecret: config.STRIPE_WEBHOOK_SECRET });
      return { provider: stripe, kind: 'stripe', stripe };
    }
    case 'adyen': {
      const adyen = new AdyenPaymentLinks({ apiKey: config.ADYEN_API_KEY!, merchantAccount: config.ADYEN_MERCHANT_ACCOUNT!, apiBase: config.ADYEN_API_BASE });
      return { provider: adyen, kind: 'adyen', adyen };
    }
  }
}

/** The SMS adapter SMS_PROVIDER names (config.ts has checked its settings), each message it sends kept in the outbox. */
export function createSms(config: Config, deps: { links: PaymentLinkStore }): SmsSender {
  return new OutboxSms(smsProvider(config), deps.links);
}

function smsProvider(config: Config): SmsSender {
  switch (config.SMS_PROVIDER) {
    case 'sandbox':
      return new SandboxSms();
    case 'twilio':
      return new TwilioSms({
        accountSid: config.TWILIO_ACCOUNT_SID!,
        authToken: config.TWILIO_AUTH_TOKEN!,
        from: config.TWILIO_FROM!,
        apiBase: config.TWILIO_API_BASE,
        timeoutMs: config.SMS_TIMEOUT_MS,
        ...(config.TWILIO_STATUS_CALLBACK_URL ? { statusCallbackUrl: config.TWILIO_STATUS_CALLBACK_URL } : {}),
      });
    case 'vonage':
      return new VonageSms({
        apiKey: config.VONAGE_API_KEY!,
        apiSecret: config.VONAGE_API_SECRET!,
        from: config.VONAGE_FROM!,
        apiBase: config.VONAGE_API_BASE,
        timeoutMs: config.SMS_TIMEOUT_MS,
        ...(config.VONAGE_STATUS_CALLBACK_URL ? { statusCallbackUrl: config.VONAGE_STATUS_CALLBACK_URL } : {}),
      });
  }
}

/**
 * The delivery callbacks of the SMS provider, when they can be verified:
 * Twilio's with TWILIO_STATUS_CALLBACK_URL (the URL is signed), Vonage's
 * receipts with VONAGE_SIGNATURE_SECRET. None for the sandbox.
 */
export function createSmsCallbacks(config: Config): { twilio?: TwilioStatusCallback; vonage?: VonageDeliveryReceipts } {
  if (config.SMS_PROVIDER === 'twilio' && config.TWILIO_STATUS_CALLBACK_URL) {
    return { twilio: new TwilioStatusCallback({ accountSid: config.TWILIO_ACCOUNT_SID!, authToken: config.TWILIO_AUTH_TOKEN!, url: config.TWILIO_STATUS_CALLBACK_URL }) };
  }
  if (config.SMS_PROVIDER === 'vonage' && config.VONAGE_SIGNATURE_SECRET) {
    return { vonage: new VonageDeliveryReceipts({ apiKey: config.VONAGE_API_KEY!, signatureSecret: config.VONAGE_SIGNATURE_SECRET, method: config.VONAGE_SIGNATURE_METHOD }) };
  }
  return {};
}
