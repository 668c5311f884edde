import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AgentCommandNotFoundError } from '../../../store/store-errors.js';
import { CHECK, type OpenStore, type StoreUnderTest } from './store-under-test.js';

const T0 = Date.parse('2030-01-02T03:04:05.000Z');
const AGENT = { kind: 'agent', id: 'usr_amy' } as const;

/**
 * What every agent command store must do (store/agent-command-store.ts): a
 * command sent for a node is applied by that node once, or given up by its
 * sender once, never both.
 */
export function describeAgentCommandContract(open: OpenStore): void {
  let clock: number;
  let h: StoreUnderTest;

  beforeEach(async () => {
    clock = T0;
    h = await open(() => new Date(clock));
  });
  afterEach(async () => {
    await h.close();
  });

  async function sent(nodeId = 'node-b') {
    const session = await h.store.createSession({ mode: 'agent-assisted', reference: 'INV-1', amountMinor: 4250, currency: 'EUR', callId: 'call-1', nodeId });
    return h.commands.send({ sessionId: session.id, nodeId, command: 'capture', field: 'card-number', actor: AGENT });
  }

  describe('agent commands', () => {
    it('keeps a command sent for the node holding the call, and lists what that node has waiting, oldest first', async () => {
      const first = await sent();
      expect(first).toEqual({
        id: expect.stringMatching(/^cmd_/),
        sessionId: first.sessionId,
        nodeId: 'node-b',
        command: 'capture',
        field: 'card-number',
        actor: AGENT,
        state: 'sent',
        detail: null,
        sentAt: new Date(T0).toISOString(),
        answeredAt: null,
      });
      clock += 1000;
      const second = await sent();
      await sent('node-c');
      expect((await h.commands.waiting('node-b')).map((c) => c.id)).toEqual([first.id, second.id]);
      expect(await h.commands.get(first.id)).toEqual(first);
    });

    it('is applied by its node once: the answer is kept, a second take and another node\'s take do nothing', async () => {
      const command = await sent();
      let applied = 0;
      const apply = () => {
        applied++;
        return { state: 'applied' } as const;
      };
      expect(await h.commands.take(command.id, 'node-a', apply)).toBeUndefined();
      clock += 500;
      expect(await h.commands.take(command.id, 'node-b', apply)).toMatchObject({ state: 'applied', answeredAt: new Date(T0 + 500).toISOString() });
      expect(await h.commands.take(command.id, 'node-b', apply)).toBeUndefined();
      expect(applied).toBe(1);
      expect(await h.commands.waiting('node-b')).toEqual([]);
      // Answered first: giving up changes nothing.
      expect((await h.commands.giveUp(command.id)).state).toBe('applied');
    });

    it('keeps why a command was rejected', async () => {
      const command = await sent();
      expect(await h.commands.take(command.id, 'node-b', () => ({ state: 'rejected', detail: 'no field is being captured' }))).toMatchObject({ state: 'rejected', detail: 'no field is being captured' });
    });

    it('given up by its sender first, it is never applied', async () => {
      const command = await sent();
      expect((await h.commands.giveUp(command.id)).state).toBe('unanswered');
      expect(await h.commands.take(command.id, 'node-b', () => ({ state: 'applied' }))).toBeUndefined();
      await expect(h.commands.giveUp('cmd_nope')).rejects.toBeInstanceOf(AgentCommandNotFoundError);
    });

    it('deletes the commands answered or given up before a time, never one still sent', async () => {
      const applied = await sent();
      await h.commands.take(applied.id, 'node-b', () => ({ state: 'applied' }));
      const givenUp = await sent();
      await h.commands.giveUp(givenUp.id);
      const waiting = await sent();
      clock += 60_000;
      const recent = await sent();
      await h.commands.take(recent.id, 'node-b', () => ({ state: 'rejected', detail: 'no call' }));

      expect(await h.commands.prune(new Date(T0))).toBe(0);
      expect(await h.commands.prune(new Date(T0 + 1))).toBe(2);
      expect(await h.commands.get(applied.id)).toBeUndefined();
      expect(await h.commands.get(givenUp.id)).toBeUndefined();
      expect((await h.commands.get(recent.id))?.state).toBe('rejected');
      // Still waiting for its node, however old: kept.
      expect(await h.commands.prune(new Date(T0 + 120_000))).toBe(1);
      expect((await h.commands.waiting('node-b')).map((c) => c.id)).toEqual([waiting.id]);
    });

    it('takes only the commands and fields the flow knows', async () => {
      const session = await h.store.createSession({ mode: 'agent-assisted', reference: 'INV-1', amountMinor: 1, currency: 'EUR' });
      const base = { sessionId: session.id, nodeId: 'node-b', actor: AGENT };
      await expect(h.commands.send({ ...base, command: 'shout' as never, field: null })).rejects.toThrow(CHECK);
      await expect(h.commands.send({ ...base, command: 'capture', field: 'pin' as never })).rejects.toThrow(CHECK);
    });
  });
}
