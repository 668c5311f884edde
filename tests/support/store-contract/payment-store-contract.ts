import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CARD_BRANDS } from '../../../domain/card-brand.js';
import type { PaymentStatus } from '../../../domain/payment-types.js';
import type { AuthorisationState } from '../../../domain/payment-lifecycle.js';
import type { PaymentStore } from '../../../store/payment-store.js';
import {
  AuthorisationNotFoundError,
  IdempotencyKeyConflictError,
  InvalidAuthorisationTransitionError,
  InvalidStatusTransitionError,
  PaymentNotFoundError,
} from '../../../store/store-errors.js';
import { CHECK, UNIQUE, type OpenStore, type StoreUnderTest } from './store-under-test.js';

const T0 = Date.parse('2030-01-02T03:04:05.000Z');

/**
 * What every payment store adapter must do (store/payment-store.ts), run
 * against each: SQLite in the unit tests, PostgreSQL in the integration tests.
 */
export function describePaymentStoreContract(open: OpenStore): void {
  let clock: number;
  let h: StoreUnderTest;
  let store: PaymentStore;
  const tick = (ms = 1000): void => {
    clock += ms;
  };

  beforeEach(async () => {
    clock = T0;
    h = await open(() => new Date(clock));
    store = h.store;
  });
  afterEach(async () => {
    await h.close();
  });

  function newSession(reference = '1001') {
    return store.createSession({ mode: 'direct', reference, amountMinor: 4250, currency: 'EUR', callId: 'call-1' });
  }

  describe('the database checks what the code checks', () => {
    it('amounts, currencies, last four, brands and decline reasons', async () => {
      const bad = (input: object) => store.createSession({ mode: 'direct', reference: 'r', amountMinor: 1, currency: 'EUR', ...input } as never);
      await expect(bad({ amountMinor: -1 })).rejects.toThrow(CHECK);
      await expect(bad({ amountMinor: 12.5 })).rejects.toThrow(/integer/);
      await expect(bad({ currency: 'eur' })).rejects.toThrow(CHECK);
      await expect(bad({ currency: 'EURO' })).rejects.toThrow(CHECK);
      await expect(bad({ mode: 'walk-in' })).rejects.toThrow(CHECK);
      const s = await newSession();
      await expect(store.updateSession(s.id, { cardLast4: '42424242' })).rejects.toThrow(CHECK);
      await expect(store.updateSession(s.id, { cardLast4: '42a2' })).rejects.toThrow(CHECK);
      await expect(store.updateSession(s.id, { cardBrand: '4242424242424242' as never })).rejects.toThrow(/card_brand/);
      await expect(store.updateSession(s.id, { declineReason: 'because' as never })).rejects.toThrow(/decline_reason/);
      for (const brand of CARD_BRANDS) expect((await store.updateSession(s.id, { cardBrand: brand })).cardBrand).toBe(brand);
      await expect(h.sql("UPDATE payment_sessions SET status = 'paid' WHERE id = ?", [s.id])).rejects.toThrow(CHECK);
      const intent = { idempotencyKey: 'k', sessionId: s.id, psp: 'p', amountMinor: 1.5, currency: 'EUR' };
      await expect(store.recordAuthorisationIntent(intent)).rejects.toThrow(/integer/);
      await expect(store.recordAuthorisationIntent({ ...intent, amountMinor: 1, currency: 'eu' })).rejects.toThrow(/currency/);
    });

    it('a merchant-initiated session names its stored card, and no other mode may', async () => {
      const mit = await store.createSession({ mode: 'merchant-initiated', reference: 'SUB', amountMinor: 100, currency: 'EUR', idempotencyKey: 'mit-1', storedCardToken: 'sbxtok_1' });
      expect(mit).toMatchObject({ mode: 'merchant-initiated', storedCardToken: 'sbxtok_1', idempotencyKey: 'mit-1', status: 'pending' });
      await expect(store.createSession({ mode: 'merchant-initiated', reference: 'SUB', amountMinor: 100, currency: 'EUR' })).rejects.toThrow(CHECK);
      await expect(store.createSession({ mode: 'direct', reference: 'SUB', amountMinor: 100, currency: 'EUR', storedCardToken: 'sbxtok_1' })).rejects.toThrow(CHECK);
    });

    it('a capture attempt points at its session', async () => {
      await expect(h.sql("INSERT INTO capture_attempts (session_id, field, attempt, outcome, at) VALUES ('pay_nope', 'expiry', 1, 'accepted', 't')")).rejects.toThrow(/foreign key/i);
    });
  });

  describe('payment sessions', () => {
    it('creates a pending session with a pay_ id and the clock\'s ISO 8601 UTC time', async () => {
      const s = await newSession();
      expect(s).toEqual({
        id: expect.stringMatching(/^pay_[0-9a-f]{24}$/),
        mode: 'direct',
        reference: '1001',
        amountMinor: 4250,
        currency: 'EUR',
        description: null,
        status: 'pending',
        cardBrand: null,
        cardLast4: null,
        pspReference: null,
        confirmation: null,
        authCode: null,
        declineReason: null,
        idempotencyKey: null,
        callId: 'call-1',
        language: null,
        agentId: null,
        code: null,
        agentUri: null,
        autoCapture: true,
        tokenise: false,
        customerReference: null,
        storedCardToken: null,
        nodeId: null,
        createdAt: '2030-01-02T03:04:05.000Z',
        updatedAt: '2030-01-02T03:04:05.000Z',
      });
      expect((await newSession()).id).not.toBe(s.id);
    });

    it('keeps every field of an agent-assisted session', async () => {
      const sue = await h.identities.createUser({ username: 'sue', displayName: 'Sue', role: 'agent', passwordHash: 'x' });
      const s = await store.createSession({
        id: 'pay_given',
        mode: 'agent-assisted',
        reference: 'INV-7',
        amountMinor: 0,
        currency: 'GBP',
        description: 'Deposit',
        language: 'en-GB',
        agentId: sue.id,
        code: '482913',
        agentUri: 'sip:sue@pbx.example',
        autoCapture: false,
      });
      expect(await store.getSession('pay_given')).toEqual(s);
      expect(s).toMatchObject({ mode: 'agent-assisted', agentId: sue.id, code: '482913', agentUri: 'sip:sue@pbx.example', autoCapture: false, language: 'en-GB', description: 'Deposit' });
      await expect(store.createSession({ mode: 'agent-assisted', reference: 'x', amountMinor: 1, currency: 'GBP', agentId: 'nobody' })).rejects.toThrow(/foreign key/i);
    });

    it('reads an unknown id as undefined', async () => {
      expect(await store.getSession('pay_nope')).toBeUndefined();
    });

    it('updates the given fields only, clears with null, and stamps updatedAt', async () => {
      const s = await newSession();
      tick();
      const updated = await store.updateSession(s.id, { status: 'capturing', cardBrand: 'visa', cardLast4: '4242', idempotencyKey: 'k1' });
      expect(updated).toMatchObject({ status: 'capturing', cardBrand: 'visa', cardLast4: '4242', idempotencyKey: 'k1', callId: 'call-1' });
      expect(updated.createdAt).toBe('2030-01-02T03:04:05.000Z');
      expect(updated.updatedAt).toBe('2030-01-02T03:04:06.000Z');
      expect(await store.updateSession(s.id, { callId: null, cardLast4: null })).toMatchObject({ callId: null, cardLast4: null, cardBrand: 'visa' });
      expect(await store.updateSession(s.id, {})).toEqual(await store.getSession(s.id));
      const other = await newSession();
      await expect(store.updateSession(other.id, { idempotencyKey: 'k1' })).rejects.toThrow(UNIQUE);
    });

    it('gives a payment its confirmation code when it becomes approved, once, unique, and finds it by that code and the PSP reference', async () => {
      const approve = async (reference: string, pspReference: string) => {
        const s = await newSession(reference);
        for (const status of ['capturing', 'authorising'] as const) await store.updateSession(s.id, { status });
        expect((await store.getSession(s.id))!.confirmation).toBeNull();
        return store.updateSession(s.id, { status: 'approved', pspReference });
      };
      const a = await approve('A', 'psp-a');
      const b = await approve('B', 'psp-b');
      expect(a.confirmation).toMatch(/^[A-HJ-NP-Z2-9]{8}$/);
      expect(b.confirmation).not.toBe(a.confirmation);
      // Kept as it is by later writes.
      expect((await store.updateSession(a.id, { callId: 'call-9' })).confirmation).toBe(a.confirmation);
      expect((await store.updateSession(a.id, { status: 'approved' })).confirmation).toBe(a.confirmation);
      expect((await store.listSessions({ confirmation: a.confirmation! })).map((s) => s.id)).toEqual([a.id]);
      expect((await store.listSessions({ pspReference: 'psp-b' })).map((s) => s.id)).toEqual([b.id]);
      expect(await store.listSessions({ confirmation: b.confirmation!, reference: 'A' })).toEqual([]);
      // A declined payment gets none.
      const d = await newSession('D');
      for (const status of ['capturing', 'authorising', 'declined'] as const) await store.updateSession(d.id, { status });
      expect((await store.getSession(d.id))!.confirmation).toBeNull();
      // Unique in the database itself.
      await expect(h.sql('UPDATE payment_sessions SET confirmation = ? WHERE id = ?', [a.confirmation, d.id])).rejects.toThrow(UNIQUE);
    });

    it('throws PaymentNotFoundError for an unknown id', async () => {
      await expect(store.updateSession('pay_nope', { status: 'capturing' })).rejects.toThrow(PaymentNotFoundError);
      await expect(store.updateSession('pay_nope', {})).rejects.toThrow(PaymentNotFoundError);
    });

    it('lists by reference, status, mode, agent and code, newest first, with a limit', async () => {
      const a = await newSession('A');
      tick();
      const b = await newSession('B');
      tick();
      const c = await store.createSession({ mode: 'agent-assisted', reference: 'A', amountMinor: 1, currency: 'EUR', code: '123456' });
      await store.updateSession(b.id, { status: 'capturing' });
      expect((await store.listSessions({})).map((s) => s.id)).toEqual([c.id, b.id, a.id]);
      expect((await store.listSessions({ reference: 'A' })).map((s) => s.id)).toEqual([c.id, a.id]);
      expect((await store.listSessions({ reference: 'A', mode: 'direct' })).map((s) => s.id)).toEqual([a.id]);
      expect((await store.listSessions({ status: 'capturing' })).map((s) => s.id)).toEqual([b.id]);
      expect((await store.listSessions({ code: '123456' })).map((s) => s.id)).toEqual([c.id]);
      expect(await store.listSessions({ agentId: 'usr_nobody' })).toEqual([]);
      expect((await store.listSessions({ limit: 2 })).map((s) => s.id)).toEqual([c.id, b.id]);
      expect(await store.listSessions({ limit: 0 })).toHaveLength(1);
    });
  });

  describe('status transitions', () => {
    // payment-types.ts: pending → capturing → authorising → approved | declined | in_doubt | error;
    // pending | capturing → abandoned | cancelled | failed; in_doubt → approved | declined | error;
    // plus pending | capturing → error (statusForResult('internal-error')); pending | capturing → link-sent →
    // approved | declined | expired | cancelled | error, or back to the keypad (capturing, authorising). Final statuses never change.
    const LEGAL: Record<PaymentStatus, PaymentStatus[]> = {
      // → authorising: a merchant-initiated charge on a stored card has nothing to capture.
      pending: ['capturing', 'authorising', 'abandoned', 'cancelled', 'failed', 'error', 'link-sent'],
      capturing: ['authorising', 'abandoned', 'cancelled', 'failed', 'error', 'link-sent'],
      authorising: ['approved', 'declined', 'in_doubt', 'error'],
      in_doubt: ['approved', 'declined', 'error'],
      'link-sent': ['approved', 'declined', 'expired', 'cancelled', 'capturing', 'authorising', 'error'],
      expired: [],
      approved: [],
      declined: [],
      failed: [],
      abandoned: [],
      cancelled: [],
      error: [],
    };
    const PATH: Record<PaymentStatus, PaymentStatus[]> = {
      pending: [],
      capturing: ['capturing'],
      authorising: ['capturing', 'authorising'],
      in_doubt: ['capturing', 'authorising', 'in_doubt'],
      approved: ['capturing', 'authorising', 'approved'],
      declined: ['capturing', 'authorising', 'declined'],
      error: ['capturing', 'authorising', 'error'],
      failed: ['capturing', 'failed'],
      abandoned: ['abandoned'],
      cancelled: ['capturing', 'cancelled'],
      'link-sent': ['link-sent'],
      expired: ['link-sent', 'expired'],
    };
    const STATUSES = Object.keys(LEGAL) as PaymentStatus[];
    const pairs = STATUSES.flatMap((from) => STATUSES.map((to) => [from, to, from === to || LEGAL[from].includes(to)] as const));

    it.each(pairs)('%s → %s allowed: %s', async (from, to, allowed) => {
      const s = await newSession();
      for (const step of PATH[from]) await store.updateSession(s.id, { status: step });
      expect((await store.getSession(s.id))?.status).toBe(from);
      if (allowed) {
        expect((await store.updateSession(s.id, { status: to })).status).toBe(to);
      } else {
        let thrown: unknown;
        try {
          await store.updateSession(s.id, { status: to, cardLast4: '1111' });
        } catch (err) {
          thrown = err;
        }
        expect(thrown).toBeInstanceOf(InvalidStatusTransitionError);
        expect(thrown).toMatchObject({ id: s.id, from, to });
        // Nothing of a refused update is written.
        expect(await store.getSession(s.id)).toMatchObject({ status: from, cardLast4: null });
      }
    });
  });

  describe('capture attempts', () => {
    it('records attempts in order with the clock time', async () => {
      const s = await newSession();
      const first = await store.recordCaptureAttempt({ sessionId: s.id, field: 'card-number', attempt: 1, outcome: 'invalid-card-number' });
      expect(first).toEqual({ sessionId: s.id, field: 'card-number', attempt: 1, outcome: 'invalid-card-number', at: '2030-01-02T03:04:05.000Z' });
      tick();
      await store.recordCaptureAttempt({ sessionId: s.id, field: 'card-number', attempt: 2, outcome: 'accepted' });
      await store.recordCaptureAttempt({ sessionId: s.id, field: 'expiry', attempt: 1, outcome: 'accepted' });
      expect((await store.listCaptureAttempts(s.id)).map((a) => `${a.field}#${a.attempt}:${a.outcome}@${a.at.slice(17, 19)}`)).toEqual([
        'card-number#1:invalid-card-number@05',
        'card-number#2:accepted@06',
        'expiry#1:accepted@06',
      ]);
      expect(await store.listCaptureAttempts((await newSession()).id)).toEqual([]);
    });

    it('refuses an unknown session and an unknown field', async () => {
      await expect(store.recordCaptureAttempt({ sessionId: 'pay_nope', field: 'expiry', attempt: 1, outcome: 'accepted' })).rejects.toThrow(PaymentNotFoundError);
      const s = await newSession();
      await expect(store.recordCaptureAttempt({ sessionId: s.id, field: 'pin' as never, attempt: 1, outcome: 'accepted' })).rejects.toThrow(CHECK);
    });
  });

  describe('authorisation intents', () => {
    const intentFor = (sessionId: string, key = 'k1') => ({ idempotencyKey: key, sessionId, psp: 'sandbox', amountMinor: 4250, currency: 'EUR' });

    it('writes an intent once per key; the same intent again returns it', async () => {
      const s = await newSession();
      const first = await store.recordAuthorisationIntent(intentFor(s.id));
      expect(first).toEqual({
        idempotencyKey: 'k1',
        sessionId: s.id,
        psp: 'sandbox',
        amountMinor: 4250,
        currency: 'EUR',
        state: 'requested',
        pspReference: null,
        detail: null,
        requestedAt: '2030-01-02T03:04:05.000Z',
        resolvedAt: null,
      });
      tick();
      expect(await store.recordAuthorisationIntent(intentFor(s.id))).toEqual(first);
      expect(await store.getAuthorisation('k1')).toEqual(first);
      expect(await store.getAuthorisation('k2')).toBeUndefined();
    });

    it('refuses a key used by another session or for another amount, and an unknown session', async () => {
      const s = await newSession();
      await store.recordAuthorisationIntent(intentFor(s.id));
      await expect(store.recordAuthorisationIntent(intentFor((await newSession()).id))).rejects.toThrow(IdempotencyKeyConflictError);
      await expect(store.recordAuthorisationIntent({ ...intentFor(s.id), amountMinor: 1 })).rejects.toThrow(IdempotencyKeyConflictError);
      await expect(store.recordAuthorisationIntent(intentFor('pay_nope', 'k9'))).rejects.toThrow(PaymentNotFoundError);
    });

    it('resolves: in doubt keeps resolvedAt empty, a final state stamps it, unset fields are kept', async () => {
      const s = await newSession();
      await store.recordAuthorisationIntent(intentFor(s.id));
      tick();
      expect(await store.resolveAuthorisation('k1', { state: 'in_doubt', detail: 'no-answer' })).toMatchObject({ state: 'in_doubt', detail: 'no-answer', resolvedAt: null });
      tick();
      const done = await store.resolveAuthorisation('k1', { state: 'approved', pspReference: 'psp_1' });
      expect(done).toMatchObject({ state: 'approved', pspReference: 'psp_1', detail: 'no-answer', resolvedAt: '2030-01-02T03:04:07.000Z' });
      tick();
      // The same answer again (a reconciler repeating a half-written pass) changes nothing of substance.
      expect(await store.resolveAuthorisation('k1', { state: 'approved', detail: null })).toMatchObject({ pspReference: 'psp_1', detail: null, resolvedAt: done.resolvedAt });
    });

    const FINAL: AuthorisationState[] = ['approved', 'declined', 'error'];
    it.each(FINAL)('a settled authorisation (%s) is not settled differently', async (state) => {
      const s = await newSession();
      await store.recordAuthorisationIntent(intentFor(s.id));
      await store.resolveAuthorisation('k1', { state });
      for (const to of ['requested', 'in_doubt', ...FINAL.filter((f) => f !== state)] as AuthorisationState[]) {
        await expect(store.resolveAuthorisation('k1', { state: to })).rejects.toThrow(InvalidAuthorisationTransitionError);
      }
      expect((await store.getAuthorisation('k1'))?.state).toBe(state);
    });

    it('does not move an in-doubt authorisation back to requested, and knows no unknown key', async () => {
      const s = await newSession();
      await store.recordAuthorisationIntent(intentFor(s.id));
      await store.resolveAuthorisation('k1', { state: 'in_doubt' });
      await expect(store.resolveAuthorisation('k1', { state: 'requested' })).rejects.toThrow(InvalidAuthorisationTransitionError);
      await expect(store.resolveAuthorisation('nope', { state: 'error' })).rejects.toThrow(AuthorisationNotFoundError);
    });

    it('keeps the intent itself fixed in the database', async () => {
      const s = await newSession();
      await store.recordAuthorisationIntent(intentFor(s.id));
      await expect(h.sql("UPDATE authorisations SET amount_minor = 1 WHERE idempotency_key = 'k1'")).rejects.toThrow(/intent cannot change/);
    });

    it('lists by state and session, oldest first', async () => {
      const a = await newSession();
      const b = await newSession();
      await store.recordAuthorisationIntent(intentFor(a.id, 'ka'));
      tick();
      await store.recordAuthorisationIntent(intentFor(b.id, 'kb'));
      tick();
      await store.recordAuthorisationIntent(intentFor(b.id, 'kc'));
      await store.resolveAuthorisation('kb', { state: 'in_doubt' });
      expect((await store.listAuthorisations({})).map((x) => x.idempotencyKey)).toEqual(['ka', 'kb', 'kc']);
      expect((await store.listAuthorisations({ state: 'requested' })).map((x) => x.idempotencyKey)).toEqual(['ka', 'kc']);
      expect((await store.listAuthorisations({ sessionId: b.id })).map((x) => x.idempotencyKey)).toEqual(['kb', 'kc']);
      expect((await store.listAuthorisations({ sessionId: b.id, state: 'in_doubt' })).map((x) => x.idempotencyKey)).toEqual(['kb']);
    });
  });

  describe('joining a call to a session', () => {
    const agentSession = () => store.createSession({ mode: 'agent-assisted', reference: 'INV-1', amountMinor: 100, currency: 'EUR', code: '555111' });

    it('joins once: a second call (on any node) finds it taken', async () => {
      const s = await agentSession();
      tick();
      expect(await store.joinSession(s.id, 'call-a')).toMatchObject({ id: s.id, callId: 'call-a', updatedAt: '2030-01-02T03:04:06.000Z' });
      expect(await store.joinSession(s.id, 'call-b')).toBeUndefined();
      expect((await store.getSession(s.id))?.callId).toBe('call-a');
      expect(await store.joinSession('pay_nope', 'call-c')).toBeUndefined();
    });

    it('of two calls joining at once, exactly one wins', async () => {
      const s = await agentSession();
      const joined = await Promise.all(['c1', 'c2', 'c3', 'c4'].map((callId) => store.joinSession(s.id, callId)));
      expect(joined.filter((j) => j !== undefined)).toHaveLength(1);
    });

    it('does not join a final session', async () => {
      const s = await agentSession();
      await store.updateSession(s.id, { status: 'cancelled' });
      expect(await store.joinSession(s.id, 'call-a')).toBeUndefined();
    });

    it('a call that leaves before any capture frees the session for another; later it stays taken', async () => {
      const s = await agentSession();
      await store.joinSession(s.id, 'call-a');
      await store.leaveSession(s.id, 'call-other');
      expect((await store.getSession(s.id))?.callId).toBe('call-a');
      await store.leaveSession(s.id, 'call-a');
      expect((await store.getSession(s.id))?.callId).toBeNull();
      expect(await store.joinSession(s.id, 'call-b')).toBeDefined();
      await store.updateSession(s.id, { status: 'capturing' });
      await store.leaveSession(s.id, 'call-b');
      expect((await store.getSession(s.id))?.callId).toBe('call-b');
    });
  });

  describe('nodes', () => {
    it('keeps each node\'s heartbeat, and which node holds a session', async () => {
      await store.heartbeat('node-a');
      tick();
      await store.heartbeat('node-b');
      tick();
      await store.heartbeat('node-a');
      expect(await store.listNodes()).toEqual([
        { id: 'node-a', startedAt: '2030-01-02T03:04:05.000Z', heartbeatAt: '2030-01-02T03:04:07.000Z' },
        { id: 'node-b', startedAt: '2030-01-02T03:04:06.000Z', heartbeatAt: '2030-01-02T03:04:06.000Z' },
      ]);
      const direct = await store.createSession({ mode: 'direct', reference: 'D', amountMinor: 1, currency: 'EUR', callId: 'c1', nodeId: 'node-a' });
      const assisted = await store.createSession({ mode: 'agent-assisted', reference: 'A', amountMinor: 1, currency: 'EUR', code: '777001' });
      expect(assisted.nodeId).toBeNull();
      expect((await store.joinSession(assisted.id, 'c2', 'node-b'))?.nodeId).toBe('node-b');
      expect((await store.listSessions({ nodeId: 'node-a' })).map((s) => s.id)).toEqual([direct.id]);
      expect((await store.listSessions({ nodeId: 'node-b' })).map((s) => s.id)).toEqual([assisted.id]);
    });
  });

  describe('cluster jobs', () => {
    it('runs a job nobody else is running, and answers its result; again once it is done', async () => {
      expect(await store.runAlone('reconcile', async () => 'done')).toBe('done');
      expect(await store.runAlone('reconcile', async () => 'again')).toBe('again');
      await expect(store.runAlone('reconcile', () => Promise.reject(new Error('job failed')))).rejects.toThrow(/job failed/);
      expect(await store.runAlone('reconcile', async () => 'after a failure')).toBe('after a failure');
    });
  });

  describe('readiness', () => {
    it('probes with a real write, and is not writable once closed', async () => {
      expect(await store.isWritable()).toBe(true);
      await h.close();
      expect(await store.isWritable()).toBe(false);
      await expect(h.close()).resolves.toBeUndefined();
    });
  });
}
