import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AUDIT_KEY_MIN_BYTES } from '../store/audit-chain.js';
import { ConfigError } from './config.js';

export const AUDIT_KEY_FILE = 'audit-key';

export interface AuditKeyResolution {
  readonly key: Buffer;
  /** Where it came from; `generated` only on the first start with no AUDIT_KEY. */
  readonly source: 'environment' | 'file' | 'generated';
  readonly path?: string;
}

/**
 * The audit chain's key: AUDIT_KEY if set, else the one in
 * DATA_DIR/audit-key; undefined when there is neither (`audit:verify` must
 * not make one).
 * @throws ConfigError when the file holds no key of at least 32 bytes
 */
export function findAuditKey(dataDir: string, fromConfig: Buffer | undefined): AuditKeyResolution | undefined {
  if (fromConfig) return { key: fromConfig, source: 'environment' };
  const path = join(dataDir, AUDIT_KEY_FILE);
  if (!existsSync(path)) return undefined;
  const text = readFileSync(path, 'utf8').trim();
  const key = /^(?:[0-9a-fA-F]{2})+$/.test(text) ? Buffer.from(text, 'hex') : Buffer.alloc(0);
  // Never replaced: the rows chained with it could no longer be verified.
  if (key.length < AUDIT_KEY_MIN_BYTES) throw new ConfigError('AUDIT_KEY', `${path} holds no key of at least 32 bytes in hex; restore it, or set AUDIT_KEY`);
  return { key, source: 'file', path };
}

/**
 * `findAuditKey`, or at the first start with no AUDIT_KEY a new one (256
 * random bits, hex, mode 0600) written to DATA_DIR/audit-key. There is no
 * built-in default key anywhere.
 */
export function resolveAuditKey(dataDir: string, fromConfig: Buffer | undefined): AuditKeyResolution {
  const found = findAuditKey(dataDir, fromConfig);
  if (found) return found;
  const path = join(dataDir, AUDIT_KEY_FILE);
  const key = randomBytes(AUDIT_KEY_MIN_BYTES);
  try {
    // wx: of two processes starting at once (the service and the admin CLI), one writes it and the other reads it.
    writeFileSync(path, `${key.toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return findAuditKey(dataDir, undefined)!;
    throw err;
  }
  chmodSync(path, 0o600);
  return { key, source: 'generated', path };
}
