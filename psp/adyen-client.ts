import { PspTimeoutError } from './psp-errors.js';

/** An Adyen answer: the HTTP status and the parsed JSON body (undefined when it was not JSON). */
export interface AdyenResponse<T> {
  readonly status: number;
  readonly body: T | undefined;
}

/** Adyen's error body (docs.adyen.com/development-resources/response-handling). */
export interface AdyenErrorBody {
  readonly status?: number;
  readonly errorCode?: string;
  readonly errorType?: string;
  readonly message?: string;
  readonly pspReference?: string;
}

export interface AdyenClientOptions {
  readonly apiKey: string;
  /** The Checkout API base with its version, e.g. https://checkout-test.adyen.com/v71. */
  readonly apiBase: string;
  /** One request may take this long. Default 30 000 ms. */
  readonly requestTimeoutMs?: number;
}

/**
 * A small typed client for Adyen's Checkout API over `fetch`: JSON in and
 * out, `X-API-Key`, `Idempotency-Key` (docs.adyen.com/development-resources/api-idempotency).
 * Adyen's Node library was not used: it sends with `https.request` only (no
 * plain-HTTP local endpoint), takes no AbortSignal, and fixes its base URL per
 * environment, where operators and tests need ADYEN_API_BASE.
 */
export class AdyenClient {
  readonly #apiKey: string;
  readonly #base: string;
  readonly #timeoutMs: number;

  constructor(options: AdyenClientOptions) {
    this.#apiKey = options.apiKey;
    this.#base = options.apiBase.replace(/\/+$/, '');
    this.#timeoutMs = options.requestTimeoutMs ?? 30_000;
  }

  /**
   * POSTs `body` to `path`. Resolves with any HTTP answer; rejects with
   * PspTimeoutError when none came (network failure, timeout, abort).
   */
  post<T>(path: string, body: unknown, options: { idempotencyKey?: string; signal?: AbortSignal } = {}): Promise<AdyenResponse<T>> {
    return this.send<T>('POST', path, body, options);
  }

  /** The same for any method: PATCH (update a payment link), GET (no body). */
  async send<T>(
    method: 'GET' | 'POST' | 'PATCH',
    path: string,
    body: unknown,
    options: { idempotencyKey?: string; signal?: AbortSignal } = {},
  ): Promise<AdyenResponse<T>> {
    const signals = [AbortSignal.timeout(this.#timeoutMs), ...(options.signal ? [options.signal] : [])];
    let res: Response;
    try {
      res = await fetch(`${this.#base}${path}`, {
        method,
        headers: {
          ...(method !== 'GET' ? { 'content-type': 'application/json' } : {}),
          accept: 'application/json',
          'x-api-key': this.#apiKey,
          ...(options.idempotencyKey ? { 'idempotency-key': options.idempotencyKey } : {}),
        },
        ...(method !== 'GET' ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.any(signals),
      });
    } catch (err) {
      // Only the error's class is kept: fetch's message could name the URL, never the body.
      throw new PspTimeoutError({ cause: err instanceof Error ? err.name : 'fetch failed' });
    }
    let text: string;
    try {
      text = await res.text();
    } catch (err) {
      throw new PspTimeoutError({ cause: err instanceof Error ? err.name : 'body lost' });
    }
    let parsed: T | undefined;
    try {
      parsed = text ? (JSON.parse(text) as T) : undefined;
    } catch {
      parsed = undefined;
    }
    return { status: res.status, body: parsed };
  }
}
