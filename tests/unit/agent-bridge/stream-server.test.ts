import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { AccessTokens } from '../../../agent-bridge/identity/access-token.js';
import { Authenticator } from '../../../agent-bridge/identity/authenticator.js';
import { TokenRevocations } from '../../../agent-bridge/identity/token-revocations.js';
import { ProgressHub } from '../../../agent-bridge/stream/progress-hub.js';
import { SIGNED_OUT_CLOSE_CODE, StreamServer } from '../../../agent-bridge/stream/stream-server.js';
import { SqliteIdentityStore } from '../../../store/sqlite-identity-store.js';
import { SqlitePaymentStore } from '../../../store/sqlite-payment-store.js';

const KEY = Buffer.alloc(32, 9);

/**
 * Two "processes" on one database (two connections, each with its own
 * revocation list object): a token revoked through one has its stream on the
 * other closed at that server's next heartbeat.
 */
describe('stream server and revoked tokens', () => {
  let dir: string;
  let here: SqlitePaymentStore;
  let elsewhere: SqlitePaymentStore;
  let http: Server;
  let stream: StreamServer;
  let tokens: AccessTokens;
  let userId: string;
  let url: string;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'stream-server-'));
    here = new SqlitePaymentStore({ dataDir: dir });
    elsewhere = new SqlitePaymentStore({ dataDir: dir });
    const identities = new SqliteIdentityStore(here.database);
    userId = (await identities.createUser({ username: 'alice', displayName: 'Alice', role: 'agent', passwordHash: 'x' })).id;
    tokens = new AccessTokens(KEY);
    const revocations = new TokenRevocations(identities);
    const authenticator = new Authenticator({ adminKey: 'k'.repeat(40), tokens, identities, revocations });
    stream = new StreamServer({ hub: new ProgressHub(), authenticator, revocations, canSee: async () => true, heartbeatMs: 1000 });
    http = createServer();
    stream.attach(http);
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    url = `ws://127.0.0.1:${(http.address() as AddressInfo).port}/api/v1/stream`;
  });

  afterEach(async () => {
    stream.close();
    await new Promise((resolve) => http.close(resolve));
    here.close();
    elsewhere.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const open = (token: string): Promise<WebSocket> =>
    new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { headers: { authorization: `Bearer ${token}` } });
      ws.once('open', () => resolve(ws));
      ws.once('error', reject);
    });
  const closed = (ws: WebSocket): Promise<{ code: number; reason: string }> =>
    new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));

  it('closes a socket whose token another process revoked, and keeps the others', async () => {
    const revoked = tokens.issue(userId, 'agent');
    const kept = tokens.issue(userId, 'agent');
    const doomed = await open(revoked.token);
    const survivor = await open(kept.token);
    const doomedClosed = closed(doomed);
    let survivorClosed = false;
    survivor.once('close', () => (survivorClosed = true));

    new TokenRevocations(new SqliteIdentityStore(elsewhere.database)).revoke(revoked.claims);

    expect(await doomedClosed).toEqual({ code: SIGNED_OUT_CLOSE_CODE, reason: 'signed out' });
    // The heartbeat that closed the revoked socket checked this one too and left it open.
    expect(survivorClosed).toBe(false);
    expect(survivor.readyState).toBe(WebSocket.OPEN);
    expect(stream.clients).toBe(1);
    survivor.close();
  });
});
