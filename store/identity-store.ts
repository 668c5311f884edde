/** Who may use agent-bridge. */
export type Role = 'agent' | 'supervisor';

export interface UserRecord {
  readonly id: string;
  readonly username: string;
  readonly displayName: string;
  readonly role: Role;
  /** Where the IVR calls the agent back by default. */
  readonly sipUri: string | null;
  readonly createdAt: string;
  readonly disabled: boolean;
}

export interface ApiKeyRecord {
  readonly id: string;
  readonly name: string;
  readonly role: Role;
  /** A key may act as one agent; null for a CTI-wide key. */
  readonly userId: string | null;
  readonly createdAt: string;
  readonly revokedAt: string | null;
}

/** The identity port: users (passwords as scrypt hashes) and API keys (as SHA-256 hashes). */
export interface IdentityStore {
  createUser(input: { username: string; displayName: string; role: Role; sipUri?: string | null; passwordHash: string }): Promise<UserRecord>;
  getUser(id: string): Promise<UserRecord | undefined>;
  /** With the stored hash, for login only. */
  findUserForLogin(username: string): Promise<{ user: UserRecord; passwordHash: string } | undefined>;
  listUsers(): Promise<UserRecord[]>;
  createApiKey(input: { name: string; role: Role; userId?: string | null; keyHash: string }): Promise<ApiKeyRecord>;
  findApiKeyByHash(keyHash: string): Promise<ApiKeyRecord | undefined>;
  revokeApiKey(id: string): Promise<void>;
  /**
   * Refuses an access token (by its id) until `until`, when it expires anyway;
   * revocations already past their time are pruned on the way.
   */
  revokeToken(tokenId: string, until: Date): Promise<void>;
  isTokenRevoked(tokenId: string): Promise<boolean>;
  /** Forgets the revocations of tokens expired by now; returns how many. */
  pruneRevokedTokens(): Promise<number>;
}
