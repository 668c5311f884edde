import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { InvalidStateError, PromptLoadError } from '../rtp/rtp-errors.js';
import { RtpPortsExhaustedError } from '../rtp/rtp-port-allocator.js';
import type { MediaClockStats } from '../rtp/media-clock.js';
import type { MediaWorkerCommand, MediaWorkerData, MediaWorkerMessage, WorkerErrorData, WorkerRtpTotals } from './media-worker-protocol.js';

/** The media worker stopped (crashed, or the pool was stopped) with this request still open. */
export class MediaWorkerGoneError extends Error {
  override readonly name = 'MediaWorkerGoneError';
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
/** A command that is answered, without the id the thread adds. */
export type MediaWorkerRequest = DistributiveOmit<Extract<MediaWorkerCommand, { id: number }>, 'id'>;
export type MediaWorkerNotice = Exclude<MediaWorkerCommand, { id: number }>;
export type DtmfMessage = Extract<MediaWorkerMessage, { type: 'dtmf' }>;

export interface MediaWorkerThreadOptions {
  readonly data: MediaWorkerData;
  readonly logger: Logger;
  /** Each key press a session of this worker reported (see media-worker-protocol.ts on card data). */
  readonly onDtmf: (message: DtmfMessage) => void;
  /** The worker's GC pauses, in ms, as it reports them. */
  readonly onGcPauses?: (pausesMs: readonly number[]) => void;
  /** The thread ended while the pool was not stopping it. */
  readonly onExit: (code: number) => void;
}

const EMPTY_TOTALS: WorkerRtpTotals = { packetsIn: 0, packetsOut: 0, late: 0, lost: 0, srtpAuthenticationFailures: 0, srtpReplayed: 0 };
const EMPTY_CLOCK: MediaClockStats = { ticks: 0, skippedFrames: 0, latenessP50Ms: 0, latenessP99Ms: 0, latenessMaxMs: 0 };

/**
 * One media worker seen from the main thread: starts the thread
 * (`media-worker.ts`), answers requests by id, hands key presses and log
 * lines on, and keeps the totals the worker last sent.
 */
export class MediaWorkerThread {
  readonly index: number;
  /** Sessions placed here and not yet closed (the pool's placement reads it). */
  sessions = 0;
  readonly #worker: Worker;
  readonly #logger: Logger;
  readonly #pending = new Map<number, { resolve: (value: unknown) => void; reject: (err: Error) => void }>();
  #nextId = 1;
  #stopping = false;
  #exited = false;
  #totals: WorkerRtpTotals = EMPTY_TOTALS;
  #clock: MediaClockStats = EMPTY_CLOCK;

  private constructor(worker: Worker, options: MediaWorkerThreadOptions) {
    this.index = options.data.index;
    this.#worker = worker;
    this.#logger = options.logger;
    worker.on('message', (message: MediaWorkerMessage) => {
      switch (message.type) {
        case 'reply': {
          const pending = this.#pending.get(message.id);
          if (!pending) return;
          this.#pending.delete(message.id);
          if (message.ok) pending.resolve(message.value);
          else pending.reject(rebuildError(message.error));
          return;
        }
        case 'dtmf':
          options.onDtmf(message);
          return;
        case 'totals':
          this.#totals = message.rtp;
          this.#clock = message.clock;
          if (message.gcPausesMs.length > 0) options.onGcPauses?.(message.gcPausesMs);
          return;
        case 'log':
          this.#relayLog(message.line);
          return;
        case 'ready':
          return;
      }
    });
    worker.on('error', (err) => this.#logger.error({ err, worker: this.index }, 'media worker failed'));
    worker.on('exit', (code) => {
      this.#exited = true;
      for (const pending of this.#pending.values()) pending.reject(new MediaWorkerGoneError(`media worker ${this.index} exited (${code})`));
      this.#pending.clear();
      if (!this.#stopping) options.onExit(code);
    });
  }

  /** Starts the thread; resolves once it is ready for commands. */
  static async start(options: MediaWorkerThreadOptions): Promise<MediaWorkerThread> {
    const worker = spawn(options.data);
    const thread = new MediaWorkerThread(worker, options);
    await new Promise<void>((resolve, reject) => {
      const onMessage = (message: MediaWorkerMessage): void => {
        if (message.type !== 'ready') return;
        cleanup();
        resolve();
      };
      const onExit = (code: number): void => {
        cleanup();
        reject(new MediaWorkerGoneError(`media worker ${options.data.index} exited (${code}) before it was ready`));
      };
      const cleanup = (): void => {
        worker.off('message', onMessage);
        worker.off('exit', onExit);
      };
      worker.on('message', onMessage);
      worker.on('exit', onExit);
    });
    return thread;
  }

  get rtpTotals(): WorkerRtpTotals {
    return this.#totals;
  }

  get clockStats(): MediaClockStats {
    return this.#clock;
  }

  get alive(): boolean {
    return !this.#exited;
  }

  /** A command answered by the worker: resolves with its value, rejects with the worker's error class. */
  request<T = unknown>(command: MediaWorkerRequest): Promise<T> {
    if (this.#exited) return Promise.reject(new MediaWorkerGoneError(`media worker ${this.index} has exited`));
    const id = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.#worker.postMessage({ ...command, id });
    });
  }

  /** A command with no answer (its failure is logged by the worker). */
  notify(command: MediaWorkerNotice): void {
    if (!this.#exited) this.#worker.postMessage(command);
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    await this.#worker.terminate();
  }

  /** A worker's pino line, logged again by the main thread's logger (which scrubs PANs from every line). */
  #relayLog(line: string): void {
    try {
      const { level, msg, time: _time, pid: _pid, hostname: _hostname, ...fields } = JSON.parse(line) as Record<string, unknown> & { level: number; msg?: string };
      const label = this.#logger.levels.labels[level] as 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | undefined;
      this.#logger[label ?? 'info'](fields, msg ?? '');
    } catch {
      this.#logger.warn({ worker: this.index }, 'media worker wrote a log line that is not JSON');
    }
  }
}

/** The worker's own file: the compiled `.js` under dist/, or the `.ts` source under tsx and vitest (loaded through tsx). */
function spawn(data: MediaWorkerData): Worker {
  const ext = extname(fileURLToPath(import.meta.url));
  const entry = new URL(`./media-worker${ext}`, import.meta.url);
  if (ext === '.js') return new Worker(entry, { workerData: data });
  const bootstrap = `import { register } from 'tsx/esm/api'; register(); await import(${JSON.stringify(entry.href)});`;
  return new Worker(bootstrap, { eval: true, workerData: data });
}

/** The worker's error as the class the in-thread engine would have thrown. */
function rebuildError(data: WorkerErrorData): Error {
  switch (data.name) {
    case 'InvalidStateError':
      return new InvalidStateError(data.message);
    case 'RtpPortsExhaustedError':
      return new RtpPortsExhaustedError(data.message);
    case 'PromptLoadError': {
      const err = new PromptLoadError(data.path ?? '', { cause: new Error(data.message) });
      err.message = data.message;
      return err;
    }
    default: {
      const err = new Error(data.message);
      err.name = data.name;
      return err;
    }
  }
}
