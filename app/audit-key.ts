import { AUDIT_KEY_MIN_BYTES } from '../store/audit-chain.js';
import { readOrCreateSecretFile, readSecretFile, type SecretFileFormat } from '../store/data-dir-secret.js';
import { ConfigError } from './config.js';

export const AUDIT_KEY_FILE = 'audit-key';

export interface AuditKeyResolution {
  readonly key: Buffer;
  /** Where it came from; `generated` only on the first start with no AUDIT_KEY. */
  readonly source: 'environment' | 'file' | 'generated';
  readonly path?: string;
}

const AUDIT_KEY_FORMAT: SecretFileFormat = {
  size: AUDIT_KEY_MIN_BYTES,
  encoding: 'hex',
  // Never replaced: the rows chained with it could no longer be verified.
  unreadable: (path) => new ConfigError('AUDIT_KEY', `${path} holds no key of at least 32 bytes in hex; restore it, or set AUDIT_KEY`),
};

/**
 * The audit chain's key: AUDIT_KEY if set, else the one in
 * DATA_DIR/audit-key; undefined when there is neither (`audit:verify` must
 * not make one).
 * @throws ConfigError when the file holds no key of at least 32 bytes
 */
export function findAuditKey(dataDir: string, fromConfig: Buffer | undefined): AuditKeyResolution | undefined {
  if (fromConfig) return { key: fromConfig, source: 'environment' };
  const found = readSecretFile(dataDir, AUDIT_KEY_FILE, AUDIT_KEY_FORMAT);
  return found && { key: found.bytes, source: found.source, path: found.path };
}

/** `findAuditKey`, or at the first start with no AUDIT_KEY a new one in DATA_DIR/audit-key. */
export function resolveAuditKey(dataDir: string, fromConfig: Buffer | undefined): AuditKeyResolution {
  if (fromConfig) return { key: fromConfig, source: 'environment' };
  const secret = readOrCreateSecretFile(dataDir, AUDIT_KEY_FILE, AUDIT_KEY_FORMAT);
  return { key: secret.bytes, source: secret.source, path: secret.path };
}
