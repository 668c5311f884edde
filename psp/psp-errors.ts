/**
 * No answer came from the PSP: the caller's signal aborted the wait, or the
 * connection failed. The outcome is unknown, not failed: `lookup` tells
 * whether it was charged.
 */
export class PspTimeoutError extends Error {
  override readonly name = 'PspTimeoutError';
  constructor(options?: { cause?: unknown }) {
    super('the PSP did not answer in time', options);
  }
}

/** `promise`, or a PspTimeoutError rejection as soon as `signal` aborts (the request itself may go on). */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(new PspTimeoutError({ cause: signal.reason }));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(new PspTimeoutError({ cause: signal.reason }));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}

/**
 * What the caller hears as the payment's reference when the PSP gives no
 * authorisation code (a card stored without a charge, a PSP that hides it):
 * the last six letters and digits of the PSP's reference, in capitals.
 */
export function referenceCode(pspReference: string): string {
  return pspReference.replace(/[^A-Za-z0-9]/g, '').slice(-6).toUpperCase();
}
