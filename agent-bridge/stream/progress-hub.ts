import type { ProgressEvent } from '../../ivr/flow/flow-types.js';
import type { ProgressFrameStore } from '../../store/progress-frame-store.js';

/** One frame of the stream: a masked progress event, numbered per session. */
export interface ProgressFrame {
  readonly sessionId: string;
  /** 1, 2, 3… per session: a client resumes after the last one it saw. */
  readonly seq: number;
  readonly at: string;
  readonly event: ProgressEvent;
}

export type FrameListener = (frame: ProgressFrame) => void;

/** Several nodes on one database: the stream lives in its table, and each node hears of every frame stored. */
export interface SharedProgress {
  readonly frames: ProgressFrameStore;
  /** Registers for "frame `seq` of `sessionId` was stored", from any node (this one included). */
  readonly onStored: (listener: (sessionId: string, seq: number) => void) => void;
  /** A frame not stored, or not read: told here (the stream goes on). */
  readonly onError?: (err: unknown) => void;
}

export interface ProgressHubOptions {
  /** Frames kept per session for resuming clients (one node). Default 500. */
  readonly historyPerSession?: number;
  /** Sessions kept; the oldest is forgotten past this. Default 10 000. */
  readonly maxSessions?: number;
  /**
   * How long an ended session's frames stay for a console that reconnects
   * (one node). Default 5 minutes; afterwards its final state is the REST
   * API's. Without it a node taking many short calls held the last 10 000
   * sessions' frames (tens of MiB).
   */
  readonly endedRetentionMs?: number;
  /** Monotonic milliseconds. Default performance.now. */
  readonly now?: () => number;
  /** Several nodes: frames stored and numbered in the shared store, replayed from it. Default: this node's memory. */
  readonly shared?: SharedProgress;
}

/**
 * Fans masked progress events out to stream subscribers and keeps them so a
 * client that reconnects resumes without loss. It holds only what
 * ProgressEvent can carry: no card digit beyond the last four.
 *
 * On one node the frames are numbered and kept in memory. With `shared`
 * (several nodes on PostgreSQL) each frame is stored with its session's next
 * number, whichever node publishes it; every node is told its number
 * (NOTIFY), reads it and hands it to its own subscribers, in order and once;
 * a client resuming on any node is replayed from the table.
 */
export class ProgressHub {
  readonly #history = new Map<string, ProgressFrame[]>();
  readonly #listeners = new Set<FrameListener>();
  readonly #perSession: number;
  readonly #maxSessions: number;
  readonly #endedRetentionMs: number;
  readonly #now: () => number;
  /** One node: sessions whose `ended` frame was published, oldest first, with when. */
  readonly #ended: { readonly sessionId: string; readonly at: number }[] = [];
  readonly #shared: SharedProgress | undefined;
  /** Shared: the last number handed to subscribers, per session. */
  readonly #delivered = new Map<string, number>();
  /** Shared: frames are stored in the order they were published. */
  #appends: Promise<unknown> = Promise.resolve();
  /** Shared: frames are read and handed on one at a time, in order. */
  #deliveries: Promise<unknown> = Promise.resolve();

  constructor(options: ProgressHubOptions = {}) {
    this.#perSession = options.historyPerSession ?? 500;
    this.#maxSessions = options.maxSessions ?? 10_000;
    this.#endedRetentionMs = options.endedRetentionMs ?? 5 * 60_000;
    this.#now = options.now ?? (() => performance.now());
    this.#shared = options.shared;
    this.#shared?.onStored((sessionId, seq) => this.#catchUp(sessionId, seq));
  }

  publish(sessionId: string, event: ProgressEvent): void {
    const shared = this.#shared;
    if (shared) {
      this.#appends = this.#appends
        .then(() => shared.frames.append(sessionId, event))
        .then((stored) => this.#catchUp(sessionId, stored.seq), (err: unknown) => shared.onError?.(err));
      return;
    }
    this.#forgetEnded();
    let frames = this.#history.get(sessionId);
    if (!frames) {
      frames = [];
      this.#history.set(sessionId, frames);
      if (this.#history.size > this.#maxSessions) this.#history.delete(this.#history.keys().next().value as string);
    }
    const frame: ProgressFrame = { sessionId, seq: (frames.at(-1)?.seq ?? 0) + 1, at: new Date().toISOString(), event };
    frames.push(frame);
    if (frames.length > this.#perSession) frames.shift();
    if (event.type === 'ended') this.#ended.push({ sessionId, at: this.#now() });
    this.#deliver(frame);
  }

  /** Sessions whose frames are kept for replay (one node). */
  get sessionsKept(): number {
    return this.#history.size;
  }

  /** Drops the frames of sessions that ended more than the retention ago, unless they have published since. */
  #forgetEnded(): void {
    const before = this.#now() - this.#endedRetentionMs;
    while (this.#ended.length > 0 && (this.#ended[0] as { at: number }).at <= before) {
      const { sessionId } = this.#ended.shift() as { sessionId: string };
      if (this.#history.get(sessionId)?.at(-1)?.event.type === 'ended') this.#history.delete(sessionId);
    }
  }

  /** Frames of a session after `afterSeq`, oldest first. */
  async replay(sessionId: string, afterSeq = 0): Promise<ProgressFrame[]> {
    if (this.#shared) return (await this.#shared.frames.after(sessionId, afterSeq)) as ProgressFrame[];
    return (this.#history.get(sessionId) ?? []).filter((f) => f.seq > afterSeq);
  }

  subscribe(listener: FrameListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Shared: hands on the session's frames up to `seq` not handed on yet (a notification missed is caught up by the next). */
  #catchUp(sessionId: string, seq: number): Promise<unknown> {
    const shared = this.#shared!;
    this.#deliveries = this.#deliveries
      .then(async () => {
        const last = this.#delivered.get(sessionId) ?? seq - 1;
        if (seq <= last) return;
        for (const frame of await shared.frames.after(sessionId, last)) {
          if (frame.seq > seq) break;
          this.#markDelivered(sessionId, frame.seq);
          this.#deliver(frame as ProgressFrame);
        }
      })
      .catch((err: unknown) => shared.onError?.(err));
    return this.#deliveries;
  }

  #markDelivered(sessionId: string, seq: number): void {
    this.#delivered.delete(sessionId);
    this.#delivered.set(sessionId, seq);
    if (this.#delivered.size > this.#maxSessions) this.#delivered.delete(this.#delivered.keys().next().value as string);
  }

  #deliver(frame: ProgressFrame): void {
    for (const listener of this.#listeners) {
      try {
        listener(frame);
      } catch {
        // A broken subscriber must not stop the others.
      }
    }
  }
}
