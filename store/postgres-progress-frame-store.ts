import { CLUSTER_CHANNELS } from './cluster-channels.js';
import { inTransaction, type Pool } from './postgres-pool.js';
import type { ProgressFrameRecord, ProgressFrameStore } from './progress-frame-store.js';
import { clampLimit } from './sqlite-query-shapes.js';

interface FrameRow {
  session_id: string;
  seq: number;
  at: string;
  event: string;
}

/** The first key of the per-session append locks (pg_advisory_xact_lock(int, int): a key space apart from ADVISORY_LOCKS'). */
const FRAME_LOCK_SPACE = 7_240_100;

/**
 * The shared progress stream in PostgreSQL (migration 14), on the payment
 * store's pool. A frame's number is the session's last plus one, taken under
 * a transaction advisory lock of the session; its notification carries the
 * session and number only, and is delivered at commit.
 */
export class PostgresProgressFrameStore implements ProgressFrameStore {
  readonly #pool: Pool;
  readonly #now: () => Date;

  constructor(pool: Pool, now: () => Date = () => new Date()) {
    this.#pool = pool;
    this.#now = now;
  }

  async append(sessionId: string, event: unknown): Promise<ProgressFrameRecord> {
    return inTransaction(this.#pool, async (client) => {
      // One writer per session at a time (another node may write a frame of the same session): numbers are taken in turn.
      await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [FRAME_LOCK_SPACE, sessionId]);
      const { rows } = await client.query<FrameRow>(
        `INSERT INTO progress_frames (session_id, seq, at, event)
          SELECT $1, COALESCE(MAX(seq), 0) + 1, $2, $3 FROM progress_frames WHERE session_id = $1 RETURNING *`,
        [sessionId, this.#now().toISOString(), JSON.stringify(event)],
      );
      const frame = toFrame(rows[0]!);
      await client.query('SELECT pg_notify($1, $2)', [CLUSTER_CHANNELS.progressFrames, `${sessionId} ${frame.seq}`]);
      return frame;
    });
  }

  async after(sessionId: string, afterSeq: number, limit?: number): Promise<ProgressFrameRecord[]> {
    const { rows } = await this.#pool.query<FrameRow>('SELECT * FROM progress_frames WHERE session_id = $1 AND seq > $2 ORDER BY seq LIMIT $3', [
      sessionId,
      afterSeq,
      clampLimit(limit, 1000, 10_000),
    ]);
    return rows.map(toFrame);
  }

  async prune(before: Date): Promise<number> {
    // ISO 8601 UTC strings of one format sort as the times they name.
    const cutoff = before.toISOString();
    const { rowCount } = await this.#pool.query(
      `DELETE FROM progress_frames WHERE at < $1
        AND session_id NOT IN (SELECT session_id FROM progress_frames WHERE at >= $1)`,
      [cutoff],
    );
    return rowCount ?? 0;
  }
}

function toFrame(r: FrameRow): ProgressFrameRecord {
  return { sessionId: r.session_id, seq: r.seq, at: r.at, event: JSON.parse(r.event) as unknown };
}
