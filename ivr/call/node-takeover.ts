import type { Logger } from 'pino';
import type { Actor } from '../../domain/actor.js';
import type { AuditLog } from '../../store/audit-log.js';
import type { PaymentStore } from '../../store/payment-store.js';
import { settleInterruptedCalls } from './interrupted-calls.js';

export interface NodeTakeoverOptions {
  readonly store: PaymentStore;
  readonly audit: AuditLog;
  /** This node's NODE_ID: never taken over by itself. */
  readonly nodeId: string;
  /** A node whose heartbeat is older than this is dead. */
  readonly deadAfterMs: number;
  /** Time between passes. Default 5 000 ms (the heartbeat's period). */
  readonly intervalMs?: number;
  /** Reconciles the in-doubt payments, the given sessions' `requested` intents counted in doubt at once (their authoriser died). */
  readonly reconcile: (interrupted: ReadonlySet<string>) => Promise<unknown>;
  /** Tells the external recorder of an interrupted call to resume. Default: none configured. */
  readonly resumeRecorder?: (callId: string, sessionId: string) => Promise<void>;
  readonly logger: Logger;
  /** Default: the wall clock. */
  readonly now?: () => Date;
}

/** What one pass did for one dead node. */
export interface NodeTakeoverReport {
  readonly nodeId: string;
  readonly abandoned: readonly string[];
  readonly neverAuthorised: readonly string[];
  /** Sessions that were being authorised: reconciled with the PSP. */
  readonly reconciled: readonly string[];
  readonly recordersResumed: readonly string[];
}

/**
 * Takes over the calls of a node that died (kill -9, power loss): its
 * heartbeat is older than `deadAfterMs`, so none of its calls survives. One
 * live node does it at a time (the store's runAlone('takeover'): an advisory
 * lock on PostgreSQL): what it caught mid-capture is abandoned
 * (`call-interrupted`), what it was authorising is reconciled with the PSP
 * (once per cluster, by the reconciler), and external recorders it left
 * paused are told to resume. A settled session is never settled again, so a
 * later pass over the same node finds nothing.
 */
export class NodeTakeover {
  readonly #o: NodeTakeoverOptions;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<NodeTakeoverReport[] | undefined> | undefined;

  constructor(options: NodeTakeoverOptions) {
    this.#o = options;
  }

  /** Passes every `intervalMs` on an unref'd timer. Calling it again does nothing. */
  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => {
      this.takeOverOnce().catch((err: unknown) => this.#o.logger.error({ err }, 'taking over dead nodes failed'));
    }, this.#o.intervalMs ?? 5_000);
    this.#timer.unref();
  }

  /** Safe to call twice; a pass under way finishes. */
  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** One pass; undefined when another node is in its pass. A call during a pass shares it. */
  takeOverOnce(): Promise<NodeTakeoverReport[] | undefined> {
    return (this.#running ??= this.#o.store.runAlone('takeover', () => this.#pass()).finally(() => (this.#running = undefined)));
  }

  async #pass(): Promise<NodeTakeoverReport[]> {
    const { store, audit, logger } = this.#o;
    const now = (this.#o.now?.() ?? new Date()).getTime();
    const dead = (await store.listNodes()).filter((n) => n.id !== this.#o.nodeId && now - Date.parse(n.heartbeatAt) > this.#o.deadAfterMs);
    const reports: NodeTakeoverReport[] = [];
    for (const node of dead) {
      const actor: Actor = { kind: 'system', id: `takeover-of-${node.id}` };
      const settled = await settleInterruptedCalls(store, audit, [], node.id, actor);
      const authorising = await store.listSessions({ status: 'authorising', nodeId: node.id, limit: 1000 });
      const reconciled = authorising.map((s) => s.id);
      if (reconciled.length > 0) await this.#o.reconcile(new Set(reconciled));
      const recordersResumed: string[] = [];
      for (const { callId, sessionId } of settled.recorderLeftPaused) {
        if (!this.#o.resumeRecorder) break;
        recordersResumed.push(sessionId);
        // In the background, retried like any resume.
        this.#o.resumeRecorder(callId, sessionId).catch((err: unknown) => logger.error({ err, callId, sessionId }, 'the external recorder of a dead node\'s call could not be resumed'));
      }
      const report = { nodeId: node.id, abandoned: settled.abandoned, neverAuthorised: settled.neverAuthorised, reconciled, recordersResumed };
      if (settled.abandoned.length + settled.neverAuthorised.length + reconciled.length > 0) {
        logger.warn({ node: node.id, abandoned: settled.abandoned.length, neverAuthorised: settled.neverAuthorised.length, reconciled: reconciled.length }, 'took over the calls of a dead node');
      }
      reports.push(report);
    }
    return reports;
  }
}
