import { createHmac, timingSafeEqual } from 'node:crypto';
import { readOrCreateSecretFile } from '../../store/data-dir-secret.js';
import type { Role } from '../../store/identity-store.js';
import { newOpaqueId } from '../../domain/opaque-id.js';

export interface TokenClaims {
  /** User id. */
  readonly sub: string;
  readonly role: Role;
  /** Expiry, seconds since the epoch. */
  readonly exp: number;
  /** The token's own id (RFC 7519 §4.1.7), what logout revokes. */
  readonly jti: string;
}

/**
 * Short-lived bearer tokens for agents and supervisors: a JSON claim set and
 * its HMAC-SHA256, both base64url (the shape of a JWT with a fixed
 * algorithm, so no "alg" header can be abused). The key lives in
 * DATA_DIR/token-key (0600), made at first start.
 */
export class AccessTokens {
  readonly #key: Buffer;
  readonly ttlSeconds: number;
  readonly #now: () => number;

  constructor(key: Buffer, ttlSeconds = 1800, now: () => number = Date.now) {
    if (key.length < 32) throw new RangeError('token key must be at least 32 bytes');
    this.#key = key;
    this.ttlSeconds = ttlSeconds;
    this.#now = now;
  }

  static keyFromDataDir(dataDir: string): Buffer {
    return readOrCreateSecretFile(dataDir, 'token-key', {
      size: 32,
      encoding: 'base64url',
      unreadable: (path) => new Error(`${path} holds no token key of at least 32 bytes in base64url; delete it to sign everyone out and make a new one`),
    }).bytes;
  }

  issue(sub: string, role: Role): { token: string; claims: TokenClaims } {
    const claims: TokenClaims = { sub, role, exp: Math.floor(this.#now() / 1000) + this.ttlSeconds, jti: newOpaqueId('tok') };
    const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
    return { token: `${payload}.${this.#sign(payload)}`, claims };
  }

  /** The claims of a valid, unexpired token; undefined otherwise. Revocation is checked by the caller (TokenRevocations). */
  verify(token: string): TokenClaims | undefined {
    const [payload, signature, extra] = token.split('.');
    if (!payload || !signature || extra !== undefined) return undefined;
    const expected = Buffer.from(this.#sign(payload));
    const given = Buffer.from(signature);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return undefined;
    let claims: TokenClaims;
    try {
      claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as TokenClaims;
    } catch {
      return undefined;
    }
    if (typeof claims.exp !== 'number' || this.expired(claims)) return undefined;
    if (claims.role !== 'agent' && claims.role !== 'supervisor') return undefined;
    // A token without an id could not be revoked: refuse it (tokens issued before ids existed sign in again).
    if (typeof claims.jti !== 'string' || claims.jti === '') return undefined;
    return claims;
  }

  expired(claims: Pick<TokenClaims, 'exp'>): boolean {
    return claims.exp * 1000 <= this.#now();
  }

  #sign(payload: string): string {
    return createHmac('sha256', this.#key).update(payload).digest('base64url');
  }
}
