import { orderSchema } from './order-schema.js';
import type { OrderLookup, OrderLookupResult } from './order-lookup-port.js';

export interface HttpOrderLookupOptions {
  /**
   * The merchant's endpoint. Either a URL template containing `{reference}`
   * (replaced by the URL-encoded reference, e.g. `https://shop.example/orders/{reference}`)
   * or a plain URL to which `?reference=<ref>` is added (other query parameters kept).
   */
  readonly url: string;
  /** Longest wait for the whole answer, body included. Default 3000 ms. */
  readonly timeoutMs?: number;
  /** Sent as `Authorization: Bearer <token>`. Default: no Authorization header. */
  readonly bearerToken?: string;
}

/**
 * Looks orders up in the merchant's system: GET the URL for the reference.
 *
 * - 200 with JSON `{reference?, amountMinor, currency, description?, partialPayments?}` → found
 *   (a `reference` in the body must be the one asked for);
 * - 404 → not-found;
 * - anything else (another status, a body that is not JSON or does not
 *   validate, a network error, the timeout, the caller's abort) →
 *   `unavailable` with a short reason. `find` never throws.
 */
export class HttpOrderLookup implements OrderLookup {
  readonly #url: string;
  readonly #timeoutMs: number;
  readonly #bearerToken: string | undefined;

  /** @throws TypeError for a URL that is not http(s) or a timeout that is not positive. */
  constructor(options: HttpOrderLookupOptions) {
    const probe = new URL(options.url.replaceAll('{reference}', '0'));
    if (probe.protocol !== 'http:' && probe.protocol !== 'https:') throw new TypeError(`order lookup URL must be http(s), got ${probe.protocol}`);
    this.#url = options.url;
    this.#timeoutMs = options.timeoutMs ?? 3000;
    if (!(this.#timeoutMs > 0)) throw new TypeError(`order lookup timeoutMs must be > 0, got ${this.#timeoutMs}`);
    this.#bearerToken = options.bearerToken;
  }

  async find(reference: string, options: { signal?: AbortSignal } = {}): Promise<OrderLookupResult> {
    const timeout = AbortSignal.timeout(this.#timeoutMs);
    const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout;
    const failed = (fallback: string): OrderLookupResult => ({
      kind: 'unavailable',
      reason: timeout.aborted ? 'timeout' : options.signal?.aborted ? 'aborted' : fallback,
    });
    let response: Response;
    try {
      response = await fetch(this.#urlFor(reference), {
        signal,
        headers: {
          accept: 'application/json',
          ...(this.#bearerToken ? { authorization: `Bearer ${this.#bearerToken}` } : {}),
        },
      });
    } catch (err) {
      return failed(`network: ${networkCode(err)}`);
    }
    if (response.status === 404) {
      await discard(response);
      return { kind: 'not-found' };
    }
    if (response.status !== 200) {
      await discard(response);
      return failed(`HTTP ${response.status}`);
    }
    let body: unknown;
    try {
      body = await response.json();
    } catch {
      return failed('body is not JSON');
    }
    const parsed = orderSchema.partial({ reference: true }).safeParse(body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return { kind: 'unavailable', reason: `bad body: ${issue?.path.join('.') || 'not an object'}` };
    }
    const { reference: answered, amountMinor, currency, description, partialPayments } = parsed.data;
    if (answered !== undefined && answered !== reference) return { kind: 'unavailable', reason: 'bad body: reference is another order' };
    return {
      kind: 'found',
      order: {
        reference,
        amountMinor,
        currency,
        ...(description !== undefined ? { description } : {}),
        ...(partialPayments !== undefined ? { partialPayments } : {}),
      },
    };
  }

  #urlFor(reference: string): string {
    if (this.#url.includes('{reference}')) return this.#url.replaceAll('{reference}', encodeURIComponent(reference));
    const url = new URL(this.#url);
    url.searchParams.set('reference', reference);
    return url.toString();
  }
}

/** `ECONNREFUSED` and the like from undici's `TypeError('fetch failed', {cause})`, else the error's name. */
function networkCode(err: unknown): string {
  const cause = (err as { cause?: { code?: unknown } } | undefined)?.cause;
  return typeof cause?.code === 'string' ? cause.code : err instanceof Error ? err.name : 'unknown';
}

async function discard(response: Response): Promise<void> {
  try {
    await response.body?.cancel();
  } catch {
    // The body is of no interest; a failure to drop it is not the lookup's.
  }
}
