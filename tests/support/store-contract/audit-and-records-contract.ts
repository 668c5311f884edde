import { createHmac, randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ReversalState } from '../../../domain/payment-lifecycle.js';
import { IdempotencyKeyConflictError, InvalidReversalTransitionError, ReversalNotFoundError } from '../../../store/store-errors.js';
import type { OpenStore, StoreUnderTest } from './store-under-test.js';

const T0 = Date.parse('2030-01-02T03:04:05.000Z');
const MINUTE = 60_000;
const CALL = { kind: 'call', id: 'call-1' } as const;
const SUPERVISOR = { kind: 'supervisor', id: 'sue' } as const;

/** The documented keyed hash and key id (store/audit-chain.ts), computed here independently of the log. */
const keyIdOf = (k: Buffer): string => createHmac('sha256', k).update('audit-key-id').digest('hex').slice(0, 16);
function keyedHash(k: Buffer, e: { seq: number; at: string; sessionId: string | null; actor: { kind: string; id: string }; action: string; detail: string; prevHash: string }): string {
  const text = JSON.stringify([e.seq, e.at, e.sessionId, e.actor.kind, e.actor.id, e.action, e.detail, keyIdOf(k)]);
  return createHmac('sha256', k).update(e.prevHash).update(text).digest('hex');
}

/**
 * What the audit log, the PSP records and the identity store must do on
 * every adapter. `open` is given the audit key the log chains with.
 */
export function describeAuditAndRecordsContract(open: (now: () => Date, auditKey: Buffer) => ReturnType<OpenStore>): void {
  let clock: number;
  let key: Buffer;
  let h: StoreUnderTest;
  const now = (): Date => new Date(clock);
  const tick = (ms = 1000): void => {
    clock += ms;
  };

  beforeEach(async () => {
    clock = T0;
    key = randomBytes(32);
    h = await open(now, key);
  });
  afterEach(async () => {
    await h.close();
  });

  const newSession = () => h.store.createSession({ mode: 'direct', reference: 'INV-1', amountMinor: 4250, currency: 'EUR', callId: 'call-1' });

  describe('audit trail', () => {
    async function fill(n: number, sessionId: string | null = null): Promise<void> {
      for (let i = 0; i < n; i++) {
        await h.audit.append({ sessionId, actor: CALL, action: `step-${i}`, detail: { i, b: 'x', a: { z: 1, y: [2, 1] } } });
        tick();
      }
    }

    it('appends rows chained by HMAC-SHA-256 with the key, over prev_hash and a canonical serialisation, naming the key', async () => {
      const s = await newSession();
      const first = await h.audit.append({ sessionId: s.id, actor: { kind: 'agent', id: 'u1' }, action: 'session-created', detail: { b: 2, a: 1 } });
      expect(first).toMatchObject({ seq: 1, at: '2030-01-02T03:04:05.000Z', sessionId: s.id, actor: { kind: 'agent', id: 'u1' }, detail: { a: 1, b: 2 } });
      expect(first.prevHash).toBe('0'.repeat(64));
      expect(first.hash).toBe(keyedHash(key, { ...first, detail: '{"a":1,"b":2}' }));
      expect(await h.sql('SELECT key_id FROM audit_log WHERE seq = 1')).toEqual([{ key_id: keyIdOf(key) }]);
      const second = await h.audit.append({ sessionId: null, actor: CALL, action: 'x' });
      expect(second).toMatchObject({ seq: 2, prevHash: first.hash, detail: {} });
      expect(second.hash).toBe(keyedHash(key, { ...second, detail: '{}' }));
      // Key order does not change what is stored.
      const c = await h.audit.append({ sessionId: null, actor: CALL, action: 'y', detail: { n: { b: 1, a: [{ d: 1, c: 2 }] } } });
      expect(await h.sql('SELECT detail FROM audit_log WHERE seq = ?', [c.seq])).toEqual([{ detail: '{"n":{"a":[{"c":2,"d":1}],"b":1}}' }]);
    });

    it('lists by session, after a seq, with a limit', async () => {
      const s = await newSession();
      await fill(2);
      await fill(3, s.id);
      expect((await h.audit.list({})).map((r) => r.seq)).toEqual([1, 2, 3, 4, 5]);
      expect((await h.audit.list({ sessionId: s.id })).map((r) => r.seq)).toEqual([3, 4, 5]);
      expect((await h.audit.list({ afterSeq: 3 })).map((r) => r.seq)).toEqual([4, 5]);
      expect((await h.audit.list({ sessionId: s.id, afterSeq: 3, limit: 1 })).map((r) => r.seq)).toEqual([4]);
      expect((await h.audit.list({}))[0]).toMatchObject({ actor: CALL, detail: { i: 0, b: 'x', a: { z: 1, y: [2, 1] } } });
    });

    it('verifies an intact chain, also from another process', async () => {
      expect(await h.audit.verify()).toEqual({ ok: true, rows: 0 });
      await fill(3);
      const other = await h.reopen();
      try {
        await other.audit.append({ sessionId: null, actor: CALL, action: 'elsewhere' });
        expect(await other.audit.verify()).toEqual({ ok: true, rows: 4 });
      } finally {
        await other.close();
      }
      await fill(1);
      expect(await h.audit.verify()).toEqual({ ok: true, rows: 5 });
    });

    it('keeps one chain when two processes append at once', async () => {
      const other = await h.reopen();
      try {
        await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? h.audit : other.audit).append({ sessionId: null, actor: CALL, action: `a${i}` })));
      } finally {
        await other.close();
      }
      const rows = await h.audit.list({});
      expect(rows.map((r) => r.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
      expect(new Set(rows.map((r) => r.action)).size).toBe(20);
      expect(await h.audit.verify()).toEqual({ ok: true, rows: 20 });
    });

    it('refuses UPDATE and DELETE in the database itself', async () => {
      await fill(2);
      await expect(h.sql("UPDATE audit_log SET action = 'x' WHERE seq = 1")).rejects.toThrow(/append-only/);
      await expect(h.sql('DELETE FROM audit_log WHERE seq = 1')).rejects.toThrow(/append-only/);
      await expect(h.sql('UPDATE audit_chain SET keyed_from_seq = 99')).rejects.toThrow(/fixed/);
      await expect(h.sql('DELETE FROM audit_chain')).rejects.toThrow(/fixed/);
      expect(await h.audit.verify()).toEqual({ ok: true, rows: 2 });
    });
  });

  describe('reversals', () => {
    async function requestRefund(key = 'rev_1') {
      const session = await newSession();
      return h.records.recordReversalIntent({ idempotencyKey: key, sessionId: session.id, kind: 'refund', psp: 'sandbox', amountMinor: 1000, currency: 'EUR', actor: SUPERVISOR });
    }
    // payment-lifecycle.ts: requested → pending | succeeded | refused | error | in_doubt;
    // pending → succeeded | refused; in_doubt → pending | succeeded | refused | error. Final states never change.
    const LEGAL: Record<ReversalState, ReversalState[]> = {
      requested: ['pending', 'succeeded', 'refused', 'error', 'in_doubt'],
      pending: ['succeeded', 'refused'],
      in_doubt: ['pending', 'succeeded', 'refused', 'error'],
      succeeded: [],
      refused: [],
      error: [],
    };
    const STATES = Object.keys(LEGAL) as ReversalState[];
    const pairs = STATES.flatMap((from) => STATES.map((to) => [from, to, from === to || LEGAL[from].includes(to)] as const));

    it.each(pairs)('%s → %s allowed: %s', async (from, to, allowed) => {
      await requestRefund();
      if (from !== 'requested') await h.records.resolveReversal('rev_1', { state: from });
      if (allowed) {
        expect((await h.records.resolveReversal('rev_1', { state: to })).state).toBe(to);
        return;
      }
      const thrown: unknown = await h.records.resolveReversal('rev_1', { state: to, detail: 'late' }).catch((err: unknown) => err);
      expect(thrown).toBeInstanceOf(InvalidReversalTransitionError);
      expect(thrown).toMatchObject({ idempotencyKey: 'rev_1', from, to });
      // Nothing of a refused change is written.
      expect(await h.records.getReversal('rev_1')).toMatchObject({ state: from, detail: null });
    });

    it('refuses an unknown key with ReversalNotFoundError, and a key used twice', async () => {
      await expect(h.records.resolveReversal('rev_nope', { state: 'succeeded' })).rejects.toThrow(ReversalNotFoundError);
      await requestRefund();
      await expect(requestRefund()).rejects.toThrow(IdempotencyKeyConflictError);
    });

    it('stamps resolvedAt when the state first becomes final; pending and in doubt leave it empty; unset fields are kept', async () => {
      const requested = await requestRefund();
      expect(requested).toMatchObject({ state: 'requested', amountMinor: 1000, currency: 'EUR', actor: SUPERVISOR, requestedAt: '2030-01-02T03:04:05.000Z', resolvedAt: null });
      tick();
      expect(await h.records.resolveReversal('rev_1', { state: 'in_doubt', detail: 'no-answer' })).toMatchObject({ detail: 'no-answer', resolvedAt: null });
      expect(await h.records.resolveReversal('rev_1', { state: 'pending', pspReference: 're_1' })).toMatchObject({ pspReference: 're_1', detail: 'no-answer', resolvedAt: null });
      tick();
      const done = await h.records.resolveReversal('rev_1', { state: 'succeeded', detail: null });
      expect(done).toMatchObject({ state: 'succeeded', pspReference: 're_1', detail: null, resolvedAt: '2030-01-02T03:04:07.000Z' });
      tick();
      expect((await h.records.resolveReversal('rev_1', { state: 'succeeded' })).resolvedAt).toBe(done.resolvedAt);
      expect((await h.records.listReversals({ pspReference: 're_1' })).map((r) => r.idempotencyKey)).toEqual(['rev_1']);
      expect(await h.records.listReversals({ state: 'pending' })).toEqual([]);
    });
  });

  describe('PSP tokens and notifications', () => {
    it('keeps one token per session, found by session and by token', async () => {
      const s = await newSession();
      const first = await h.records.saveToken({ sessionId: s.id, psp: 'sandbox', token: 'sbxtok_1', customer: 'c1', cardBrand: 'visa', cardLast4: '4242' });
      expect(first).toEqual({ sessionId: s.id, psp: 'sandbox', token: 'sbxtok_1', customer: 'c1', cardBrand: 'visa', cardLast4: '4242', createdAt: '2030-01-02T03:04:05.000Z' });
      tick();
      await h.records.saveToken({ sessionId: s.id, psp: 'sandbox', token: 'sbxtok_2', customer: 'c1', cardBrand: 'visa', cardLast4: '4242' });
      expect((await h.records.getToken(s.id))?.token).toBe('sbxtok_2');
      expect((await h.records.findToken('sbxtok_2'))?.sessionId).toBe(s.id);
      expect(await h.records.findToken('sbxtok_1')).toBeUndefined();
    });

    it('keeps a repeated notification once, with its reduced details', async () => {
      const n = { psp: 'adyen', eventCode: 'AUTHORISATION', pspReference: 'P1', originalReference: null, merchantReference: 'idem_1', success: true, detail: { authCode: '123456' } };
      expect(await h.records.recordNotification(n)).toEqual({ ...n, receivedAt: '2030-01-02T03:04:05.000Z' });
      tick();
      await h.records.recordNotification({ ...n, success: false, detail: {} });
      expect(await h.records.findNotifications({ psp: 'adyen', merchantReference: 'idem_1' })).toEqual([{ ...n, success: false, detail: {}, receivedAt: '2030-01-02T03:04:06.000Z' }]);
      expect(await h.records.findNotifications({ psp: 'adyen', pspReference: 'P2' })).toEqual([]);
    });
  });

  describe('identities', () => {
    const at = (offsetMs: number): Date => new Date(T0 + offsetMs);

    it('keeps users and API keys; a username is taken once; a revoked key is not found', async () => {
      const sue = await h.identities.createUser({ username: 'sue', displayName: 'Sue', role: 'agent', sipUri: 'sip:sue@pbx', passwordHash: 'h' });
      expect(sue).toEqual({ id: expect.stringMatching(/^usr_/), username: 'sue', displayName: 'Sue', role: 'agent', sipUri: 'sip:sue@pbx', createdAt: '2030-01-02T03:04:05.000Z', disabled: false });
      expect(await h.identities.getUser(sue.id)).toEqual(sue);
      expect(await h.identities.findUserForLogin('sue')).toEqual({ user: sue, passwordHash: 'h' });
      await expect(h.identities.createUser({ username: 'sue', displayName: 'Sue 2', role: 'agent', passwordHash: 'h' })).rejects.toThrow(/exists/);
      expect((await h.identities.listUsers()).map((u) => u.username)).toEqual(['sue']);
      const apiKey = await h.identities.createApiKey({ name: 'cti', role: 'supervisor', keyHash: 'kh' });
      expect(await h.identities.findApiKeyByHash('kh')).toEqual(apiKey);
      await h.identities.revokeApiKey(apiKey.id);
      expect(await h.identities.findApiKeyByHash('kh')).toBeUndefined();
    });

    it('refuses a revoked token id until it expires, seen by another process, pruned after', async () => {
      await h.identities.revokeToken('tok_short', at(5 * MINUTE));
      await h.identities.revokeToken('tok_short', at(5 * MINUTE));
      await h.identities.revokeToken('tok_long', at(30 * MINUTE));
      const other = await h.reopen();
      try {
        expect(await other.identities.isTokenRevoked('tok_short')).toBe(true);
        expect(await other.identities.isTokenRevoked('tok_other')).toBe(false);
      } finally {
        await other.close();
      }
      clock = T0 + 5 * MINUTE - 1;
      expect(await h.identities.pruneRevokedTokens()).toBe(0);
      clock = T0 + 5 * MINUTE;
      expect(await h.identities.pruneRevokedTokens()).toBe(1);
      expect(await h.identities.isTokenRevoked('tok_short')).toBe(false);
      expect(await h.identities.isTokenRevoked('tok_long')).toBe(true);
    });
  });
}
