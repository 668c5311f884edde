import { orderSchema } from './order-schema.js';
import type { OrderLookup, OrderLookupResult } from './order-lookup-port.js';

export interface HttpOrderLookupOptions {
  /** The merchant's endpoint; `{reference}` in it is replaced, else `?reference=` is added. */
  readonly url: string;
  /** Default 3000 ms. */
  readonly timeoutMs?: number;
  /** Sent as `Authorization: Bearer`. */
  readonly bearerToken?: string;
}

/**
 * Looks orders up in the merchant's system: GET the URL with the reference;
 * 200 with `{amountMinor, currency, description?}` is found, 404 is not
 * found, anything else (timeout, 5xx, a body that does not validate) is
 * `unavailable`, never an exception.
 */
export class HttpOrderLookup implements OrderLookup {
  readonly #options: HttpOrderLookupOptions;

  constructor(options: HttpOrderLookupOptions) {
    this.#options = options;
  }

  async find(reference: string, options: { signal?: AbortSignal } = {}): Promise<OrderLookupResult> {
    const timeout = AbortSignal.timeout(this.#options.timeoutMs ?? 3000);
    const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout;
    let response: Response;
    try {
      response = await fetch(this.#url(reference), {
        signal,
        headers: {
          accept: 'application/json',
          ...(this.#options.bearerToken ? { authorization: `Bearer ${this.#options.bearerToken}` } : {}),
        },
      });
    } catch (err) {
      return { kind: 'unavailable', reason: timeout.aborted ? 'timeout' : `network: ${(err as Error).name}` };
    }
    if (response.status === 404) {
      await response.body?.cancel();
      return { kind: 'not-found' };
    }
    if (response.status !== 200) {
      await response.body?.cancel();
      return { kind: 'unavailable', reason: `HTTP ${response.status}` };
    }
    let body: unknown;
    try {
      body = await response.json();
    } catch {
      return { kind: 'unavailable', reason: timeout.aborted ? 'timeout' : 'body is not JSON' };
    }
    const parsed = orderSchema.partial({ reference: true }).safeParse(body);
    if (!parsed.success) return { kind: 'unavailable', reason: `bad body: ${parsed.error.issues[0]!.path.join('.')}` };
    const { amountMinor, currency, description } = parsed.data;
    return { kind: 'found', order: { reference, amountMinor, currency, ...(description ? { description } : {}) } };
  }

  #url(reference: string): string {
    const encoded = encodeURIComponent(reference);
    if (this.#options.url.includes('{reference}')) return this.#options.url.replace('{reference}', encoded);
    const url = new URL(this.#options.url);
    url.searchParams.set('reference', reference);
    return url.toString();
  }
}
