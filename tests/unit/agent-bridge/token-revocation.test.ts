import { createHmac } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AccessTokens } from '../../../agent-bridge/identity/access-token.js';
import { Authenticator } from '../../../agent-bridge/identity/authenticator.js';
import { TokenRevocations } from '../../../agent-bridge/identity/token-revocations.js';
import { SqliteIdentityStore } from '../../../store/sqlite-identity-store.js';
import { SqlitePaymentStore } from '../../../store/sqlite-payment-store.js';

const KEY = Buffer.alloc(32, 7);
const T0 = Date.parse('2030-01-02T03:04:05.000Z');

let clock: number;
let payments: SqlitePaymentStore;
let identities: SqliteIdentityStore;
let tokens: AccessTokens;
let revocations: TokenRevocations;
let authenticator: Authenticator;
let userId: string;

const request = (headers: Record<string, string>): IncomingMessage => ({ headers }) as unknown as IncomingMessage;
const bearer = (token: string): IncomingMessage => request({ authorization: `Bearer ${token}` });
const cookie = (token: string): IncomingMessage => request({ cookie: `theme=dark; pay_session=${encodeURIComponent(token)}` });

beforeEach(async () => {
  clock = T0;
  const now = (): Date => new Date(clock);
  payments = new SqlitePaymentStore({ file: ':memory:', now });
  identities = new SqliteIdentityStore(payments.database, now);
  tokens = new AccessTokens(KEY, 1800, () => clock);
  revocations = new TokenRevocations(identities);
  authenticator = new Authenticator({ adminKey: 'k'.repeat(40), tokens, identities, revocations });
  userId = (await identities.createUser({ username: 'alice', displayName: 'Alice', role: 'agent', passwordHash: 'x' })).id;
});
afterEach(async () => {
  await payments.close();
});

describe('access token ids', () => {
  it('gives every token its own opaque id', async () => {
    const a = tokens.issue(userId, 'agent').claims;
    const b = tokens.issue(userId, 'agent').claims;
    expect(a.jti).toMatch(/^tok_[0-9a-f]{24}$/);
    expect(b.jti).not.toBe(a.jti);
    expect(tokens.verify(tokens.issue(userId, 'agent').token)?.jti).toMatch(/^tok_/);
  });

  it('refuses a correctly signed token that has no id (it could not be revoked)', async () => {
    const payload = Buffer.from(JSON.stringify({ sub: userId, role: 'agent', exp: T0 / 1000 + 60 })).toString('base64url');
    const signature = createHmac('sha256', KEY).update(payload).digest('base64url');
    expect(tokens.verify(`${payload}.${signature}`)).toBeUndefined();
  });
});

describe('revocation', () => {
  it('refuses a revoked token by bearer and by cookie, and keeps other tokens of the same user', async () => {
    const { token, claims } = tokens.issue(userId, 'agent');
    const other = tokens.issue(userId, 'agent').token;
    expect(await authenticator.authenticate(bearer(token))).toMatchObject({ kind: 'user', id: userId, token: { jti: claims.jti, exp: claims.exp } });
    await revocations.revoke(claims);
    expect(await authenticator.authenticate(bearer(token))).toBeUndefined();
    expect(await authenticator.authenticate(cookie(token))).toBeUndefined();
    expect(await authenticator.authenticate(bearer(other))).toMatchObject({ kind: 'user', id: userId });
  });

  it('tells subscribers which token was revoked, and stops after unsubscribe', async () => {
    const seen: string[] = [];
    const unsubscribe = revocations.subscribe((id) => seen.push(id));
    const first = tokens.issue(userId, 'agent').claims;
    await revocations.revoke(first);
    unsubscribe();
    await revocations.revoke(tokens.issue(userId, 'agent').claims);
    expect(seen).toEqual([first.jti]);
  });

  it('revokes in the store even when a subscriber throws', async () => {
    revocations.subscribe(() => {
      throw new Error('broken subscriber');
    });
    const { claims } = tokens.issue(userId, 'agent');
    await revocations.revoke(claims);
    expect(await revocations.isRevoked(claims.jti)).toBe(true);
  });

  it('lists the access tokens a request carries (bearer and cookie, once each), not API keys or bad tokens', async () => {
    const a = tokens.issue(userId, 'agent');
    const b = tokens.issue(userId, 'agent');
    const both = request({ authorization: `Bearer ${a.token}`, cookie: `pay_session=${b.token}` });
    expect(authenticator.accessTokensOf(both).map((c) => c.jti)).toEqual([a.claims.jti, b.claims.jti]);
    const same = request({ authorization: `Bearer ${a.token}`, cookie: `pay_session=${a.token}` });
    expect(authenticator.accessTokensOf(same).map((c) => c.jti)).toEqual([a.claims.jti]);
    expect(authenticator.accessTokensOf(bearer('pk_not_a_token'))).toEqual([]);
    expect(authenticator.accessTokensOf(bearer(`${a.token}x`))).toEqual([]);
  });

  it('says a principal no longer holds once its token is revoked, expired or its user disabled', async () => {
    const first = tokens.issue(userId, 'agent');
    const principal = (await authenticator.authenticate(bearer(first.token)))!;
    expect(await authenticator.stillValid(principal)).toBe(true);
    await revocations.revoke(first.claims);
    expect(await authenticator.stillValid(principal)).toBe(false);

    const second = (await authenticator.authenticate(bearer(tokens.issue(userId, 'agent').token)))!;
    clock += 1800 * 1000;
    expect(await authenticator.stillValid(second)).toBe(false);

    clock = T0;
    const third = (await authenticator.authenticate(bearer(tokens.issue(userId, 'agent').token)))!;
    payments.database.prepare('UPDATE users SET disabled = 1 WHERE id = ?').run(userId);
    expect(await authenticator.stillValid(third)).toBe(false);
    expect(await authenticator.stillValid({ kind: 'admin-key', id: 'admin', role: 'supervisor' })).toBe(true);
  });
});
