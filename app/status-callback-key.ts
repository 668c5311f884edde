import { readOrCreateSecretFile } from '../store/data-dir-secret.js';
import { ConfigError } from './config.js';

export const STATUS_CALLBACK_KEY_FILE = 'status-callback-key';

/** Bytes in a generated key: RFC 2104 §3 discourages keys shorter than the hash output (32 bytes for SHA-256). */
const KEY_BYTES = 32;

/**
 * The key status callbacks are signed with: STATUS_CALLBACK_SECRET if set,
 * else the one in DATA_DIR/status-callback-key, made at the first start.
 * @throws ConfigError when the file holds no key of at least 32 bytes
 */
export function resolveStatusCallbackKey(dataDir: string, fromConfig: Buffer | undefined): { key: Buffer; source: 'environment' | 'file' | 'generated'; path?: string } {
  if (fromConfig) return { key: fromConfig, source: 'environment' };
  const secret = readOrCreateSecretFile(dataDir, STATUS_CALLBACK_KEY_FILE, {
    size: KEY_BYTES,
    encoding: 'hex',
    // Never replaced: the receivers hold this key.
    unreadable: (path) => new ConfigError('STATUS_CALLBACK_SECRET', `${path} holds no key of at least 32 bytes in hex; restore it, or set STATUS_CALLBACK_SECRET`),
  });
  return { key: secret.bytes, source: secret.source, path: secret.path };
}
