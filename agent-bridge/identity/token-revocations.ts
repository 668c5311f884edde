import type { IdentityStore } from '../../store/identity-store.js';
import type { TokenClaims } from './access-token.js';

/** What revoking a token needs: its id and when it would expire anyway. */
export type RevocableToken = Pick<TokenClaims, 'jti' | 'exp'>;

export type RevocationListener = (tokenId: string) => void;

/**
 * Access tokens signed out before their expiry. The list lives in the
 * identity store until each token would have expired, so a restart, or
 * another process on the same database, refuses them too; subscribers in
 * this process (the stream server) drop what a token holds open at once.
 */
export class TokenRevocations {
  readonly #store: Pick<IdentityStore, 'revokeToken' | 'isTokenRevoked'>;
  readonly #listeners = new Set<RevocationListener>();

  constructor(store: Pick<IdentityStore, 'revokeToken' | 'isTokenRevoked'>) {
    this.#store = store;
  }

  async revoke(token: RevocableToken): Promise<void> {
    await this.#store.revokeToken(token.jti, new Date(token.exp * 1000));
    for (const listener of this.#listeners) {
      try {
        listener(token.jti);
      } catch {
        // The token is revoked in the store whatever a subscriber does.
      }
    }
  }

  isRevoked(tokenId: string): Promise<boolean> {
    return this.#store.isTokenRevoked(tokenId);
  }

  subscribe(listener: RevocationListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
