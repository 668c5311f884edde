import type { CurrencyCode } from '../../domain/payment-types.js';

/** An order (or invoice) a caller pays on the direct pay number. */
export interface Order {
  readonly reference: string;
  readonly amountMinor: number;
  readonly currency: CurrencyCode;
  readonly description?: string;
}

export type OrderLookupResult =
  | { readonly kind: 'found'; readonly order: Order }
  | { readonly kind: 'not-found' }
  /** The merchant's system could not answer (timeout, 5xx, bad body). */
  | { readonly kind: 'unavailable'; readonly reason: string };

/** Order lookup port: file (demo orders) or an HTTP webhook to the merchant's system. */
export interface OrderLookup {
  find(reference: string, options?: { signal?: AbortSignal }): Promise<OrderLookupResult>;
}
