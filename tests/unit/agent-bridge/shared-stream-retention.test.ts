import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SharedStreamRetention } from '../../../agent-bridge/stream/shared-stream-retention.js';
import { SqliteAgentCommandStore } from '../../../store/sqlite-agent-command-store.js';
import { SqlitePaymentStore } from '../../../store/sqlite-payment-store.js';

const HOUR = 3_600_000;
const T0 = Date.parse('2030-01-02T12:00:00.000Z');
const AGENT = { kind: 'agent', id: 'usr_amy' } as const;

describe('SharedStreamRetention', () => {
  let dir: string;
  let clock: number;
  let store: SqlitePaymentStore;
  let commands: SqliteAgentCommandStore;
  const logged: unknown[] = [];
  const logger = { info: (obj: unknown) => void logged.push(obj), error: () => undefined };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'retention-'));
    clock = T0;
    store = new SqlitePaymentStore({ dataDir: dir, now: () => new Date(clock) });
    commands = new SqliteAgentCommandStore(store.database, () => new Date(clock));
    logged.length = 0;
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function answeredAt(at: number): Promise<string> {
    clock = at;
    const session = await store.createSession({ mode: 'agent-assisted', reference: 'INV-1', amountMinor: 100, currency: 'EUR', callId: 'c', nodeId: 'node-a' });
    const command = await commands.send({ sessionId: session.id, nodeId: 'node-a', command: 'capture', field: 'card-number', actor: AGENT });
    await commands.take(command.id, 'node-a', () => ({ state: 'applied' }));
    return command.id;
  }

  it('deletes, past the retention, the agent commands answered and the shared frames of quiet sessions, and says how many', async () => {
    const old = await answeredAt(T0 - 2 * HOUR);
    const recent = await answeredAt(T0 - HOUR / 2);
    const cutoffs: Date[] = [];
    const frames = { prune: async (before: Date) => (cutoffs.push(before), 7) };
    clock = T0;
    const retention = new SharedStreamRetention({ store, commands, frames, retentionMs: HOUR, now: () => new Date(clock), logger });

    expect(await retention.pruneOnce()).toEqual({ frames: 7, commands: 1 });
    expect(cutoffs).toEqual([new Date(T0 - HOUR)]);
    expect(await commands.get(old)).toBeUndefined();
    expect(await commands.get(recent)).toBeDefined();
    expect(logged).toEqual([{ frames: 7, commands: 1, before: new Date(T0 - HOUR).toISOString() }]);
  });

  it('on one node (no shared frames) deletes the old commands alone, and logs nothing when nothing went', async () => {
    await answeredAt(T0 - 30 * HOUR);
    clock = T0;
    const retention = new SharedStreamRetention({ store, commands, retentionMs: 24 * HOUR, now: () => new Date(clock), logger });
    expect(await retention.pruneOnce()).toEqual({ frames: 0, commands: 1 });
    expect(await retention.pruneOnce()).toEqual({ frames: 0, commands: 0 });
    expect(logged).toHaveLength(1);
  });

  it('refuses a retention that is not positive', () => {
    expect(() => new SharedStreamRetention({ store, commands, retentionMs: 0, logger })).toThrow(RangeError);
  });
});
