import { randomBytes, timingSafeEqual, createHash } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const ADMIN_KEY_FILE = 'admin-api-key';

export interface AdminKeyResolution {
  readonly key: string;
  /** Where it came from; `generated` only on the first start with no ADMIN_API_KEY. */
  readonly source: 'environment' | 'file' | 'generated';
  readonly path?: string;
}

/**
 * The admin API key: ADMIN_API_KEY if set, else the one in
 * DATA_DIR/admin-api-key, generated (256 random bits, mode 0600) at the first
 * start. There is no built-in default key anywhere.
 */
export function resolveAdminApiKey(dataDir: string, fromEnvironment: string | undefined): AdminKeyResolution {
  if (fromEnvironment) return { key: fromEnvironment, source: 'environment' };
  const path = join(dataDir, ADMIN_KEY_FILE);
  if (existsSync(path)) {
    const key = readFileSync(path, 'utf8').trim();
    if (key.length >= 32) return { key, source: 'file', path };
  }
  const key = randomBytes(32).toString('base64url');
  writeFileSync(path, `${key}\n`, { mode: 0o600 });
  chmodSync(path, 0o600);
  return { key, source: 'generated', path };
}

/** Constant-time comparison of a presented bearer token with the key. */
export function matchesKey(presented: string, key: string): boolean {
  // Hash both so lengths match and nothing leaks through timing.
  const a = createHash('sha256').update(presented).digest();
  const b = createHash('sha256').update(key).digest();
  return timingSafeEqual(a, b);
}
