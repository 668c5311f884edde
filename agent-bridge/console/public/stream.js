// @ts-check
/**
 * One session's masked progress over the WebSocket at /api/v1/stream. The
 * cookie authenticates the upgrade (never the URL). After a drop it
 * reconnects with back-off and asks for `after=<last seq seen>`, so nothing
 * is missed or shown twice. Closed by the server with SIGNED_OUT (the sign-in
 * was revoked or expired), it stops.
 */

/** @typedef {{ sessionId: string, seq: number, at: string, event: { type: string, [key: string]: unknown } }} ProgressFrame */
/** @typedef {'connecting' | 'live' | 'reconnecting' | 'closed' | 'signed-out'} StreamState */

const MAX_BACKOFF_MS = 10_000;
/** The server's close code when the credentials stop counting (agent-bridge/stream/stream-server.ts). */
const SIGNED_OUT = 4401;

export class SessionStream {
  /** @type {string} */ #sessionId;
  /** @type {number} */ #lastSeq;
  /** @type {(frame: ProgressFrame) => void} */ #onFrame;
  /** @type {(state: StreamState, failures: number) => void} */ #onState;
  /** @type {WebSocket | undefined} */ #socket;
  /** @type {ReturnType<typeof setTimeout> | undefined} */ #timer;
  #failures = 0;
  #closed = false;

  /**
   * @param {string} sessionId
   * @param {{ after?: number, onFrame: (frame: ProgressFrame) => void, onState: (state: StreamState, failures: number) => void }} options
   */
  constructor(sessionId, options) {
    this.#sessionId = sessionId;
    this.#lastSeq = options.after ?? 0;
    this.#onFrame = options.onFrame;
    this.#onState = options.onState;
    this.#connect();
  }

  get sessionId() {
    return this.#sessionId;
  }

  /** The seq of the last frame delivered: where a new stream for this session resumes. */
  get lastSeq() {
    return this.#lastSeq;
  }

  /** Drops the socket now and reconnects (resuming), e.g. after the network came back. */
  reconnect() {
    if (this.#closed) return;
    clearTimeout(this.#timer);
    const old = this.#socket;
    this.#socket = undefined;
    old?.close();
    this.#connect();
  }

  close() {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#socket?.close();
    this.#socket = undefined;
    this.#onState('closed', 0);
  }

  #connect() {
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const query = new URLSearchParams({ session: this.#sessionId, after: String(this.#lastSeq) });
    const socket = new WebSocket(`${scheme}//${location.host}/api/v1/stream?${query}`);
    this.#socket = socket;
    this.#onState(this.#failures > 0 ? 'reconnecting' : 'connecting', this.#failures);
    socket.addEventListener('open', () => {
      if (this.#socket !== socket) return;
      this.#failures = 0;
      this.#onState('live', 0);
    });
    socket.addEventListener('message', (message) => {
      if (this.#socket !== socket) return;
      const frame = parseFrame(message.data);
      // Replays may overlap what was already shown: keep strictly increasing seqs.
      if (!frame || frame.sessionId !== this.#sessionId || frame.seq <= this.#lastSeq) return;
      this.#lastSeq = frame.seq;
      this.#onFrame(frame);
    });
    socket.addEventListener('close', (event) => {
      if (this.#socket !== socket || this.#closed) return;
      if (event.code === SIGNED_OUT) {
        this.#closed = true;
        this.#socket = undefined;
        this.#onState('signed-out', 0);
        return;
      }
      const delay = Math.min(MAX_BACKOFF_MS, 500 * 2 ** this.#failures);
      this.#failures += 1;
      this.#onState('reconnecting', this.#failures);
      this.#timer = setTimeout(() => this.#connect(), delay);
    });
  }
}

/**
 * @param {unknown} data
 * @returns {ProgressFrame | undefined}
 */
function parseFrame(data) {
  if (typeof data !== 'string') return undefined;
  try {
    const frame = JSON.parse(data);
    if (typeof frame?.sessionId !== 'string' || !Number.isInteger(frame.seq) || typeof frame.event?.type !== 'string') return undefined;
    return frame;
  } catch {
    return undefined;
  }
}
