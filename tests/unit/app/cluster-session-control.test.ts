import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ClusterSessionControl } from '../../../app/cluster-session-control.js';
import { createLogger } from '../../../app/logger.js';
import { LiveSessions } from '../../../ivr/call/live-sessions.js';
import type { PaymentCall } from '../../../ivr/call/payment-call.js';
import { CommandRejectedError } from '../../../ivr/flow/flow-errors.js';
import type { AgentCommand } from '../../../ivr/flow/flow-types.js';
import type { AgentCommandStore } from '../../../store/agent-command-store.js';
import { CLUSTER_CHANNELS, type ClusterChannel } from '../../../store/cluster-channels.js';
import { SqliteAgentCommandStore } from '../../../store/sqlite-agent-command-store.js';
import { SqlitePaymentStore } from '../../../store/sqlite-payment-store.js';

const AGENT = { kind: 'agent', id: 'usr_amy' } as const;
const logger = createLogger({ level: 'silent' });

/** PostgreSQL's NOTIFY as the nodes hear it: every node listening hears every payload. */
class FakeNotifications {
  readonly #listeners: { channel: ClusterChannel; listener: (payload: string) => void }[] = [];
  on(channel: ClusterChannel, listener: (payload: string) => void): void {
    this.#listeners.push({ channel, listener });
  }
  onListening(): void {}
  notify(channel: ClusterChannel, payload: string): void {
    for (const l of this.#listeners) if (l.channel === channel) l.listener(payload);
  }
}

/** The command store as the PostgreSQL adapter behaves: each write notifies. */
function notifying(store: AgentCommandStore, bus: FakeNotifications): AgentCommandStore {
  return {
    ...store,
    get: (id) => store.get(id),
    waiting: (nodeId) => store.waiting(nodeId),
    send: async (input) => {
      const sent = await store.send(input);
      sentIds.push(sent.id);
      bus.notify(CLUSTER_CHANNELS.agentCommands, `${sent.nodeId} ${sent.id}`);
      return sent;
    },
    take: async (id, nodeId, apply) => {
      const taken = await store.take(id, nodeId, apply);
      if (taken) bus.notify(CLUSTER_CHANNELS.agentCommandAnswers, id);
      return taken;
    },
    giveUp: (id) => store.giveUp(id),
  };
}

/** A payment call on node B that records the commands it is given, or refuses them. */
function callOnB(live: LiveSessions, sessionId: string, refuse?: string): AgentCommand[] {
  const received: AgentCommand[] = [];
  const call = {
    done: new Promise(() => undefined),
    command: (command: AgentCommand) => {
      if (refuse) throw new CommandRejectedError(command.type, 'collecting-card', refuse);
      received.push(command);
    },
  } as unknown as PaymentCall;
  live.register(sessionId, call);
  return received;
}

let dir: string;
let store: SqlitePaymentStore;
let commands: SqliteAgentCommandStore;
let bus: FakeNotifications;
/** The ids of the commands sent, in order. */
let sentIds: string[];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'cluster-commands-'));
  store = new SqlitePaymentStore({ dataDir: dir });
  commands = new SqliteAgentCommandStore(store.database);
  bus = new FakeNotifications();
  sentIds = [];
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

function node(nodeId: string, live: LiveSessions, listening = true): ClusterSessionControl {
  return new ClusterSessionControl({ live, store, commands: notifying(commands, bus), ...(listening ? { listener: bus } : {}), nodeId, answerTimeoutMs: 400, logger });
}

async function joinedOnB(): Promise<string> {
  const s = await store.createSession({ mode: 'agent-assisted', reference: 'INV-1', amountMinor: 100, currency: 'EUR', callId: 'call-b', nodeId: 'node-b' });
  return s.id;
}

describe('agent commands between nodes', () => {
  it('applies a command at once to a call this node holds', async () => {
    const live = new LiveSessions();
    const id = await joinedOnB();
    const received = callOnB(live, id);
    expect(await node('node-b', live).command(id, { type: 'cancel' }, AGENT)).toEqual({ outcome: 'applied' });
    expect(received).toEqual([{ type: 'cancel' }]);
    expect(await commands.waiting('node-b')).toEqual([]);
  });

  it('sends a command for a call another node holds to that node, which applies it once and answers', async () => {
    const liveB = new LiveSessions();
    const id = await joinedOnB();
    const received = callOnB(liveB, id);
    node('node-b', liveB);
    const a = node('node-a', new LiveSessions());
    expect(await a.command(id, { type: 'capture', field: 'expiry' }, AGENT)).toEqual({ outcome: 'applied', node: 'node-b' });
    expect(received).toEqual([{ type: 'capture', field: 'expiry' }]);
  });

  it('answers with the flow\'s reason when the other node\'s call refuses the command', async () => {
    const liveB = new LiveSessions();
    const id = await joinedOnB();
    callOnB(liveB, id, 'no field is being captured');
    node('node-b', liveB);
    expect(await node('node-a', new LiveSessions()).command(id, { type: 'complete' }, AGENT)).toEqual({ outcome: 'rejected', reason: 'no field is being captured', node: 'node-b' });
  });

  it('gives a command up when the node holding the call does not answer in time: unanswered, and never applied after', async () => {
    const liveB = new LiveSessions();
    const id = await joinedOnB();
    const received = callOnB(liveB, id);
    // Node B is not listening (its connection lost): nobody takes the command.
    const a = node('node-a', new LiveSessions());
    expect(await a.command(id, { type: 'cancel' }, AGENT)).toEqual({ outcome: 'unanswered', node: 'node-b' });
    expect(await commands.waiting('node-b')).toEqual([]);
    // Node B back, hearing of the command late: it is not its to apply any more.
    expect(await commands.take(sentIds[0]!, 'node-b', () => ({ state: 'applied' }))).toBeUndefined();
    expect(received).toEqual([]);
    expect((await commands.get(sentIds[0]!))?.state).toBe('unanswered');
  });

  it('says not joined for a session no call is on, on any node', async () => {
    const s = await store.createSession({ mode: 'agent-assisted', reference: 'INV-2', amountMinor: 100, currency: 'EUR' });
    expect(await node('node-a', new LiveSessions()).command(s.id, { type: 'cancel' }, AGENT)).toEqual({ outcome: 'not-joined' });
    expect(await commands.waiting('node-b')).toEqual([]);
  });
});
