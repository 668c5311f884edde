/** One frame of a session's masked progress stream as stored (migration 14). */
export interface ProgressFrameRecord {
  readonly sessionId: string;
  /** 1, 2, 3… per session, across every node. */
  readonly seq: number;
  readonly at: string;
  /** The masked progress event (agent-bridge's ProgressEvent), as written. */
  readonly event: unknown;
}

/**
 * The progress stream several nodes share (PostgreSQL): each frame stored
 * with the next sequence number of its session, whichever node writes it,
 * and other nodes told its number (store/cluster-channels.ts).
 */
export interface ProgressFrameStore {
  /** Stores `event` as the session's next frame. */
  append(sessionId: string, event: unknown): Promise<ProgressFrameRecord>;
  /** The session's frames after `afterSeq`, in order (at most `limit`, default 1 000). */
  after(sessionId: string, afterSeq: number, limit?: number): Promise<ProgressFrameRecord[]>;
  /**
   * Deletes the frames of every session whose newest frame is older than
   * `before` (a console resuming that late reads the final state from the
   * REST API). Returns how many frames went.
   */
  prune(before: Date): Promise<number>;
}
