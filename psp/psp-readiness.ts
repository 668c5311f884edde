import type { Logger } from 'pino';
import type { PaymentServiceProvider } from './psp-port.js';

/**
 * The PSP's part of /readyz: whether it accepts our credentials, asked at
 * start-up and then at most every `recheckMs` (a readiness probe every few
 * seconds must not become a stream of PSP calls). Never logs a credential.
 */
export class PspReadiness {
  readonly #psp: PaymentServiceProvider;
  readonly #recheckMs: number;
  readonly #logger: Logger | undefined;
  #last: { at: number; ok: boolean } | undefined;
  #running: Promise<boolean> | undefined;

  constructor(psp: PaymentServiceProvider, options: { recheckMs?: number; logger?: Logger } = {}) {
    this.#psp = psp;
    this.#recheckMs = options.recheckMs ?? 30_000;
    this.#logger = options.logger;
  }

  /** The last answer while it is fresh, else a new check (one at a time). */
  ready(): Promise<boolean> {
    if (this.#last && Date.now() - this.#last.at < this.#recheckMs) return Promise.resolve(this.#last.ok);
    this.#running ??= this.#psp
      .checkCredentials({ signal: AbortSignal.timeout(5_000) })
      .catch(() => false)
      .then((ok) => {
        if (ok !== this.#last?.ok) {
          if (ok) this.#logger?.info({ psp: this.#psp.name }, 'PSP accepts our credentials');
          else this.#logger?.error({ psp: this.#psp.name }, 'PSP refused our credentials or cannot be reached: /readyz reports not ready');
        }
        this.#last = { at: Date.now(), ok };
        return ok;
      })
      .finally(() => (this.#running = undefined));
    return this.#running;
  }
}
