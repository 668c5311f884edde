import type { Logger } from 'pino';
import type { AgentCommandStore } from '../../store/agent-command-store.js';
import type { PaymentStore } from '../../store/payment-store.js';
import type { ProgressFrameStore } from '../../store/progress-frame-store.js';

export interface SharedStreamRetentionOptions {
  /** Runs the pass on one node at a time (runAlone('retention'): an advisory lock on PostgreSQL). */
  readonly store: Pick<PaymentStore, 'runAlone'>;
  readonly commands: Pick<AgentCommandStore, 'prune'>;
  /** Several nodes: the progress stream they share. One node keeps it in memory (and forgets it itself). */
  readonly frames?: Pick<ProgressFrameStore, 'prune'>;
  /** How long a session's frames stay after its newest, and a command after its answer. */
  readonly retentionMs: number;
  /** Default 10 minutes. */
  readonly intervalMs?: number;
  readonly now?: () => Date;
  readonly logger: Pick<Logger, 'info' | 'error'>;
}

export interface RetentionReport {
  readonly frames: number;
  readonly commands: number;
}

/**
 * Deletes what only serves a live call once it is long over: the shared
 * progress frames of sessions quiet for `retentionMs` (a console resuming
 * after that reads the final state from the REST API) and agent commands
 * answered that long ago (the audit trail keeps who asked what). Without it
 * both tables grow by every call of every day.
 */
export class SharedStreamRetention {
  readonly #o: SharedStreamRetentionOptions;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: SharedStreamRetentionOptions) {
    if (!(options.retentionMs > 0)) throw new RangeError(`retentionMs must be > 0, got ${options.retentionMs}`);
    this.#o = options;
  }

  /** Passes every `intervalMs` on an unref'd timer. Calling it again does nothing. */
  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => {
      this.pruneOnce().catch((err: unknown) => this.#o.logger.error({ err }, 'deleting old progress frames and agent commands failed'));
    }, this.#o.intervalMs ?? 10 * 60_000);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** One pass; undefined when another node is in its pass. */
  async pruneOnce(): Promise<RetentionReport | undefined> {
    const { store, commands, frames, logger } = this.#o;
    return store.runAlone('retention', async () => {
      const before = new Date((this.#o.now?.() ?? new Date()).getTime() - this.#o.retentionMs);
      const report = { frames: (await frames?.prune(before)) ?? 0, commands: await commands.prune(before) };
      if (report.frames > 0 || report.commands > 0) logger.info({ ...report, before: before.toISOString() }, 'old progress frames and agent commands deleted');
      return report;
    });
  }
}
