import { execFile } from 'node:child_process';
import { join } from 'node:path';
import SwaggerParser from '@apidevtools/swagger-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { buildApplication, type Application } from '../../app/application.js';
import { loadConfig } from '../../app/config.js';
import { createLogger } from '../../app/logger.js';
import { hashPassword } from '../../agent-bridge/identity/password-hash.js';
import { testDataDir } from '../support/test-data-dir.js';

/**
 * agent-bridge's REST API and WebSocket stream with real HTTP and WebSocket
 * clients against the application started on a free loopback port.
 */
describe('agent-bridge API', () => {
  const dataDir = testDataDir('agent-bridge');
  let app: Application;
  let base: string;
  let adminKey: string;
  const password = 'correct horse battery staple';

  beforeAll(async () => {
    adminKey = 'a'.repeat(40);
    const config = loadConfig({ DATA_DIR: dataDir, HTTP_PORT: '0', LOG_LEVEL: 'silent', ADMIN_API_KEY: adminKey, SIP_PORT: '0' });
    app = await buildApplication({ config, logger: createLogger({ level: 'silent' }), dataDir });
    base = app.httpUrl;
    const hash = await hashPassword(password);
    await app.identities.createUser({ username: 'alice', displayName: 'Alice', role: 'agent', sipUri: 'sip:alice@127.0.0.1:5070', passwordHash: hash });
    await app.identities.createUser({ username: 'bob', displayName: 'Bob', role: 'agent', sipUri: 'sip:bob@127.0.0.1:5072', passwordHash: hash });
    await app.identities.createUser({ username: 'carol', displayName: 'Carol', role: 'agent', passwordHash: hash });
    await app.identities.createUser({ username: 'sue', displayName: 'Sue', role: 'supervisor', passwordHash: hash });
  });

  afterAll(async () => {
    await app?.stop();
  });

  const call = (path: string, init: { method?: string; token?: string; body?: unknown } = {}) =>
    fetch(`${base}${path}`, {
      method: init.method ?? 'GET',
      headers: {
        ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
        ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(init.body !== undefined ? { body: typeof init.body === 'string' ? init.body : JSON.stringify(init.body) } : {}),
    });

  async function login(username: string): Promise<string> {
    const res = await call('/api/v1/auth/login', { method: 'POST', body: { username, password } });
    expect(res.status).toBe(200);
    const cookie = res.headers.get('set-cookie')!.split(';').map((a) => a.trim());
    expect(cookie).toEqual(expect.arrayContaining(['HttpOnly', 'SameSite=Strict', 'Path=/', 'Max-Age=1800']));
    // Plain HTTP: a Secure cookie would never come back (tests/integration/agent-bridge-logout.test.ts has HTTPS).
    expect(cookie).not.toContain('Secure');
    return ((await res.json()) as { token: string }).token;
  }

  it('refuses requests without credentials: 401 with a JSON error', async () => {
    for (const path of ['/api/v1/sessions', '/api/v1/payments?reference=1001', '/api/v1/me']) {
      const res = await call(path);
      expect(res.status).toBe(401);
      expect(await res.json()).toEqual({ error: 'unauthorised' });
    }
    expect((await call('/api/v1/sessions', { token: 'forged.token' })).status).toBe(401);
  });

  it('creates a session for the agent and gives the transfer target', async () => {
    const token = await login('alice');
    const res = await call('/api/v1/sessions', { method: 'POST', token, body: { amount: 4250, currency: 'EUR', reference: 'INV-77' } });
    expect(res.status).toBe(201);
    const created = (await res.json()) as { id: string; code: string; transferUri: string; status: string };
    expect(created.code).toMatch(/^\d{6}$/);
    expect(created.transferUri).toBe(`sip:pay-${created.code}@127.0.0.1:${app.sipPort}`);
    expect(created.status).toBe('pending');
    const got = (await (await call(`/api/v1/sessions/${created.id}`, { token })).json()) as Record<string, unknown>;
    expect(got).toMatchObject({ id: created.id, amount: 4250, currency: 'EUR', reference: 'INV-77', mode: 'agent-assisted' });
  });

  it("keeps an agent out of another agent's sessions (403) and lets a supervisor see all", async () => {
    const alice = await login('alice');
    const bob = await login('bob');
    const sue = await login('sue');
    const created = (await (await call('/api/v1/sessions', { method: 'POST', token: alice, body: { amount: 100, currency: 'GBP', reference: 'R-1' } })).json()) as { id: string };
    expect((await call(`/api/v1/sessions/${created.id}`, { token: bob })).status).toBe(403);
    expect((await call(`/api/v1/sessions/${created.id}/cancel`, { method: 'POST', token: bob, body: {} })).status).toBe(403);
    const bobList = (await (await call('/api/v1/sessions', { token: bob })).json()) as { sessions: { id: string }[] };
    expect(bobList.sessions.map((s) => s.id)).not.toContain(created.id);
    expect((await call(`/api/v1/sessions/${created.id}`, { token: sue })).status).toBe(200);
    expect((await call(`/api/v1/sessions/${created.id}`, { token: adminKey })).status).toBe(200);
    expect((await call('/api/v1/sessions/pay_nothing', { token: sue })).status).toBe(404);
  });

  it('answers bad bodies with 400 naming the field', async () => {
    const token = await login('alice');
    const cases: [unknown, string][] = [
      [{ amount: -1, currency: 'EUR', reference: 'x' }, 'amount'],
      [{ amount: 1.5, currency: 'EUR', reference: 'x' }, 'amount'],
      [{ amount: 1, currency: 'euro', reference: 'x' }, 'currency'],
      [{ amount: 1, currency: 'EUR' }, 'reference'],
      [{ amount: 1, currency: 'EUR', reference: 'x', agentUri: 'http://x' }, 'agentUri'],
      [{ amount: 1, currency: 'EUR', reference: 'x', pan: '1' }, 'pan'],
    ];
    for (const [body, field] of cases) {
      const res = await call('/api/v1/sessions', { method: 'POST', token, body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(((await res.json()) as { field: string }).field).toBe(field);
    }
    const broken = await call('/api/v1/sessions', { method: 'POST', token, body: '{"amount":' });
    expect(broken.status).toBe(400);
    expect(await broken.json()).toEqual({ error: 'entity.parse.failed' });
    const created = (await (await call('/api/v1/sessions', { method: 'POST', token, body: { amount: 1, currency: 'EUR', reference: 'f' } })).json()) as { id: string };
    const badField = await call(`/api/v1/sessions/${created.id}/capture`, { method: 'POST', token, body: { field: 'pin' } });
    expect(badField.status).toBe(400);
    expect(((await badField.json()) as { field: string }).field).toBe('field');
  });

  it('cancels a session no caller has joined, and refuses field commands until one does', async () => {
    const token = await login('alice');
    const created = (await (await call('/api/v1/sessions', { method: 'POST', token, body: { amount: 1, currency: 'EUR', reference: 'c' } })).json()) as { id: string };
    const capture = await call(`/api/v1/sessions/${created.id}/capture`, { method: 'POST', token, body: { field: 'expiry' } });
    expect(capture.status).toBe(409);
    const cancel = await call(`/api/v1/sessions/${created.id}/cancel`, { method: 'POST', token, body: {} });
    expect(cancel.status).toBe(202);
    expect(((await cancel.json()) as { status: string }).status).toBe('cancelled');
    const actions = (await app.audit.list({ sessionId: created.id })).map((a) => `${a.action}:${a.actor.kind}`);
    expect(actions).toEqual(['session-created:agent', 'session-cancelled:agent']);
  });

  it('revokes a bearer token at logout: 401 from then on, 204 again for a second logout', async () => {
    const token = await login('carol');
    expect((await call('/api/v1/me', { token })).status).toBe(200);
    expect((await call('/api/v1/auth/logout', { method: 'POST', token })).status).toBe(204);
    expect((await call('/api/v1/me', { token })).status).toBe(401);
    expect((await call('/api/v1/auth/logout', { method: 'POST', token })).status).toBe(204);
    // The admin key is no session: logging out with it revokes nothing.
    expect((await call('/api/v1/auth/logout', { method: 'POST', token: adminKey })).status).toBe(204);
    expect((await call('/api/v1/me', { token: adminKey })).status).toBe(200);
  });

  it('rate-limits failed logins', async () => {
    for (let i = 0; i < 5; i++) {
      expect((await call('/api/v1/auth/login', { method: 'POST', body: { username: 'bob', password: 'wrong' } })).status).toBe(401);
    }
    const limited = await call('/api/v1/auth/login', { method: 'POST', body: { username: 'bob', password } });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await app.audit.list({})).filter((a) => a.action === 'login-failed')).toHaveLength(5);
  });

  it('sends security headers, no CORS, and refuses oversized bodies', async () => {
    const res = await call('/healthz');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(res.headers.get('x-powered-by')).toBeNull();
    const preflight = await fetch(`${base}/api/v1/sessions`, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    });
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
    const token = await login('sue');
    const big = await call('/api/v1/sessions', { method: 'POST', token, body: { amount: 1, currency: 'EUR', reference: 'x', description: 'y'.repeat(40_000) } });
    expect(big.status).toBe(413);
    expect(await big.json()).toEqual({ error: 'entity.too.large' });
  });

  it('verifies the whole audit chain for supervisors only, and audits the check', async () => {
    const denied = await call('/api/v1/audit/verify', { token: await login('alice') });
    expect(denied.status).toBe(403);
    expect(await denied.json()).toMatchObject({ error: 'forbidden' });
    expect((await call('/api/v1/audit/verify')).status).toBe(401);
    const rowsBefore = (await app.audit.list({ limit: 10_000 })).length;
    const ok = await call('/api/v1/audit/verify', { token: await login('sue') });
    expect(ok.status).toBe(200);
    // The login just made is in the chain too.
    expect(await ok.json()).toEqual({ ok: true, rows: rowsBefore + 1 });
    const sue = (await app.identities.findUserForLogin('sue'))!.user;
    expect(await app.audit.list({ afterSeq: rowsBefore + 1 })).toMatchObject([
      { action: 'audit-verified', actor: { kind: 'supervisor', id: sue.id }, detail: { ok: true, rows: rowsBefore + 1 } },
    ]);
  });

  it('serves an OpenAPI document that validates', async () => {
    const doc = (await (await call('/api/v1/openapi.json')).json()) as Record<string, unknown>;
    await expect(SwaggerParser.validate(structuredClone(doc) as never)).resolves.toBeTruthy();
    expect(Object.keys((doc as { paths: Record<string, unknown> }).paths)).toContain('/api/v1/audit/verify');
    const body = (doc as { paths: Record<string, { post?: { requestBody?: { content: Record<string, { schema: { required?: string[] } }> } } }> }).paths['/api/v1/sessions']!.post!.requestBody!.content['application/json']!.schema;
    expect(body.required).toEqual(['amount', 'currency', 'reference']);
  });

  it('streams masked progress per session over WebSocket, in order, with resume', async () => {
    const token = await login('alice');
    const created = (await (await call('/api/v1/sessions', { method: 'POST', token, body: { amount: 1, currency: 'EUR', reference: 'ws' } })).json()) as { id: string };
    const wsUrl = `${base.replace('http', 'ws')}/api/v1/stream?session=${created.id}`;

    const refused = await new Promise<number>((resolve) => {
      const ws = new WebSocket(wsUrl);
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => resolve(101));
    });
    expect(refused).toBe(401);

    const received: { seq: number; event: { type: string } }[] = [];
    const ws = new WebSocket(wsUrl, { headers: { authorization: `Bearer ${token}` } });
    await new Promise((r) => ws.on('open', r));
    ws.on('message', (d) => received.push(JSON.parse(d.toString())));
    app.progress.publish(created.id, { type: 'field-started', field: 'card-number', attempt: 1 });
    app.progress.publish(created.id, { type: 'digit-entered', field: 'card-number', count: 1 });
    await new Promise((r) => setTimeout(r, 100));
    ws.close();
    app.progress.publish(created.id, { type: 'digit-entered', field: 'card-number', count: 2 });
    expect(received.map((f) => f.seq)).toEqual([1, 2]);

    // Reconnect, resuming after the last frame seen: the missed frame arrives, nothing twice.
    const again: { seq: number }[] = [];
    const ws2 = new WebSocket(`${wsUrl}&after=2`, { headers: { authorization: `Bearer ${token}` } });
    ws2.on('message', (d) => again.push(JSON.parse(d.toString())));
    await new Promise((r) => ws2.on('open', r));
    await new Promise((r) => setTimeout(r, 100));
    ws2.close();
    expect(again.map((f) => f.seq)).toEqual([3]);

    const carol = await login('carol');
    const forbidden = await new Promise<number>((resolve) => {
      const w = new WebSocket(wsUrl, { headers: { authorization: `Bearer ${carol}` } });
      w.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      w.on('open', () => resolve(101));
    });
    expect(forbidden).toBe(403);
  });

  it('creates the first supervisor from the command line, with no default account', async () => {
    const env = { ...process.env, DATA_DIR: dataDir };
    const tsx = join(process.cwd(), 'node_modules/.bin/tsx');
    // Run without blocking the event loop: the server keeps closing its idle keep-alive connections meanwhile.
    const admin = (args: string[], input?: string): Promise<string> =>
      new Promise((resolve, reject) => {
        const child = execFile(tsx, ['scripts/admin.ts', ...args], { env, encoding: 'utf8' }, (err, stdout) => (err ? reject(err) : resolve(stdout)));
        child.stdin?.end(input ?? '');
      });
    expect(await admin(['create-user', '--username', 'root', '--name', 'Root', '--role', 'supervisor', '--password-stdin'], `${password}\n`)).toMatch(
      /created supervisor root/,
    );
    const key = (await admin(['create-api-key', '--name', 'cti', '--role', 'supervisor'])).trim();
    expect(key).toMatch(/^pk_/);
    expect((await call('/api/v1/sessions', { token: key })).status).toBe(200);
    // The CLI chained its rows with the key the service generated into DATA_DIR.
    expect((await app.audit.list({ limit: 10_000 })).filter((e) => e.actor.id === 'admin-cli').map((e) => e.action)).toEqual(['user-created', 'api-key-created']);
    expect(await app.audit.verify()).toMatchObject({ ok: true });
  });
});
