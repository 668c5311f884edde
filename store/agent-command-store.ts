import type { Actor } from '../domain/actor.js';
import type { CardField } from '../domain/payment-types.js';

/** What an agent may ask of the call its session's caller is on (the flow's AgentCommand, by name). */
export type AgentCommandName = 'capture' | 'recapture' | 'cancel' | 'complete';

/**
 * sent → applied | not-joined | rejected (the node holding the call answers,
 * once), or sent → unanswered (the sender stopped waiting first). Every
 * state but `sent` is final.
 */
export type AgentCommandState = 'sent' | 'applied' | 'not-joined' | 'rejected' | 'unanswered';

/** One agent command for the node that holds the call. It names a field, never what was keyed. */
export interface AgentCommandRecord {
  readonly id: string;
  readonly sessionId: string;
  /** The node whose call the command is for. */
  readonly nodeId: string;
  readonly command: AgentCommandName;
  readonly field: CardField | null;
  readonly actor: Actor;
  readonly state: AgentCommandState;
  /** Why a command was rejected (the flow's reason). */
  readonly detail: string | null;
  readonly sentAt: string;
  readonly answeredAt: string | null;
}

/** The owning node's answer to a command it applied (or could not). */
export interface AgentCommandAnswer {
  readonly state: 'applied' | 'not-joined' | 'rejected';
  readonly detail?: string | null;
}

/**
 * Agent commands between nodes (migration 13): a node's REST API writes a
 * command for the node holding the call; that node applies it and answers
 * once. On PostgreSQL each write also notifies (store/cluster-channels.ts),
 * so nobody polls in the normal case.
 */
export interface AgentCommandStore {
  /** Writes a `sent` command for `nodeId` (and wakes that node). */
  send(input: Pick<AgentCommandRecord, 'sessionId' | 'nodeId' | 'command' | 'field' | 'actor'>): Promise<AgentCommandRecord>;
  /**
   * For the node holding the call: if command `id` is still `sent` to
   * `nodeId`, runs `apply` under the row's lock and records its answer (and
   * wakes the sender). Undefined when the command is not this node's to
   * apply any more (answered, given up, or another node's).
   */
  take(id: string, nodeId: string, apply: (command: AgentCommandRecord) => AgentCommandAnswer): Promise<AgentCommandRecord | undefined>;
  /** The sender stops waiting: a command still `sent` becomes `unanswered`. Resolves with the row as it ends. @throws AgentCommandNotFoundError */
  giveUp(id: string): Promise<AgentCommandRecord>;
  get(id: string): Promise<AgentCommandRecord | undefined>;
  /** Commands still `sent` to `nodeId`, oldest first: what a node missed while it was not listening. */
  waiting(nodeId: string): Promise<AgentCommandRecord[]>;
  /** Deletes the commands answered (or given up) before `before`; one still `sent` stays. The audit trail keeps who sent what. Returns how many went. */
  prune(before: Date): Promise<number>;
}
