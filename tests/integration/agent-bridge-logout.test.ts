import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { hashPassword } from '../../agent-bridge/identity/password-hash.js';
import { SIGNED_OUT_CLOSE_CODE } from '../../agent-bridge/stream/stream-server.js';
import { buildApplication, type Application } from '../../app/application.js';
import { loadConfig, type Config } from '../../app/config.js';
import { createLogger } from '../../app/logger.js';
import { testDataDir } from '../support/test-data-dir.js';

interface Reply {
  readonly status: number;
  readonly setCookie: string[];
  readonly body: string;
}

/**
 * The console's session over HTTPS: agent-bridge started with TLS_CERT and
 * TLS_KEY (a self-signed certificate made by openssl for this run, in a
 * temporary folder) on a free loopback port. Logout revokes the token: REST
 * answers 401 to it by bearer and by cookie, its open stream is closed and a
 * new one refused, also after a restart on the same DATA_DIR.
 */
describe('agent-bridge logout over HTTPS', () => {
  const certDir = mkdtempSync(join(tmpdir(), 'agent-bridge-tls-'));
  const dataDir = testDataDir('agent-bridge-logout');
  const password = 'logout test passphrase';
  let ca: Buffer;
  let config: Config;
  let app: Application;
  let host: string;

  const start = async (): Promise<void> => {
    app = await buildApplication({ config, logger: createLogger({ level: 'silent' }), dataDir });
    host = app.httpUrl.replace('https://', '');
  };

  beforeAll(async () => {
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
      '-keyout', join(certDir, 'key.pem'), '-out', join(certDir, 'cert.pem'),
    ], { stdio: 'ignore' });
    ca = readFileSync(join(certDir, 'cert.pem'));
    config = loadConfig({
      DATA_DIR: dataDir,
      HTTP_PORT: '0',
      SIP_PORT: '0',
      LOG_LEVEL: 'silent',
      TLS_CERT: join(certDir, 'cert.pem'),
      TLS_KEY: join(certDir, 'key.pem'),
    });
    await start();
    await app.identities.createUser({ username: 'alice', displayName: 'Alice', role: 'agent', passwordHash: await hashPassword(password) });
  });

  afterAll(async () => {
    await app?.stop();
    rmSync(certDir, { recursive: true, force: true });
  });

  /** One HTTPS request that trusts only the test's certificate. */
  const call = (method: string, path: string, headers: Record<string, string> = {}, body?: unknown): Promise<Reply> =>
    new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const req = request(
        `https://${host}${path}`,
        { method, ca, headers: { ...headers, ...(payload ? { 'content-type': 'application/json' } : {}) } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, setCookie: res.headers['set-cookie'] ?? [], body: Buffer.concat(chunks).toString('utf8') }));
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
  const cookie = (token: string) => ({ cookie: `pay_session=${encodeURIComponent(token)}` });

  async function login(): Promise<{ token: string; expiresAt: string; setCookie: string }> {
    const res = await call('POST', '/api/v1/auth/login', {}, { username: 'alice', password });
    expect(res.status).toBe(200);
    const { token, expiresAt } = JSON.parse(res.body) as { token: string; expiresAt: string };
    return { token, expiresAt, setCookie: res.setCookie.find((c) => c.startsWith('pay_session='))! };
  }

  /** A stream socket: resolves once open, or with the HTTP status that refused the upgrade. */
  const openStream = (headers: Record<string, string>): Promise<WebSocket | number> =>
    new Promise((resolve, reject) => {
      const ws = new WebSocket(`wss://${host}/api/v1/stream`, { ca, headers });
      ws.once('open', () => resolve(ws));
      ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.once('error', reject);
    });
  const closed = (ws: WebSocket): Promise<{ code: number; reason: string }> =>
    new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));

  it('sets the session cookie Secure, HttpOnly, SameSite=Strict, Path=/, for as long as the token lasts', async () => {
    const { token, expiresAt, setCookie } = await login();
    const attributes = setCookie.split(';').map((a) => a.trim());
    expect(attributes[0]).toBe(`pay_session=${encodeURIComponent(token)}`);
    expect(attributes).toEqual(expect.arrayContaining(['Secure', 'HttpOnly', 'SameSite=Strict', 'Path=/', 'Max-Age=1800']));
    // The cookie's Expires and the token's expiry name the same second (give or take the one being crossed).
    const expires = Date.parse(attributes.find((a) => a.startsWith('Expires='))!.slice('Expires='.length));
    expect(Math.abs(expires - Date.parse(expiresAt))).toBeLessThanOrEqual(1000);
  });

  it('revokes the token at logout: 401 by bearer and by cookie, its streams closed with 4401 and refused after', async () => {
    const { token } = await login();
    const kept = (await login()).token;
    expect((await call('GET', '/api/v1/me', bearer(token))).status).toBe(200);
    expect((await call('GET', '/api/v1/me', cookie(token))).status).toBe(200);
    const byHeader = await openStream(bearer(token));
    const byCookie = await openStream(cookie(token));
    expect(byHeader).toBeInstanceOf(WebSocket);
    expect(byCookie).toBeInstanceOf(WebSocket);
    const headerClosed = closed(byHeader as WebSocket);
    const cookieClosed = closed(byCookie as WebSocket);

    // As the console signs out: with the cookie.
    const logout = await call('POST', '/api/v1/auth/logout', cookie(token));
    expect(logout.status).toBe(204);
    const cleared = logout.setCookie.find((c) => c.startsWith('pay_session='))!.split(';').map((a) => a.trim());
    expect(cleared[0]).toBe('pay_session=');
    expect(cleared).toEqual(expect.arrayContaining(['Secure', 'HttpOnly', 'SameSite=Strict', 'Path=/', 'Expires=Thu, 01 Jan 1970 00:00:00 GMT']));

    expect(await headerClosed).toEqual({ code: SIGNED_OUT_CLOSE_CODE, reason: 'token revoked' });
    expect(await cookieClosed).toEqual({ code: SIGNED_OUT_CLOSE_CODE, reason: 'token revoked' });
    expect((await call('GET', '/api/v1/me', bearer(token))).status).toBe(401);
    expect((await call('GET', '/api/v1/me', cookie(token))).status).toBe(401);
    expect((await call('GET', '/api/v1/sessions', bearer(token))).status).toBe(401);
    expect(await openStream(bearer(token))).toBe(401);
    expect(await openStream(cookie(token))).toBe(401);
    // Only that token: another sign-in of the same agent goes on.
    expect((await call('GET', '/api/v1/me', bearer(kept))).status).toBe(200);
    const audit = (await app.audit.list({})).filter((a) => a.action === 'logout');
    expect(audit.map((a) => a.actor)).toEqual([{ kind: 'agent', id: (await app.identities.findUserForLogin('alice'))!.user.id }]);
    // Signing out again is no error.
    expect((await call('POST', '/api/v1/auth/logout', bearer(token))).status).toBe(204);
    expect((await app.audit.list({})).filter((a) => a.action === 'logout')).toHaveLength(1);
  });

  it('still refuses a revoked token after a restart on the same DATA_DIR', async () => {
    const { token } = await login();
    const kept = (await login()).token;
    expect((await call('POST', '/api/v1/auth/logout', bearer(token))).status).toBe(204);
    await app.stop();
    await start();
    // The signing key survived the restart (the other token works): the refusal is the revocation.
    expect((await call('GET', '/api/v1/me', bearer(kept))).status).toBe(200);
    expect((await call('GET', '/api/v1/me', bearer(token))).status).toBe(401);
    expect((await call('GET', '/api/v1/me', cookie(token))).status).toBe(401);
    expect(await openStream(bearer(token))).toBe(401);
  });
});
