import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { MIGRATIONS } from '../../../store/migrations.js';
import { PostgresPaymentStore } from '../../../store/postgres-payment-store.js';
import { PostgresListener } from '../../../store/postgres-listener.js';
import { PostgresProgressFrameStore } from '../../../store/postgres-progress-frame-store.js';
import { CLUSTER_CHANNELS } from '../../../store/cluster-channels.js';
import { SchemaVersionError } from '../../../store/store-errors.js';
import { settleInterruptedCalls } from '../../../ivr/call/interrupted-calls.js';
import { startPostgres, type RunningPostgres } from '../../../tools/postgres-server.js';
import { describeAgentCommandContract } from '../../support/store-contract/agent-command-contract.js';
import { describeAuditAndRecordsContract } from '../../support/store-contract/audit-and-records-contract.js';
import { describePaymentLinkContract } from '../../support/store-contract/payment-link-contract.js';
import { describePaymentStoreContract } from '../../support/store-contract/payment-store-contract.js';
import { openPostgresStore } from '../../support/store-contract/postgres-store-under-test.js';

// A real PostgreSQL (Debian's postgresql 15) in a temporary folder, as tools/postgres-server.ts runs it.
let server: RunningPostgres;
beforeAll(async () => {
  server = await startPostgres();
}, 60_000);
afterAll(async () => {
  await server?.stop();
});

describe('the store contract on PostgreSQL', { timeout: 20_000 }, () => {
  describePaymentStoreContract((now) => openPostgresStore(server, now));
  describeAuditAndRecordsContract((now, key) => openPostgresStore(server, now, key));
  describePaymentLinkContract((now) => openPostgresStore(server, now));
  describeAgentCommandContract((now) => openPostgresStore(server, now));
});

describe('PostgreSQL schema', { timeout: 30_000 }, () => {
  it('is migrated once when several nodes start together, to the version SQLite has', async () => {
    const url = await server.createDatabase('together');
    const nodes = await Promise.all(Array.from({ length: 4 }, () => PostgresPaymentStore.open({ url, poolSize: 2 })));
    try {
      const version = await nodes[0]!.pool.query<{ version: number }>('SELECT version FROM schema_version');
      expect(version.rows).toEqual([{ version: MIGRATIONS.length }]);
      // Every node works on the one schema.
      const made = await nodes[1]!.createSession({ mode: 'direct', reference: 'R1', amountMinor: 1, currency: 'EUR' });
      expect((await nodes[3]!.getSession(made.id))?.reference).toBe('R1');
    } finally {
      await Promise.all(nodes.map((n) => n.close()));
    }
  });

  it('runs a cluster job on one node at a time: another node skips it meanwhile', async () => {
    const url = await server.createDatabase('jobs');
    const [a, b] = await Promise.all([PostgresPaymentStore.open({ url, poolSize: 2 }), PostgresPaymentStore.open({ url, poolSize: 2 })]);
    try {
      let finish!: () => void;
      let started!: () => void;
      const running = new Promise<void>((resolve) => (started = resolve));
      const first = a.runAlone('reconcile', async () => {
        started();
        await new Promise<void>((resolve) => (finish = resolve));
        return 'a';
      });
      await running;
      expect(await b.runAlone('reconcile', async () => 'b')).toBeUndefined();
      expect(await a.runAlone('reconcile', async () => 'a again')).toBeUndefined();
      finish();
      expect(await first).toBe('a');
      expect(await b.runAlone('reconcile', async () => 'b')).toBe('b');
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('a node that restarts settles the calls it held, never those of another node', async () => {
    const h = await openPostgresStore(server, () => new Date());
    try {
      const capturing = async (nodeId: string, reference: string) => {
        const s = await h.store.createSession({ mode: 'direct', reference, amountMinor: 100, currency: 'EUR', callId: `call-${reference}`, nodeId });
        return h.store.updateSession(s.id, { status: 'capturing' });
      };
      const mine = await capturing('node-a', 'A1');
      const theirs = await capturing('node-b', 'B1');
      const report = await settleInterruptedCalls(h.store, h.audit, [], 'node-a');
      expect(report.abandoned).toEqual([mine.id]);
      expect((await h.store.getSession(mine.id))?.status).toBe('abandoned');
      expect((await h.store.getSession(theirs.id))?.status).toBe('capturing');
    } finally {
      await h.close();
    }
  });

  it('has no column that could hold a card number, expiry or security code', async () => {
    const url = await server.createDatabase('columns');
    const store = await PostgresPaymentStore.open({ url, poolSize: 1 });
    try {
      const { rows } = await store.pool.query<{ column_name: string }>("SELECT column_name FROM information_schema.columns WHERE table_schema = 'public'");
      expect(rows.length).toBeGreaterThan(20);
      expect(rows.filter((c) => /pan|card_?number|expir|cvv|cvc|security|track|pin/i.test(c.column_name))).toEqual([]);
    } finally {
      await store.close();
    }
  });

  it('refuses a database from a newer build', async () => {
    const url = await server.createDatabase('newer');
    await (await PostgresPaymentStore.open({ url, poolSize: 1 })).close();
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query('UPDATE schema_version SET version = $1', [MIGRATIONS.length + 1]);
    await client.end();
    await expect(PostgresPaymentStore.open({ url, poolSize: 1 })).rejects.toThrow(SchemaVersionError);
  });

  it('commits the intents and answers money depends on with synchronous_commit on, other writes without waiting for the WAL flush', async () => {
    const url = await server.createDatabase('durable');
    const store = await PostgresPaymentStore.open({ url, poolSize: 1 });
    // The WAL writer flushes asynchronous commits only every 10 s (a reload setting): what is flushed at once was asked for.
    const setWriterDelay = async (value: string): Promise<void> => {
      await store.pool.query(`ALTER SYSTEM SET wal_writer_delay = '${value}'`);
      await store.pool.query('SELECT pg_reload_conf()');
      await expect.poll(async () => (await store.pool.query('SHOW wal_writer_delay')).rows[0].wal_writer_delay).toBe(value);
    };
    await setWriterDelay('10s');
    try {
      expect((await store.pool.query('SHOW synchronous_commit')).rows).toEqual([{ synchronous_commit: 'off' }]);
      const s = await store.createSession({ mode: 'direct', reference: 'R', amountMinor: 1, currency: 'EUR' });
      expect(await flushed(store)).toBe(false);
      await store.recordAuthorisationIntent({ idempotencyKey: 'k', sessionId: s.id, psp: 'p', amountMinor: 1, currency: 'EUR' });
      expect(await flushed(store)).toBe(true);
      await store.updateSession(s.id, { status: 'capturing' });
      expect(await flushed(store)).toBe(false);
      await store.resolveAuthorisation('k', { state: 'approved', pspReference: 'x' });
      expect(await flushed(store)).toBe(true);
    } finally {
      await setWriterDelay('200ms');
      await store.close();
    }
  });
});

/** Whether everything written to the WAL so far is flushed: true right after a synchronous commit. */
async function flushed(store: PostgresPaymentStore): Promise<boolean> {
  const { rows } = await store.pool.query<{ flushed: boolean }>('SELECT pg_current_wal_flush_lsn() >= pg_current_wal_insert_lsn() AS flushed');
  return rows[0]!.flushed;
}

describe('the shared progress stream on PostgreSQL', { timeout: 30_000 }, () => {
  it('numbers each session\'s frames 1, 2, 3… whichever node writes them, replays them in order, and notifies the session and number only', async () => {
    const url = await server.createDatabase('frames');
    const [a, b] = await Promise.all([PostgresPaymentStore.open({ url, poolSize: 4 }), PostgresPaymentStore.open({ url, poolSize: 4 })]);
    const heard: string[] = [];
    const listener = new PostgresListener({ url });
    listener.on(CLUSTER_CHANNELS.progressFrames, (payload) => heard.push(payload));
    await listener.start();
    try {
      const [onA, onB] = [new PostgresProgressFrameStore(a.pool), new PostgresProgressFrameStore(b.pool)];
      // Two nodes writing frames of one session at once: every number taken once, none skipped.
      const written = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? onA : onB).append('pay_s1', { type: 'digit-entered', field: 'card-number', count: i + 1 })));
      expect(written.map((f) => f.seq).sort((x, y) => x - y)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
      await onA.append('pay_s2', { type: 'secure-on' });
      const replayed = await onB.after('pay_s1', 0);
      expect(replayed.map((f) => f.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
      expect(replayed.find((f) => f.seq === written[3]!.seq)?.event).toEqual(written[3]!.event);
      expect((await onA.after('pay_s1', 18)).map((f) => f.seq)).toEqual([19, 20]);
      expect((await onA.after('pay_s2', 0)).map((f) => f.event)).toEqual([{ type: 'secure-on' }]);
      await expect.poll(() => heard.length).toBe(21);
      expect(new Set(heard)).toEqual(new Set([...Array.from({ length: 20 }, (_, i) => `pay_s1 ${i + 1}`), 'pay_s2 1']));
    } finally {
      await listener.close();
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('deletes the frames of sessions whose newest frame is older than the cutoff, and only those', async () => {
    const url = await server.createDatabase('frames_retention');
    const store = await PostgresPaymentStore.open({ url, poolSize: 2 });
    try {
      let clock = Date.parse('2030-01-02T03:00:00.000Z');
      const frames = new PostgresProgressFrameStore(store.pool, () => new Date(clock));
      for (let i = 0; i < 3; i++) await frames.append('pay_old', { type: 'digit-entered', field: 'card-number', count: i + 1 });
      await frames.append('pay_long', { type: 'secure-on' });
      clock += 60_000;
      await frames.append('pay_long', { type: 'authorising' });
      await frames.append('pay_new', { type: 'secure-on' });
      const cutoff = new Date(clock);

      expect(await frames.prune(cutoff)).toBe(3);
      expect(await frames.after('pay_old', 0)).toEqual([]);
      // A session with a frame since the cutoff keeps all of them, the older ones too.
      expect((await frames.after('pay_long', 0)).map((f) => f.seq)).toEqual([1, 2]);
      expect((await frames.after('pay_new', 0)).map((f) => f.seq)).toEqual([1]);
      expect(await frames.prune(cutoff)).toBe(0);
    } finally {
      await store.close();
    }
  });
});
