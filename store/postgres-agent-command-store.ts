import { newOpaqueId } from '../domain/opaque-id.js';
import { toAgentCommand, type AgentCommandRow } from './agent-command-rows.js';
import type { AgentCommandAnswer, AgentCommandRecord, AgentCommandStore } from './agent-command-store.js';
import { CLUSTER_CHANNELS } from './cluster-channels.js';
import { inTransaction, type Pool, type PoolClient } from './postgres-pool.js';
import { AgentCommandNotFoundError } from './store-errors.js';

/**
 * Agent commands in PostgreSQL (migration 13), on the payment store's pool.
 * Each write notifies in its own transaction (pg_notify is delivered at
 * commit, so the row is there when the listener reads it).
 */
export class PostgresAgentCommandStore implements AgentCommandStore {
  readonly #pool: Pool;
  readonly #now: () => Date;

  constructor(pool: Pool, now: () => Date = () => new Date()) {
    this.#pool = pool;
    this.#now = now;
  }

  async send(input: Pick<AgentCommandRecord, 'sessionId' | 'nodeId' | 'command' | 'field' | 'actor'>): Promise<AgentCommandRecord> {
    return inTransaction(this.#pool, async (client) => {
      const { rows } = await client.query<AgentCommandRow>(
        `INSERT INTO agent_commands (id, session_id, node_id, command, field, actor_kind, actor_id, state, sent_at)
          VALUES ($1, $2, $3, $4, $5, $6, $7, 'sent', $8) RETURNING *`,
        [newOpaqueId('cmd'), input.sessionId, input.nodeId, input.command, input.field, input.actor.kind, input.actor.id, this.#stamp()],
      );
      const sent = toAgentCommand(rows[0]!);
      await client.query('SELECT pg_notify($1, $2)', [CLUSTER_CHANNELS.agentCommands, `${sent.nodeId} ${sent.id}`]);
      return sent;
    });
  }

  async take(id: string, nodeId: string, apply: (command: AgentCommandRecord) => AgentCommandAnswer): Promise<AgentCommandRecord | undefined> {
    return inTransaction(this.#pool, async (client) => {
      const current = await commandIn(client, id, true);
      if (!current || current.state !== 'sent' || current.nodeId !== nodeId) return undefined;
      const answer = apply(current);
      return this.#answer(client, id, answer.state, answer.detail ?? null);
    });
  }

  async giveUp(id: string): Promise<AgentCommandRecord> {
    return inTransaction(this.#pool, async (client) => {
      const current = await commandIn(client, id, true);
      if (!current) throw new AgentCommandNotFoundError(id);
      return current.state === 'sent' ? this.#answer(client, id, 'unanswered', null) : current;
    });
  }

  async get(id: string): Promise<AgentCommandRecord | undefined> {
    return commandIn(this.#pool, id, false);
  }

  async waiting(nodeId: string): Promise<AgentCommandRecord[]> {
    const { rows } = await this.#pool.query<AgentCommandRow>("SELECT * FROM agent_commands WHERE node_id = $1 AND state = 'sent' ORDER BY sent_at, id", [nodeId]);
    return rows.map(toAgentCommand);
  }

  async prune(before: Date): Promise<number> {
    const { rowCount } = await this.#pool.query("DELETE FROM agent_commands WHERE state <> 'sent' AND answered_at < $1", [before.toISOString()]);
    return rowCount ?? 0;
  }

  async #answer(client: PoolClient, id: string, state: AgentCommandRecord['state'], detail: string | null): Promise<AgentCommandRecord> {
    const { rows } = await client.query<AgentCommandRow>('UPDATE agent_commands SET state = $1, detail = $2, answered_at = $3 WHERE id = $4 RETURNING *', [
      state,
      detail,
      this.#stamp(),
      id,
    ]);
    await client.query('SELECT pg_notify($1, $2)', [CLUSTER_CHANNELS.agentCommandAnswers, id]);
    return toAgentCommand(rows[0]!);
  }

  #stamp(): string {
    return this.#now().toISOString();
  }
}

async function commandIn(db: Pool | PoolClient, id: string, forUpdate: boolean): Promise<AgentCommandRecord | undefined> {
  const { rows } = await db.query<AgentCommandRow>(`SELECT * FROM agent_commands WHERE id = $1${forUpdate ? ' FOR UPDATE' : ''}`, [id]);
  return rows[0] && toAgentCommand(rows[0]);
}
