import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Role } from '../../store/identity-store.js';
import type { IdentityStore } from '../../store/identity-store.js';
import type { Actor } from '../../domain/actor.js';
import { matchesKey } from '../admin-api-key.js';
import type { AccessTokens, TokenClaims } from './access-token.js';
import type { RevocableToken, TokenRevocations } from './token-revocations.js';

/** Who is calling the API. */
export type Principal =
  | { readonly kind: 'user'; readonly id: string; readonly role: Role; readonly token: RevocableToken }
  | { readonly kind: 'api-key'; readonly id: string; readonly role: Role; readonly userId: string | null }
  | { readonly kind: 'admin-key'; readonly id: 'admin'; readonly role: 'supervisor' };

/** The browser console's cookie: HttpOnly, SameSite=Strict, Path=/, Secure over HTTPS; holds an access token. */
export const SESSION_COOKIE = 'pay_session';

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** The audit trail's name for a principal. */
export function actorOf(principal: Principal): Actor {
  if (principal.kind === 'user') return { kind: principal.role, id: principal.id };
  return { kind: 'api-key', id: principal.id };
}

/** The agent a principal acts as, if it is bound to one (supervisors and CTI keys see everything). */
export function ownAgentId(principal: Principal): string | undefined {
  if (principal.role === 'supervisor') return undefined;
  if (principal.kind === 'user') return principal.id;
  if (principal.kind === 'api-key') return principal.userId ?? undefined;
  return undefined;
}

/**
 * Finds the principal of a request: `Authorization: Bearer` with the admin
 * key, an access token or an API key; or the console's session cookie.
 * Credentials are never read from the URL. An access token counts until it
 * expires or is revoked (logout).
 */
export class Authenticator {
  readonly #adminKey: string;
  readonly #tokens: AccessTokens;
  readonly #identities: IdentityStore;
  readonly #revocations: TokenRevocations;

  constructor(options: { adminKey: string; tokens: AccessTokens; identities: IdentityStore; revocations: TokenRevocations }) {
    this.#adminKey = options.adminKey;
    this.#tokens = options.tokens;
    this.#identities = options.identities;
    this.#revocations = options.revocations;
  }

  async authenticate(req: IncomingMessage): Promise<Principal | undefined> {
    const bearer = bearerOf(req);
    if (bearer) return this.#fromBearer(bearer);
    const cookie = readCookie(req.headers.cookie, SESSION_COOKIE);
    return cookie ? this.#fromToken(cookie) : undefined;
  }

  /** The unexpired access tokens a request carries, in its bearer header and its cookie: what logout revokes. */
  accessTokensOf(req: IncomingMessage): TokenClaims[] {
    const found: TokenClaims[] = [];
    for (const credential of [bearerOf(req), readCookie(req.headers.cookie, SESSION_COOKIE)]) {
      const claims = credential?.includes('.') ? this.#tokens.verify(credential) : undefined;
      if (claims && !found.some((c) => c.jti === claims.jti)) found.push(claims);
    }
    return found;
  }

  /** Whether a principal found earlier still holds: its token neither expired nor revoked, its user not disabled. */
  async stillValid(principal: Principal): Promise<boolean> {
    if (principal.kind !== 'user') return true;
    if (this.#tokens.expired(principal.token) || (await this.#revocations.isRevoked(principal.token.jti))) return false;
    const user = await this.#identities.getUser(principal.id);
    return user !== undefined && !user.disabled;
  }

  async #fromBearer(credential: string): Promise<Principal | undefined> {
    if (matchesKey(credential, this.#adminKey)) return { kind: 'admin-key', id: 'admin', role: 'supervisor' };
    if (credential.includes('.')) return this.#fromToken(credential);
    const key = await this.#identities.findApiKeyByHash(hashApiKey(credential));
    return key ? { kind: 'api-key', id: key.id, role: key.role, userId: key.userId } : undefined;
  }

  async #fromToken(token: string): Promise<Principal | undefined> {
    const claims = this.#tokens.verify(token);
    if (!claims || (await this.#revocations.isRevoked(claims.jti))) return undefined;
    const user = await this.#identities.getUser(claims.sub);
    if (!user || user.disabled) return undefined;
    return { kind: 'user', id: user.id, role: user.role, token: { jti: claims.jti, exp: claims.exp } };
  }
}

function bearerOf(req: IncomingMessage): string | undefined {
  return /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
}

function readCookie(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return decodeURIComponent(v.join('='));
  }
  return undefined;
}
