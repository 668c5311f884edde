import type { CurrencyCode } from '../../domain/payment-types.js';

/** An order (or invoice) a caller pays on the direct pay number. */
export interface Order {
  readonly reference: string;
  readonly amountMinor: number;
  readonly currency: CurrencyCode;
  readonly description?: string;
  /** The order may be paid more than once; `amountMinor` is then what is still due. Default false. */
  readonly partialPayments?: boolean;
}

export type OrderLookupResult =
  | { readonly kind: 'found'; readonly order: Order }
  | { readonly kind: 'not-found' }
  /** The order has an approved payment and takes no partial payments: nothing more to pay. */
  | { readonly kind: 'already-paid'; readonly reference: string }
  /** The merchant's system could not answer (timeout, 5xx, bad body). */
  | { readonly kind: 'unavailable'; readonly reason: string };

/** Order lookup port: file (demo orders) or an HTTP webhook to the merchant's system. */
export interface OrderLookup {
  find(reference: string, options?: { signal?: AbortSignal }): Promise<OrderLookupResult>;
}
