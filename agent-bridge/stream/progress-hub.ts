import type { ProgressEvent } from '../../ivr/flow/flow-types.js';

/** One frame of the stream: a masked progress event, numbered per session. */
export interface ProgressFrame {
  readonly sessionId: string;
  /** 1, 2, 3… per session: a client resumes after the last one it saw. */
  readonly seq: number;
  readonly at: string;
  readonly event: ProgressEvent;
}

export type FrameListener = (frame: ProgressFrame) => void;

export interface ProgressHubOptions {
  /** Frames kept per session for resuming clients. Default 500. */
  readonly historyPerSession?: number;
  /** Sessions kept; the oldest is forgotten past this. Default 10 000. */
  readonly maxSessions?: number;
}

/**
 * Fans masked progress events out to stream subscribers and keeps recent
 * frames so a client that reconnects resumes without loss. It holds only
 * what ProgressEvent can carry: no card digit beyond the last four.
 */
export class ProgressHub {
  readonly #history = new Map<string, ProgressFrame[]>();
  readonly #listeners = new Set<FrameListener>();
  readonly #perSession: number;
  readonly #maxSessions: number;

  constructor(options: ProgressHubOptions = {}) {
    this.#perSession = options.historyPerSession ?? 500;
    this.#maxSessions = options.maxSessions ?? 10_000;
  }

  publish(sessionId: string, event: ProgressEvent): ProgressFrame {
    let frames = this.#history.get(sessionId);
    if (!frames) {
      frames = [];
      this.#history.set(sessionId, frames);
      if (this.#history.size > this.#maxSessions) this.#history.delete(this.#history.keys().next().value as string);
    }
    const frame: ProgressFrame = { sessionId, seq: (frames.at(-1)?.seq ?? 0) + 1, at: new Date().toISOString(), event };
    frames.push(frame);
    if (frames.length > this.#perSession) frames.shift();
    for (const listener of this.#listeners) {
      try {
        listener(frame);
      } catch {
        // A broken subscriber must not stop the others.
      }
    }
    return frame;
  }

  /** Frames of a session after `afterSeq`, oldest first. */
  replay(sessionId: string, afterSeq = 0): ProgressFrame[] {
    return (this.#history.get(sessionId) ?? []).filter((f) => f.seq > afterSeq);
  }

  /** Sessions with history, for subscribers to "everything I may see". */
  sessions(): string[] {
    return [...this.#history.keys()];
  }

  subscribe(listener: FrameListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
