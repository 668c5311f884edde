import Stripe from 'stripe';

export interface StripeClientOptions {
  /** `sk_…` or `rk_…`. Never logged. */
  readonly secretKey: string;
  /** Scheme, host and port of the API. Default `https://api.stripe.com`. */
  readonly apiBase?: string;
  /** One HTTP request may take this long before the client gives up on it. Default 30 000 ms. */
  readonly requestTimeoutMs?: number;
}

/**
 * The official `stripe` client as the adapters use it: pointed at
 * STRIPE_API_BASE, automatic retries off (our callers retry with the same
 * idempotency key), telemetry off.
 */
export function createStripeClient(options: StripeClientOptions): Stripe {
  const base = new URL(options.apiBase ?? 'https://api.stripe.com');
  const protocol = base.protocol === 'http:' ? 'http' : 'https';
  return new Stripe(options.secretKey, {
    host: base.hostname,
    port: base.port || (protocol === 'http' ? 80 : 443),
    protocol,
    maxNetworkRetries: 0,
    telemetry: false,
    timeout: options.requestTimeoutMs ?? 30_000,
    appInfo: { name: 'secure-payment-ivr' },
  });
}
