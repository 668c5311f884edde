import type { Database, Statement } from 'better-sqlite3';
import { newOpaqueId } from '../domain/opaque-id.js';
import { toAgentCommand, type AgentCommandRow } from './agent-command-rows.js';
import type { AgentCommandAnswer, AgentCommandRecord, AgentCommandStore } from './agent-command-store.js';
import { AgentCommandNotFoundError } from './store-errors.js';

/**
 * Agent commands in the payment database (migration 13). One process holds
 * every call on SQLite, so nothing is notified: the table keeps the same
 * contract as on PostgreSQL, where nodes wake each other.
 */
export class SqliteAgentCommandStore implements AgentCommandStore {
  readonly #db: Database;
  readonly #now: () => Date;
  readonly #sql: Record<'insert' | 'get' | 'answer' | 'waiting' | 'prune', Statement>;

  constructor(db: Database, now: () => Date = () => new Date()) {
    this.#db = db;
    this.#now = now;
    const p = (sql: string): Statement => db.prepare(sql);
    this.#sql = {
      insert: p(`INSERT INTO agent_commands (id, session_id, node_id, command, field, actor_kind, actor_id, state, sent_at)
        VALUES (@id, @sessionId, @nodeId, @command, @field, @actorKind, @actorId, 'sent', @at)`),
      get: p('SELECT * FROM agent_commands WHERE id = ?'),
      answer: p('UPDATE agent_commands SET state = @state, detail = @detail, answered_at = @at WHERE id = @id'),
      waiting: p("SELECT * FROM agent_commands WHERE node_id = ? AND state = 'sent' ORDER BY sent_at, rowid"),
      prune: p("DELETE FROM agent_commands WHERE state <> 'sent' AND answered_at < ?"),
    };
  }

  async send(input: Pick<AgentCommandRecord, 'sessionId' | 'nodeId' | 'command' | 'field' | 'actor'>): Promise<AgentCommandRecord> {
    const id = newOpaqueId('cmd');
    this.#sql.insert.run({ id, sessionId: input.sessionId, nodeId: input.nodeId, command: input.command, field: input.field, actorKind: input.actor.kind, actorId: input.actor.id, at: this.#stamp() });
    return this.#command(id)!;
  }

  async take(id: string, nodeId: string, apply: (command: AgentCommandRecord) => AgentCommandAnswer): Promise<AgentCommandRecord | undefined> {
    return this.#db.transaction(() => {
      const current = this.#command(id);
      if (!current || current.state !== 'sent' || current.nodeId !== nodeId) return undefined;
      const answer = apply(current);
      this.#sql.answer.run({ id, state: answer.state, detail: answer.detail ?? null, at: this.#stamp() });
      return this.#command(id);
    }).immediate();
  }

  async giveUp(id: string): Promise<AgentCommandRecord> {
    return this.#db.transaction(() => {
      const current = this.#command(id);
      if (!current) throw new AgentCommandNotFoundError(id);
      if (current.state !== 'sent') return current;
      this.#sql.answer.run({ id, state: 'unanswered', detail: null, at: this.#stamp() });
      return this.#command(id)!;
    }).immediate();
  }

  async prune(before: Date): Promise<number> {
    return this.#sql.prune.run(before.toISOString()).changes;
  }

  async get(id: string): Promise<AgentCommandRecord | undefined> {
    return this.#command(id);
  }

  async waiting(nodeId: string): Promise<AgentCommandRecord[]> {
    return (this.#sql.waiting.all(nodeId) as AgentCommandRow[]).map(toAgentCommand);
  }

  #command(id: string): AgentCommandRecord | undefined {
    const row = this.#sql.get.get(id) as AgentCommandRow | undefined;
    return row && toAgentCommand(row);
  }

  #stamp(): string {
    return this.#now().toISOString();
  }
}
