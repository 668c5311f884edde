import { AsyncLocalStorage } from 'node:async_hooks';
import type { Logger } from 'pino';
import { createFramePipeBuffer } from '../rtp/frame-pipe.js';
import type { MaskMode } from '../rtp/dtmf-masker.js';
import type { MediaClockStats } from '../rtp/media-clock.js';
import { InvalidStateError } from '../rtp/rtp-errors.js';
import { MediaWorkerThread, type DtmfMessage } from './media-worker-thread.js';
import type { WorkerRtpTotals } from './media-worker-protocol.js';
import { WorkerRtpSession } from './worker-rtp-session.js';

export interface MediaWorkerPoolOptions {
  /** Worker threads (MEDIA_WORKERS, at least 1). */
  readonly workers: number;
  readonly rtpHost: string;
  /** The RTP range, split in equal shares, one per worker, so no port is handed out twice. */
  readonly rtpPortMin: number;
  readonly rtpPortMax: number;
  readonly maskMode: MaskMode;
  readonly logger: Logger;
  /** How often each worker sends its totals and GC pauses. Default 1000 ms. */
  readonly totalsIntervalMs?: number;
  /** SCHED_FIFO priority of each worker thread (1–99); default 0, the normal policy. */
  readonly realtimePriority?: number;
  /** Each GC pause of a worker, in seconds (for the metrics). */
  readonly onGcPause?: (seconds: number) => void;
}

/** The sessions of one bridge as the pool joined them; `unbridge` undoes it once. */
export interface WorkerBridge {
  unbridge(): void;
}

/**
 * The media worker threads and the placement of calls on them. A call's
 * legs go to one worker: the one picked (the least loaded) for the call's
 * first leg is the call's, and work done on behalf of that call — its
 * `call` event, every event of its legs and what their listeners go on to
 * do, a `dial` among them — runs inside `runInCall`, so a leg opened there
 * lands on the same worker and its bridge stays inside one thread. A
 * bridge between legs that did land on two workers (a leg dialled from
 * outside any call) still works, through shared frame rings (`frame-pipe.ts`).
 */
export class MediaWorkerPool {
  readonly #threads: MediaWorkerThread[];
  readonly #sessions = new Map<MediaWorkerThread, Map<number, WorkerRtpSession>>();
  readonly #affinity = new AsyncLocalStorage<MediaWorkerThread>();
  readonly #logger: Logger;
  #nextSession = 1;

  private constructor(threads: MediaWorkerThread[], logger: Logger) {
    this.#threads = threads;
    this.#logger = logger;
    for (const thread of threads) this.#sessions.set(thread, new Map());
  }

  static async start(options: MediaWorkerPoolOptions): Promise<MediaWorkerPool> {
    const count = Math.max(1, Math.floor(options.workers));
    const min = options.rtpPortMin + (options.rtpPortMin % 2);
    const evenPorts = Math.floor((options.rtpPortMax - min) / 2) + 1;
    const share = Math.floor(evenPorts / count);
    if (share < 1) throw new RangeError(`RTP range ${options.rtpPortMin}-${options.rtpPortMax} is too small for ${count} media workers`);
    const holder: { pool?: MediaWorkerPool } = {};
    const logger = options.logger;
    const threads = await Promise.all(
      Array.from({ length: count }, (_, index) =>
        MediaWorkerThread.start({
          data: {
            index,
            rtpHost: options.rtpHost,
            rtpPortMin: min + index * share * 2,
            rtpPortMax: min + ((index + 1) * share - 1) * 2,
            maskMode: options.maskMode,
            logLevel: logger.level,
            totalsIntervalMs: options.totalsIntervalMs ?? 1000,
            realtimePriority: options.realtimePriority ?? 0,
          },
          logger,
          onDtmf: (message) => {
            if (holder.pool) holder.pool.#deliver(index, message);
          },
          ...(options.onGcPause ? { onGcPauses: (pauses: readonly number[]) => { for (const ms of pauses) options.onGcPause?.(ms / 1000); } } : {}),
          onExit: (code) => {
            if (holder.pool) holder.pool.#lost(index, code);
          },
        }),
      ),
    );
    holder.pool = new MediaWorkerPool(threads, logger);
    return holder.pool;
  }

  get size(): number {
    return this.#threads.length;
  }

  /** Sessions open on each worker. */
  get load(): readonly number[] {
    return this.#threads.map((thread) => thread.sessions);
  }

  /**
   * Runs `fn` on behalf of the call whose leg `media` is: legs opened inside
   * it (and inside whatever it schedules) go to that leg's worker.
   */
  runInCall<T>(media: WorkerRtpSession, fn: () => T): T {
    return this.#affinity.run(media.thread, fn);
  }

  /** Opens an RTP session on the current call's worker, or on the least loaded one for a new call. */
  async open(): Promise<WorkerRtpSession> {
    const current = this.#affinity.getStore();
    const thread = current?.alive ? current : this.#leastLoaded();
    const id = this.#nextSession++;
    thread.sessions++;
    let port: number;
    try {
      port = await thread.request<number>({ type: 'open', session: id });
    } catch (err) {
      thread.sessions--;
      throw err;
    }
    const sessions = this.#sessions.get(thread) as Map<number, WorkerRtpSession>;
    const session = new WorkerRtpSession({
      id,
      localPort: port,
      thread,
      logger: this.#logger,
      onClosed: () => {
        if (!sessions.delete(id)) return;
        thread.sessions--;
        if (session.peer) this.#separate(session, session.peer);
      },
    });
    sessions.set(id, session);
    return session;
  }

  /** Joins two sessions' media; throws `InvalidStateError` if either is closed or already bridged. */
  bridge(a: WorkerRtpSession, b: WorkerRtpSession): WorkerBridge {
    if (a === b) throw new InvalidStateError('a session cannot be bridged to itself');
    if (a.closed || b.closed) throw new InvalidStateError('cannot bridge a closed session');
    if (a.peer || b.peer) throw new InvalidStateError('session is already bridged');
    a.peer = b;
    b.peer = a;
    if (a.thread === b.thread) {
      a.thread.notify({ type: 'link', a: a.id, b: b.id });
    } else {
      // Legs dialled outside their call's context: each worker keeps its session, the frames cross in shared memory.
      const aToB = createFramePipeBuffer();
      const bToA = createFramePipeBuffer();
      a.thread.notify({ type: 'link-pipe', session: a.id, out: aToB, in: bToA });
      b.thread.notify({ type: 'link-pipe', session: b.id, out: bToA, in: aToB });
    }
    return { unbridge: () => this.#separate(a, b) };
  }

  /** Every worker's RTP counters, as last reported (each worker sends them every second). */
  rtpTotals(): WorkerRtpTotals {
    const totals = { packetsIn: 0, packetsOut: 0, late: 0, lost: 0, srtpAuthenticationFailures: 0, srtpReplayed: 0 };
    for (const thread of this.#threads) {
      const t = thread.rtpTotals;
      totals.packetsIn += t.packetsIn;
      totals.packetsOut += t.packetsOut;
      totals.late += t.late;
      totals.lost += t.lost;
      totals.srtpAuthenticationFailures += t.srtpAuthenticationFailures;
      totals.srtpReplayed += t.srtpReplayed;
    }
    return totals;
  }

  /** Each worker's media clock, as last reported. */
  clockStats(): readonly MediaClockStats[] {
    return this.#threads.map((thread) => thread.clockStats);
  }

  async stop(): Promise<void> {
    await Promise.allSettled(this.#threads.map((thread) => thread.stop()));
  }

  #separate(a: WorkerRtpSession, b: WorkerRtpSession): void {
    if (a.peer !== b || b.peer !== a) return;
    a.peer = undefined;
    b.peer = undefined;
    if (a.thread === b.thread) {
      a.thread.notify({ type: 'unlink', a: a.id, b: b.id });
    } else {
      a.thread.notify({ type: 'unlink-pipe', session: a.id });
      b.thread.notify({ type: 'unlink-pipe', session: b.id });
    }
  }

  #leastLoaded(): MediaWorkerThread {
    let best: MediaWorkerThread | undefined;
    for (const thread of this.#threads) {
      if (thread.alive && (!best || thread.sessions < best.sessions)) best = thread;
    }
    if (!best) throw new InvalidStateError('no media worker is running');
    return best;
  }

  #deliver(index: number, message: DtmfMessage): void {
    const thread = this.#threads[index] as MediaWorkerThread;
    const session = this.#sessions.get(thread)?.get(message.session);
    if (session) this.runInCall(session, () => session.deliverDtmf(message));
  }

  /**
   * A worker that died took its calls' media with it: each of its sessions
   * is told, and its leg ends the call (BYE) instead of leaving a caller in
   * silence until a media timeout; new calls go to the other workers.
   */
  #lost(index: number, code: number): void {
    const thread = this.#threads[index] as MediaWorkerThread;
    const sessions = [...(this.#sessions.get(thread)?.values() ?? [])];
    this.#logger.error({ worker: index, code, sessions: sessions.length }, 'a media worker exited; its calls are ended');
    for (const session of sessions) this.runInCall(session, () => session.lose());
  }
}
