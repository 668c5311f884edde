/** An operation that the session's current state does not allow (closed, already recording, already bridged). */
export class InvalidStateError extends Error {
  override readonly name = 'InvalidStateError';
}

/** A prompt of a `play` could not be read or is not an 8 kHz mono WAV; nothing of that play was sent. */
export class PromptLoadError extends Error {
  override readonly name = 'PromptLoadError';
  constructor(
    readonly path: string,
    options: { cause: unknown },
  ) {
    super(`cannot play ${path}: ${options.cause instanceof Error ? options.cause.message : String(options.cause)}`, options);
  }
}
