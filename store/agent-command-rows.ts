import type { Actor } from '../domain/actor.js';
import type { CardField } from '../domain/payment-types.js';
import type { AgentCommandName, AgentCommandRecord, AgentCommandState } from './agent-command-store.js';

/* The agent_commands rows (migration 13) as both adapters read them. */

export interface AgentCommandRow {
  id: string;
  session_id: string;
  node_id: string;
  command: AgentCommandName;
  field: CardField | null;
  actor_kind: Actor['kind'];
  actor_id: string;
  state: AgentCommandState;
  detail: string | null;
  sent_at: string;
  answered_at: string | null;
}

export function toAgentCommand(r: AgentCommandRow): AgentCommandRecord {
  return {
    id: r.id,
    sessionId: r.session_id,
    nodeId: r.node_id,
    command: r.command,
    field: r.field,
    actor: { kind: r.actor_kind, id: r.actor_id },
    state: r.state,
    detail: r.detail,
    sentAt: r.sent_at,
    answeredAt: r.answered_at,
  };
}
