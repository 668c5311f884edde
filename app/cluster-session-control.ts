import type { Logger } from 'pino';
import type { CommandDelivery, SessionControl } from '../agent-bridge/api/api-routes.js';
import type { Actor } from '../domain/actor.js';
import type { LiveSessions } from '../ivr/call/live-sessions.js';
import { CommandRejectedError } from '../ivr/flow/flow-errors.js';
import type { AgentCommand } from '../ivr/flow/flow-types.js';
import type { AgentCommandRecord, AgentCommandStore } from '../store/agent-command-store.js';
import { CLUSTER_CHANNELS } from '../store/cluster-channels.js';
import type { PaymentStore } from '../store/payment-store.js';
import type { PostgresListener } from '../store/postgres-listener.js';

export interface ClusterSessionControlOptions {
  readonly live: LiveSessions;
  readonly store: Pick<PaymentStore, 'getSession'>;
  readonly commands: AgentCommandStore;
  /** Several nodes on PostgreSQL: the notifications that wake them. Unset: every call is on this node. */
  readonly listener?: Pick<PostgresListener, 'on' | 'onListening'>;
  readonly nodeId: string;
  /** How long the REST request waits for the node holding the call. Default 3 000 ms. */
  readonly answerTimeoutMs?: number;
  readonly logger: Logger;
}

/** How often a sender re-reads its command while it waits (a notification missed is not waited out). */
const RECHECK_MS = 250;

/**
 * The agents' commands, whichever node's API they arrive at: applied at
 * once to a call this node holds; for a call another node holds (its
 * session's node_id), written to agent_commands for that node, which a
 * notification wakes, applies it and answers once. The REST answer says
 * which: applied, not joined, rejected, or unanswered (the other node did
 * not answer in time, and never will apply it: the sender gives it up).
 */
export class ClusterSessionControl implements SessionControl {
  readonly #o: ClusterSessionControlOptions;
  readonly #waiters = new Map<string, () => void>();

  constructor(options: ClusterSessionControlOptions) {
    this.#o = options;
    const { listener, nodeId } = options;
    if (!listener) return;
    listener.on(CLUSTER_CHANNELS.agentCommands, (payload) => {
      const [node, id] = payload.split(' ');
      if (node === nodeId && id) void this.#take(id);
    });
    listener.on(CLUSTER_CHANNELS.agentCommandAnswers, (id) => this.#waiters.get(id)?.());
    // Commands sent while this node was not listening (start-up, a lost connection).
    listener.onListening(() => {
      options.commands.waiting(nodeId).then(
        (waiting) => waiting.forEach((c) => void this.#take(c.id)),
        (err: unknown) => options.logger.error({ err }, 'agent commands waiting for this node not read'),
      );
    });
  }

  async command(sessionId: string, command: AgentCommand, actor: Actor): Promise<CommandDelivery> {
    const here = applyHere(this.#o.live, sessionId, command, actor);
    if (here.outcome !== 'not-joined' || !this.#o.listener) return here;
    const session = await this.#o.store.getSession(sessionId);
    if (!session?.callId || !session.nodeId || session.nodeId === this.#o.nodeId) return here;
    const sent = await this.#o.commands.send({ sessionId, nodeId: session.nodeId, command: command.type, field: 'field' in command ? command.field : null, actor });
    const answered = await this.#answerOf(sent.id);
    switch (answered.state) {
      case 'applied':
      case 'not-joined':
      case 'unanswered':
        return { outcome: answered.state, node: answered.nodeId };
      case 'rejected':
        return { outcome: 'rejected', reason: answered.detail ?? 'rejected', node: answered.nodeId };
      case 'sent':
        // giveUp never leaves a command sent.
        throw new Error(`agent command ${sent.id} still sent`);
    }
  }

  releaseCaller(sessionId: string): 'released' | 'not-joined' {
    return this.#o.live.releaseCaller(sessionId);
  }

  /** Waits for the answer to command `id`, woken by its notification; past the timeout, gives it up (unless answered meanwhile). */
  async #answerOf(id: string): Promise<AgentCommandRecord> {
    const deadline = Date.now() + (this.#o.answerTimeoutMs ?? 3_000);
    try {
      for (;;) {
        const left = deadline - Date.now();
        if (left <= 0) return await this.#o.commands.giveUp(id);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.min(left, RECHECK_MS));
          this.#waiters.set(id, () => {
            clearTimeout(timer);
            resolve();
          });
        });
        const current = await this.#o.commands.get(id);
        if (current && current.state !== 'sent') return current;
      }
    } finally {
      this.#waiters.delete(id);
    }
  }

  /** This node holds the call (or held it): applies the command once and answers. */
  async #take(id: string): Promise<void> {
    try {
      await this.#o.commands.take(id, this.#o.nodeId, (c) => {
        const command: AgentCommand = c.command === 'capture' || c.command === 'recapture' ? { type: c.command, field: c.field ?? 'card-number' } : { type: c.command };
        const here = applyHere(this.#o.live, c.sessionId, command, c.actor);
        return here.outcome === 'rejected' ? { state: 'rejected', detail: here.reason } : { state: here.outcome };
      });
    } catch (err) {
      this.#o.logger.error({ err, command: id }, 'an agent command for this node was not applied');
    }
  }
}

/** What applying a command on this node can come to. */
type LocalDelivery = { readonly outcome: 'applied' | 'not-joined' } | { readonly outcome: 'rejected'; readonly reason: string };

/** The command applied to a call on this node, if it holds one for the session. */
function applyHere(live: LiveSessions, sessionId: string, command: AgentCommand, actor: Actor): LocalDelivery {
  try {
    return { outcome: live.command(sessionId, command, actor) };
  } catch (err) {
    if (err instanceof CommandRejectedError) return { outcome: 'rejected', reason: err.reason };
    throw err;
  }
}
