import { newOpaqueId } from '../domain/opaque-id.js';
import type { ApiKeyRecord, IdentityStore, Role, UserRecord } from './identity-store.js';
import { inTransaction, type Pool } from './postgres-pool.js';
import { DuplicateUserError } from './store-errors.js';
import { toApiKey, toUser, type ApiKeyRow, type UserRow } from './store-rows.js';

/** PostgreSQL's code for a unique_violation (Appendix A, "PostgreSQL Error Codes"). */
const UNIQUE_VIOLATION = '23505';

/** Identities in PostgreSQL (tables from store/migrations.ts), on the payment store's pool. */
export class PostgresIdentityStore implements IdentityStore {
  readonly #pool: Pool;
  readonly #now: () => Date;

  constructor(pool: Pool, now: () => Date = () => new Date()) {
    this.#pool = pool;
    this.#now = now;
  }

  async createUser(input: { username: string; displayName: string; role: Role; sipUri?: string | null; passwordHash: string }): Promise<UserRecord> {
    try {
      const { rows } = await this.#pool.query<UserRow>(
        'INSERT INTO users (id, username, display_name, role, sip_uri, password_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *',
        [newOpaqueId('usr'), input.username, input.displayName, input.role, input.sipUri ?? null, input.passwordHash, this.#stamp()],
      );
      return toUser(rows[0]!);
    } catch (err) {
      if ((err as { code?: string }).code === UNIQUE_VIOLATION) throw new DuplicateUserError(`user ${input.username} exists`);
      throw err;
    }
  }

  async getUser(id: string): Promise<UserRecord | undefined> {
    const { rows } = await this.#pool.query<UserRow>('SELECT * FROM users WHERE id = $1', [id]);
    return rows[0] && toUser(rows[0]);
  }

  async findUserForLogin(username: string): Promise<{ user: UserRecord; passwordHash: string } | undefined> {
    const { rows } = await this.#pool.query<UserRow>('SELECT * FROM users WHERE username = $1', [username]);
    return rows[0] && { user: toUser(rows[0]), passwordHash: rows[0].password_hash };
  }

  async listUsers(): Promise<UserRecord[]> {
    // COLLATE "C": the byte order SQLite's default BINARY collation gives.
    return (await this.#pool.query<UserRow>('SELECT * FROM users ORDER BY username COLLATE "C"')).rows.map(toUser);
  }

  async createApiKey(input: { name: string; role: Role; userId?: string | null; keyHash: string }): Promise<ApiKeyRecord> {
    const { rows } = await this.#pool.query<ApiKeyRow>(
      'INSERT INTO api_keys (id, name, role, user_id, key_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING *',
      [newOpaqueId('key'), input.name, input.role, input.userId ?? null, input.keyHash, this.#stamp()],
    );
    return toApiKey(rows[0]!);
  }

  async findApiKeyByHash(keyHash: string): Promise<ApiKeyRecord | undefined> {
    const { rows } = await this.#pool.query<ApiKeyRow>('SELECT * FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL', [keyHash]);
    return rows[0] && toApiKey(rows[0]);
  }

  async revokeApiKey(id: string): Promise<void> {
    await this.#pool.query('UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL', [this.#stamp(), id]);
  }

  async revokeToken(tokenId: string, until: Date): Promise<void> {
    await inTransaction(this.#pool, async (client) => {
      await client.query('DELETE FROM revoked_tokens WHERE refused_until <= $1', [this.#stamp()]);
      await client.query('INSERT INTO revoked_tokens (token_id, refused_until, revoked_at) VALUES ($1, $2, $3) ON CONFLICT (token_id) DO NOTHING', [
        tokenId,
        until.toISOString(),
        this.#stamp(),
      ]);
    });
  }

  async isTokenRevoked(tokenId: string): Promise<boolean> {
    return ((await this.#pool.query('SELECT 1 FROM revoked_tokens WHERE token_id = $1', [tokenId])).rowCount ?? 0) > 0;
  }

  async pruneRevokedTokens(): Promise<number> {
    // ISO-8601 UTC strings of one width sort as the instants they name.
    return (await this.#pool.query('DELETE FROM revoked_tokens WHERE refused_until <= $1', [this.#stamp()])).rowCount ?? 0;
  }

  #stamp(): string {
    return this.#now().toISOString();
  }
}
