import { timingSafeEqual, createHash } from 'node:crypto';
import { readOrCreateSecretFile } from '../store/data-dir-secret.js';

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
  const secret = readOrCreateSecretFile(dataDir, ADMIN_KEY_FILE, {
    size: 32,
    encoding: 'base64url',
    unreadable: (path) => new Error(`${path} holds no admin key of at least 32 bytes in base64url; set ADMIN_API_KEY, or delete the file to make a new key`),
  });
  return { key: secret.bytes.toString('base64url'), source: secret.source, path: secret.path };
}

/** Constant-time comparison of a presented bearer token with the key. */
export function matchesKey(presented: string, key: string): boolean {
  // Hash both so lengths match and nothing leaks through timing.
  const a = createHash('sha256').update(presented).digest();
  const b = createHash('sha256').update(key).digest();
  return timingSafeEqual(a, b);
}
