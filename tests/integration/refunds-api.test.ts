import SwaggerParser from '@apidevtools/swagger-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../agent-bridge/identity/password-hash.js';
import { hashApiKey } from '../../agent-bridge/identity/authenticator.js';
import { buildApplication, type Application } from '../../app/application.js';
import { loadConfig } from '../../app/config.js';
import { createLogger } from '../../app/logger.js';
import { CardData } from '../../vault/card-data.js';
import { findCardDataInFiles } from '../support/card-scan.js';
import { testDataDir } from '../support/test-data-dir.js';

// A public test card number (Stripe's documented Visa test card).
const VISA = '4242424242424242';

/**
 * Refunds, voids and stored-card tokens through the REST API of the
 * application (sandbox PSP): supervisors only, audited, tokens shown with the payment.
 */
describe('refunds, voids and tokens in the payments API', () => {
  const dataDir = testDataDir('refunds-api');
  let app: Application;
  const password = 'correct horse battery staple';
  const tokens: Record<string, string> = {};

  beforeAll(async () => {
    const config = loadConfig({ DATA_DIR: dataDir, HTTP_PORT: '0', LOG_LEVEL: 'silent', SIP_PORT: '0', SANDBOX_LATENCY_MS: '0' });
    app = await buildApplication({ config, logger: createLogger({ level: 'silent' }), dataDir });
    const hash = await hashPassword(password);
    await app.identities.createUser({ username: 'ann', displayName: 'Ann', role: 'agent', sipUri: 'sip:ann@127.0.0.1:5070', passwordHash: hash });
    await app.identities.createUser({ username: 'sam', displayName: 'Sam', role: 'supervisor', passwordHash: hash });
    for (const username of ['ann', 'sam']) {
      const res = await call('/api/v1/auth/login', { method: 'POST', body: { username, password } });
      tokens[username] = ((await res.json()) as { token: string }).token;
    }
    // The merchant's back office: an API key (agent role, no user), for merchant-initiated charges.
    tokens.backOffice = 'pk_test_back_office_key_0123456789';
    await app.identities.createApiKey({ name: 'back office', role: 'agent', keyHash: hashApiKey(tokens.backOffice) });
  });
  afterAll(async () => {
    await app?.stop();
  });

  function call(path: string, init: { method?: string; as?: string; body?: unknown } = {}): Promise<Response> {
    return fetch(`${app.httpUrl}${path}`, {
      method: init.method ?? 'GET',
      headers: {
        ...(init.as ? { authorization: `Bearer ${tokens[init.as]}` } : {}),
        ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
    });
  }

  /** A session of Ann's, paid with the test card through the authoriser as a call would. */
  async function paid(body: Record<string, unknown>): Promise<string> {
    const res = await call('/api/v1/sessions', { method: 'POST', as: 'ann', body: { currency: 'EUR', reference: 'INV-9', ...body } });
    const { id } = (await res.json()) as { id: string };
    const session = await app.store.updateSession(id, { status: 'capturing' });
    const result = await app.authoriser.authorise(session, new CardData({ pan: VISA, expiry: '1230', securityCode: '123', brand: 'visa' }), { kind: 'call', id: 'c1' });
    expect(result.kind).toBe('approved');
    return id;
  }

  const refund = (id: string, as: string, body: unknown = {}) => call(`/api/v1/sessions/${id}/refund`, { method: 'POST', as, body });

  it('lets a supervisor refund in parts, never past the amount, and refuses an agent', async () => {
    const id = await paid({ amount: 4250 });
    const agent = await refund(id, 'ann', { amount: 100 });
    expect(agent.status).toBe(403);
    const first = await refund(id, 'sam', { amount: 1000 });
    expect(first.status).toBe(200);
    expect(await first.json()).toMatchObject({
      reversal: { kind: 'refund', amount: 1000, state: 'succeeded', pspReference: expect.stringMatching(/^sbxrev_/), requestedBy: { kind: 'supervisor' } },
      payment: { status: 'approved', refundable: 3250 },
    });
    expect((await refund(id, 'sam', { amount: 5000 })).status).toBe(409);
    expect(await (await call(`/api/v1/sessions/${id}/void`, { method: 'POST', as: 'sam', body: {} })).json()).toMatchObject({ error: 'already-reversed' });
    expect((await refund(id, 'sam', { amount: 0 })).status).toBe(400);
    expect((await refund(id, 'sam')).status).toBe(200);
    expect(await (await refund(id, 'sam')).json()).toMatchObject({ error: 'nothing-to-reverse' });
    const detail = (await (await call(`/api/v1/sessions/${id}`, { as: 'sam' })).json()) as { reversals: unknown[]; refundable: number };
    expect(detail.refundable).toBe(0);
    expect(detail.reversals).toHaveLength(2);
    const audit = (await (await call(`/api/v1/sessions/${id}/audit`, { as: 'sam' })).json()) as { entries: { action: string; actor: { kind: string } }[] };
    expect(audit.entries.filter((e) => e.action === 'refund-requested').map((e) => e.actor.kind)).toEqual(['supervisor', 'supervisor']);
  });

  it('voids a whole payment, and refuses a payment that is not approved', async () => {
    const id = await paid({ amount: 1200 });
    const res = await call(`/api/v1/sessions/${id}/void`, { method: 'POST', as: 'sam', body: {} });
    expect(await res.json()).toMatchObject({ reversal: { kind: 'void', amount: 1200, state: 'succeeded' } });
    const pending = (await (await call('/api/v1/sessions', { method: 'POST', as: 'ann', body: { amount: 500, currency: 'EUR', reference: 'INV-10' } })).json()) as { id: string };
    expect(await (await refund(pending.id, 'sam')).json()).toMatchObject({ error: 'payment-not-approved' });
  });

  it("shows a tokenising session's PSP token in the payments API, and a store-only session (amount 0) gets one too", async () => {
    await paid({ amount: 990, reference: 'INV-T1', tokenise: true, customerReference: 'cust-1' });
    await paid({ amount: 0, reference: 'INV-T1' });
    const { payments } = (await (await call('/api/v1/payments?reference=INV-T1', { as: 'sam' })).json()) as {
      payments: { amount: number; tokenise: boolean; token: { token: string; customer: string; cardLast4: string } | null }[];
    };
    expect(payments).toHaveLength(2);
    for (const p of payments) {
      expect(p.tokenise).toBe(true);
      expect(p.token).toMatchObject({ token: expect.stringMatching(/^sbxtok_/), cardLast4: '4242' });
    }
    expect(payments.find((p) => p.amount === 990)!.token!.customer).toBe('cust-1');
  });

  it('finds a payment by the confirmation the caller heard (any case), by its PSP reference and by its order reference', async () => {
    const id = await paid({ amount: 1500, reference: 'INV-S1' });
    const { confirmation, pspReference } = (await app.store.getSession(id))!;
    expect(confirmation).toMatch(/^[A-Z2-9]{8}$/);
    const search = async (query: string, as = 'sam') => {
      const res = await call(`/api/v1/payments?${query}`, { as });
      expect(res.status).toBe(200);
      return ((await res.json()) as { payments: { id: string; confirmation: string | null }[] }).payments.map((p) => p.id);
    };
    expect(await search(`confirmation=${confirmation!.toLowerCase()}`)).toEqual([id]);
    expect(await search(`pspReference=${pspReference}`)).toEqual([id]);
    expect(await search('reference=INV-S1')).toEqual([id]);
    // Ann's own payment: she finds it too.
    expect(await search(`confirmation=${confirmation}`, 'ann')).toEqual([id]);
    expect(await search('confirmation=NOPE2345')).toEqual([]);
    const none = await call('/api/v1/payments', { as: 'sam' });
    expect(none.status).toBe(400);
    expect(await none.json()).toMatchObject({ error: 'invalid-request', field: 'reference' });
    // The payment shows its confirmation, and the approval's audit row names it.
    expect(await (await call(`/api/v1/sessions/${id}`, { as: 'sam' })).json()).toMatchObject({ confirmation });
    expect((await app.audit.list({ sessionId: id })).find((e) => e.action === 'authorisation-approved')!.detail).toMatchObject({ confirmation });
  });

  it('charges a stored card for a supervisor or an API key: once per idempotency key, audited, refundable like any payment; never for an agent', async () => {
    const first = await paid({ amount: 990, reference: 'INV-T9', tokenise: true, customerReference: 'cust-9' });
    const { token: stored } = (await (await call(`/api/v1/sessions/${first}`, { as: 'sam' })).json()) as { token: { token: string } };
    const token = stored.token;
    expect(token).toMatch(/^sbxtok_/);
    const charge = (as: string, body: Record<string, unknown>, path = token) =>
      call(`/api/v1/tokens/${encodeURIComponent(path)}/charges`, { method: 'POST', as, body: { amount: 1500, currency: 'EUR', reference: 'SUB-1', ...body } });

    const res = await charge('backOffice', { idempotencyKey: 'sub-1-2031-01' });
    expect(res.status).toBe(201);
    const made = (await res.json()) as { result: string; payment: { id: string; mode: string; status: string; amount: number; cardLast4: string; storedCardToken: string; confirmation: string; token: unknown } };
    expect(made).toMatchObject({
      result: 'approved',
      payment: { mode: 'merchant-initiated', status: 'approved', amount: 1500, cardLast4: '4242', storedCardToken: token, customerReference: 'cust-9', token: null },
    });
    expect(made.payment.confirmation).toMatch(/^[A-Z2-9]{8}$/);
    // The same request again: the same payment, not a second charge.
    const charged = () => (app.psp as unknown as { charges(): { reference: string }[] }).charges().filter((c) => c.reference === 'SUB-1').length;
    expect(charged()).toBe(1);
    const again = await charge('sam', { idempotencyKey: 'sub-1-2031-01' });
    expect(again.status).toBe(200);
    expect(((await again.json()) as { payment: { id: string } }).payment.id).toBe(made.payment.id);
    expect(charged()).toBe(1);
    // The same key for another charge is refused.
    expect(await (await charge('sam', { idempotencyKey: 'sub-1-2031-01', amount: 1600 })).json()).toMatchObject({ error: 'idempotency-key-reuse' });
    // Agents may not; unknown tokens and bad bodies are named.
    expect((await charge('ann', { idempotencyKey: 'sub-1-2031-02' })).status).toBe(403);
    expect((await charge('sam', { idempotencyKey: 'sub-1-2031-03' }, 'sbxtok_nope')).status).toBe(404);
    expect(await (await charge('sam', { idempotencyKey: 'has space' })).json()).toMatchObject({ error: 'invalid-request', field: 'idempotencyKey' });
    // Audited with who asked; refundable like any approved payment.
    const audit = (await app.audit.list({ sessionId: made.payment.id })).map((e) => `${e.action}:${e.actor.kind}`);
    expect(audit).toEqual(['session-created:api-key', 'authorisation-requested:api-key', 'authorisation-approved:system']);
    expect((await refund(made.payment.id, 'sam', { amount: 500 })).status).toBe(200);
  });

  it('documents the endpoints in a valid OpenAPI document, and /readyz checks the PSP', async () => {
    const doc = (await (await call('/api/v1/openapi.json')).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/api/v1/sessions/{id}/refund', '/api/v1/sessions/{id}/void', '/api/v1/tokens/{token}/charges']));
    await SwaggerParser.validate(structuredClone(doc) as never);
    expect(await (await call('/readyz')).json()).toMatchObject({ checks: { psp: true } });
  });

  it('kept no card number in the data directory', async () => {
    expect(findCardDataInFiles(dataDir, [VISA])).toEqual([]);
  });
});
