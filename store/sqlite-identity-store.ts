import type { Database } from 'better-sqlite3';
import type { ApiKeyRecord, IdentityStore, Role, UserRecord } from './identity-store.js';
import { newOpaqueId } from '../domain/opaque-id.js';
import { toApiKey, toUser, type ApiKeyRow, type UserRow } from './store-rows.js';
import { DuplicateUserError } from './store-errors.js';




/** Identities in the payment database (tables from store/migrations.ts). */
export class SqliteIdentityStore implements IdentityStore {
  readonly #db: Database;
  readonly #now: () => Date;

  constructor(db: Database, now: () => Date = () => new Date()) {
    this.#db = db;
    this.#now = now;
  }

  async createUser(input: { username: string; displayName: string; role: Role; sipUri?: string | null; passwordHash: string }): Promise<UserRecord> {
    const id = newOpaqueId('usr');
    try {
      this.#db
        .prepare('INSERT INTO users (id, username, display_name, role, sip_uri, password_hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
        .run(id, input.username, input.displayName, input.role, input.sipUri ?? null, input.passwordHash, this.#now().toISOString());
    } catch (err) {
      if (String(err).includes('UNIQUE')) throw new DuplicateUserError(`user ${input.username} exists`);
      throw err;
    }
    return this.#user(id)!;
  }

  async getUser(id: string): Promise<UserRecord | undefined> {
    return this.#user(id);
  }

  #user(id: string): UserRecord | undefined {
    const row = this.#db.prepare('SELECT * FROM users WHERE id = ?').get(id) as UserRow | undefined;
    return row && toUser(row);
  }

  async findUserForLogin(username: string): Promise<{ user: UserRecord; passwordHash: string } | undefined> {
    const row = this.#db.prepare('SELECT * FROM users WHERE username = ?').get(username) as UserRow | undefined;
    return row && { user: toUser(row), passwordHash: row.password_hash };
  }

  async listUsers(): Promise<UserRecord[]> {
    return (this.#db.prepare('SELECT * FROM users ORDER BY username').all() as UserRow[]).map(toUser);
  }

  async createApiKey(input: { name: string; role: Role; userId?: string | null; keyHash: string }): Promise<ApiKeyRecord> {
    const id = newOpaqueId('key');
    this.#db
      .prepare('INSERT INTO api_keys (id, name, role, user_id, key_hash, created_at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(id, input.name, input.role, input.userId ?? null, input.keyHash, this.#now().toISOString());
    return toApiKey(this.#db.prepare('SELECT * FROM api_keys WHERE id = ?').get(id) as ApiKeyRow);
  }

  async findApiKeyByHash(keyHash: string): Promise<ApiKeyRecord | undefined> {
    const row = this.#db.prepare('SELECT * FROM api_keys WHERE key_hash = ? AND revoked_at IS NULL').get(keyHash) as ApiKeyRow | undefined;
    return row && toApiKey(row);
  }

  async revokeApiKey(id: string): Promise<void> {
    this.#db.prepare('UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL').run(this.#now().toISOString(), id);
  }

  async revokeToken(tokenId: string, until: Date): Promise<void> {
    this.#db.transaction(() => {
      this.#prune();
      this.#db
        .prepare('INSERT OR IGNORE INTO revoked_tokens (token_id, refused_until, revoked_at) VALUES (?, ?, ?)')
        .run(tokenId, until.toISOString(), this.#now().toISOString());
    })();
  }

  async isTokenRevoked(tokenId: string): Promise<boolean> {
    return this.#db.prepare('SELECT 1 FROM revoked_tokens WHERE token_id = ?').get(tokenId) !== undefined;
  }

  async pruneRevokedTokens(): Promise<number> {
    return this.#prune();
  }

  #prune(): number {
    // ISO-8601 UTC strings of one width sort as the instants they name.
    return this.#db.prepare('DELETE FROM revoked_tokens WHERE refused_until <= ?').run(this.#now().toISOString()).changes;
  }
}


